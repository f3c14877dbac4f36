"""Plain bundle rows without pydantic: the fast parse of skin_scores.csv and measurements.csv.

A registry's bundle is millions of cells, nearly all plain: pydantic validation of each row was most of an import's
time. These functions accept only rows whose every cell is in a plain form the schema accepts unchanged (ASCII
digits, ISO dates, codes of the catalogue, printable text) and return exactly what the schema and
`models.records.extract` give; any other row (a blank required cell, '2.0', an error of any kind) returns None and
goes through the schema, so every rule and every error message stays the form's. tests/unit/test_fastparse.py holds
them to that on generated rows.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from models.catalog import MEASURES_BY_CODE, MRSS_MAX, SIDES, SITE_CODES

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SKIN_COLUMNS = frozenset(("patient_id", "visit_date", "rater", *SITE_CODES, "total"))
MEASUREMENT_COLUMNS = frozenset(("patient_id", "date", "measure", "side", "value", "unit", "rater"))


_SCORE_TEXT = {"": None, None: None, "0": 0, "1": 1, "2": 2, "3": 3}  # str keys only: True == 1 is no score
_SCORE_ANY = {**_SCORE_TEXT, 0: 0, 1: 1, 2: 2, 3: 3}  # also the ints of a registry held in memory
_SCORE_TYPES = (str, int, type(None))  # not bool, nor an unhashable cell
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@lru_cache(maxsize=1 << 16)
def _iso_day(value: str) -> date | None:
    """The date of a YYYY-MM-DD cell of ASCII digits; None otherwise (cached: dates repeat a lot)."""
    if len(value) == 10 and value.isascii() and ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=1 << 16)
def _plain_number(value: str) -> float | None:
    """The float of a cell like 12 or -3.25 (ASCII digits); None for any other form."""
    return float(value) if value.isascii() and _PLAIN_NUMBER.fullmatch(value) else None


def _plain_date(value, today: date) -> date | None:
    """An ISO date of ASCII digits, not in the future, as the schema would parse it; else None."""
    if value.__class__ is str:
        day = _iso_day(value)
        if day is not None and day <= today:
            return day
    return None


def _site_scores(record: dict) -> list | None:
    """The 17 scores of plain cells ('' or absent -> None, '0'-'3' or 0-3), as check_score gives them."""
    try:
        return list(map(_SCORE_TEXT.__getitem__, map(record.get, SITE_CODES)))
    except (KeyError, TypeError):  # not text: ints (a registry in memory), or anything else
        pass
    scores = []
    for cell in map(record.get, SITE_CODES):
        if cell.__class__ not in _SCORE_TYPES or cell not in _SCORE_ANY:
            return None
        scores.append(_SCORE_ANY[cell])
    return scores


def fast_assessment(record: dict, today: date) -> tuple | None:
    """(patient_id, key, values) of a plain AssessmentCreate row, as models.records.extract gives them; else
    None."""
    if not record.keys() <= SKIN_COLUMNS:
        return None
    patient_id = record.get("patient_id")  # kept as given, unstripped, like AssessmentCreate._patient
    rater = record.get("rater", "")
    if patient_id.__class__ is not str or rater.__class__ is not str or not patient_id.strip() \
            or not patient_id.isprintable() or not rater.isprintable():  # the schema's text rule says why
        return None
    rater = rater.strip()
    visit_date = _plain_date(record.get("visit_date"), today)
    scores = _site_scores(record)
    if visit_date is None or scores is None or len(rater) > 100:
        return None
    total = record.get("total")
    if total == "":
        total = None
    elif total is not None:
        if total.__class__ is not str:
            return None
        try:
            total = float(total)  # what AssessmentCreate._total does
        except ValueError:
            return None
        if not 0 <= total <= MRSS_MAX:
            return None
    blank = scores.count(None)
    if blank == 0:
        site_sum = sum(scores)
        if total is not None and total != site_sum:
            return None
        total = float(site_sum)
    elif blank == len(SITE_CODES):
        if total is None:
            return None
    elif total is not None:
        return None
    return patient_id, (visit_date, rater), (*scores, total, total is None)


def fast_measurement(record: dict, today: date) -> tuple | None:
    """(patient_id, key, values) of a plain MeasurementCreate row, as models.records.extract gives them; else
    None."""
    if not record.keys() <= MEASUREMENT_COLUMNS:
        return None
    get = record.get
    patient_id, code, side, unit, rater = get("patient_id"), get("measure"), get("side", ""), get("unit", ""), \
        get("rater", "")
    if not patient_id.__class__ is code.__class__ is side.__class__ is unit.__class__ is rater.__class__ is str:
        return None
    if not (patient_id.isprintable() and rater.isprintable() and unit.isprintable() and side.isprintable()):
        return None  # the schema's text rule says why
    # stripped like the schema's before-validators, within its max_length
    patient_id, side, unit, rater = patient_id.strip(), side.strip(), unit.strip(), rater.strip()
    measure = MEASURES_BY_CODE.get(code.strip())
    if not patient_id or measure is None or len(measure.code) > 40 or len(unit) > 32 or len(rater) > 100:
        return None
    day = _plain_date(get("date"), today)
    value = get("value")
    if value.__class__ is str:
        value = _plain_number(value)
    elif value.__class__ is float or value.__class__ is int:
        value = float(value)
    else:
        return None
    if day is None or value is None:
        return None
    if ((side in SIDES) if measure.sided else not side) and (not unit or unit == measure.unit) \
            and measure.low <= value <= measure.high and (not measure.whole_numbers or value == int(value)):
        return patient_id, (day, measure.code, side, rater), (value, measure.unit)
    return None
