"""The fast parse of skin_scores.csv and measurements.csv rows gives exactly what the schemas give.

`models.fastparse` accepts plain rows of the two large files without pydantic (`fast_assessment`,
`fast_measurement`) and `models.records.reader` sends every other row through the form's schema. These tests hold
the fast parse to that promise on generated rows, plain and tricky alike: whenever it answers, its answer equals
the schema's (values and their types); whenever the schema refuses a row, the fast parse has declined it (so the
error message is the schema's).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.catalog import MEASURES, SITE_CODES
from models.errors import SkintrackError
from models.fastparse import fast_assessment, fast_measurement
from models.records import ASSESSMENT, MEASUREMENT, extract
from models.treatment import FROM_A_BUNDLE
from models.validation import parse

TODAY = date.today()
SKIN, MEASURE = ASSESSMENT, MEASUREMENT

DATES = st.sampled_from(["2020-02-29", "2024-01-05", "2015-07-31"]) | st.sampled_from([
    "2019-02-29", "2024-13-01", "2024-1-05", " 2024-01-05", "2024/01/05", "", "yesterday",
    "２０２４-01-05", (TODAY + timedelta(days=1)).isoformat(), TODAY.isoformat(), "1899-12-31", "2024-01-05T00:00",
])
SCORES = st.sampled_from(["", "0", "1", "2", "3", "4", "-1", "2.0", " 2", "２", "1e0", "x", "  "])
TEXT = st.sampled_from(["", "dr a", " dr a ", "=dr b", "x" * 101, "\t", "Ünïcode"])
PATIENT = st.just("P-1") | st.sampled_from([" P-1", "P-1 ", "", "  ", "=P", "Ü"])
NUMBERS = st.sampled_from(["", "0", "12", "12.5", "-3.25", "1e3", "1,5", ".5", "5.", "nan", "inf", "  7", "٣",
                           "51", "51.5", "52", "36", "35.5", "100", "abc"])


def _slow(kind, record):
    """The schema's answer, or None when the schema refuses the record."""
    try:
        return extract(kind, parse(kind.schema, record, context={FROM_A_BUNDLE: True}))[:3]
    except SkintrackError:
        return None


def _same(fast, slow):
    """Equal values of equal types, all the way down (1 == 1.0 == True would hide a difference)."""
    assert fast == slow
    flat_fast = [fast[0], *fast[1], *fast[2]]
    flat_slow = [slow[0], *slow[1], *slow[2]]
    assert [type(v) for v in flat_fast] == [type(v) for v in flat_slow]


@st.composite
def skin_rows(draw):
    record = {"patient_id": draw(PATIENT), "visit_date": draw(DATES)}
    if draw(st.booleans()):
        record["rater"] = draw(TEXT)
    shape = draw(st.sampled_from(["complete", "some", "none", "random"]))
    for code in SITE_CODES:
        if shape == "complete":
            record[code] = draw(st.sampled_from(["0", "1", "2", "3"]))
        elif shape == "none":
            record[code] = ""
        else:
            record[code] = draw(SCORES)
    if draw(st.booleans()):
        record["total"] = draw(NUMBERS | st.just(str(sum(int(record[c]) for c in SITE_CODES if record[c] in "0123"
                                                         and record[c]))))
    if draw(st.integers(0, 20)) == 0:
        record["unknown"] = "1"
    return record


@st.composite
def measurement_rows(draw):
    measure = draw(st.sampled_from(MEASURES))
    record = {"patient_id": draw(PATIENT), "date": draw(DATES),
              "measure": draw(st.sampled_from([measure.code, f" {measure.code}", "nope", ""])),
              "value": draw(NUMBERS | st.just(str(measure.low)) | st.just(str(measure.high))
                            | st.just(str(measure.high + 1)))}
    if draw(st.booleans()):
        record["side"] = draw(st.sampled_from(["R", "L", "", " R", "r", "X"]))
    if draw(st.booleans()):
        record["unit"] = draw(st.sampled_from([measure.unit, "", "furlongs", f" {measure.unit}"]))
    if draw(st.booleans()):
        record["rater"] = draw(TEXT)
    return record


@settings(max_examples=600, deadline=None)
@given(record=skin_rows())
def test_fast_skin_scores_agree_with_the_schema(record):
    fast, slow = fast_assessment(record, TODAY), _slow(SKIN, record)
    if fast is not None:
        assert slow is not None, f"fast path accepted a row the schema refuses: {record}"
        _same(fast, slow)


@settings(max_examples=600, deadline=None)
@given(record=measurement_rows())
def test_fast_measurements_agree_with_the_schema(record):
    fast, slow = fast_measurement(record, TODAY), _slow(MEASURE, record)
    if fast is not None:
        assert slow is not None, f"fast path accepted a row the schema refuses: {record}"
        _same(fast, slow)


def _plain_skin(**cells):
    return {"patient_id": "P-1", "visit_date": "2024-01-05", "rater": "dr a",
            **dict.fromkeys(SITE_CODES, "1"), "total": "", **cells}


@pytest.mark.parametrize("record", [
    _plain_skin(),
    _plain_skin(total="17"),
    _plain_skin(**dict.fromkeys(SITE_CODES, ""), total="23.5"),
    _plain_skin(face=""),
    {"patient_id": "P-1", "visit_date": "2024-01-05", **dict.fromkeys(SITE_CODES, 0), "total": ""},
])
def test_the_fast_path_takes_plain_skin_rows(record):
    """The registry's ordinary rows do take the fast path (else the test above proves nothing)."""
    fast = fast_assessment(record, TODAY)
    assert fast is not None
    _same(fast, _slow(SKIN, record))


@pytest.mark.parametrize("record", [
    {"patient_id": "P-1", "date": "2024-01-05", "measure": "oral_aperture", "value": "41.5"},
    {"patient_id": "P-1", "date": "2024-01-05", "measure": "ftp_distance", "side": "R", "value": "2",
     "unit": "cm", "rater": "dr a"},
])
def test_the_fast_path_takes_plain_measurements(record):
    fast = fast_measurement(record, TODAY)
    assert fast is not None
    _same(fast, _slow(MEASURE, record))


@pytest.mark.parametrize("cells", [
    {"face": "4"}, {"total": "18"}, {"face": "", "total": "16"}, {"visit_date": (TODAY + timedelta(1)).isoformat()},
    {"face": "2.0"}, {"patient_id": ""},
])
def test_rows_the_schema_refuses_or_rewrites_leave_the_fast_path(cells):
    assert fast_assessment(_plain_skin(**cells), TODAY) is None
