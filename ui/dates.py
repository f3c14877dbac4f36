"""Dates as clinicians write them: a date field keeps exactly what was typed, and the save refuses a date that is
not one, lies in the future or before the patient's birth year, naming the field.

Streamlit's `st.date_input` is not used for data entry: outside its `min_value`/`max_value` (ten years back by
default) or with a segment left empty it shows a red field but keeps sending its previous value, so a save would
store today's date for a typed 2027-11-01, and a visit from 2016 could not be entered at all.
"""

from __future__ import annotations

import re
from datetime import date

import streamlit as st

from models.errors import InvalidDate, MissingValue, SkintrackError, combine
from models.validation import check_not_future

EARLIEST_YEAR = 1900  # no birth year, no date before it (models: a birth year lies in 1900..today)
DATE_FORMATS = "YYYY-MM-DD or DD.MM.YYYY"
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def earliest_date(birth_year: int | None) -> date:
    """The first day a patient's record can hold: 1 January of the birth year, or of 1900 when it is not known."""
    return date(birth_year or EARLIEST_YEAR, 1, 1)


def parse_date(text: str) -> date | None:
    """The date `text` names (YYYY-MM-DD, one-digit month and day allowed, or DD.MM.YYYY); None when it names
    none (blank, another format, or a day that does not exist such as 2024-02-30)."""
    text = (text or "").strip()
    iso, dotted = _ISO.match(text), _DOTTED.match(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif dotted:
        day, month, year = (int(part) for part in dotted.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_date(text: str, *, field: str, earliest: date, required: bool = True,
               why_earliest: str = "") -> date | None:
    """The typed date, or a named error: not a date, in the future, or before `earliest`. Blank gives None, or
    MissingValue when `required`."""
    text = (text or "").strip()
    if not text:
        if required:
            raise MissingValue(f"enter the date ({DATE_FORMATS})", field=field)
        return None
    value = parse_date(text)
    if value is None:
        raise InvalidDate(f"{text!r} is not a date; write it as {DATE_FORMATS}, e.g. {date.today().isoformat()}",
                          field=field)
    check_not_future(value, field)
    if value < earliest:
        raise InvalidDate(f"{value.isoformat()} is before {why_earliest or earliest.isoformat()}", field=field)
    return value


class DateChecks:
    """Read every date field of a form and report all problems at once: `read(...)` per field, then `done()`
    raises the combined error, if any."""

    def __init__(self, *, birth_year: int | None = None) -> None:
        self.earliest = earliest_date(birth_year)
        self.why = f"the patient's birth year {birth_year}" if birth_year else f"{EARLIEST_YEAR}"
        self.problems: list[SkintrackError] = []

    def read(self, text: str, *, field: str, required: bool = True) -> date | None:
        try:
            return check_date(text, field=field, earliest=self.earliest, required=required,
                              why_earliest=self.why)
        except SkintrackError as problem:
            self.problems.append(problem)
            return None

    def done(self) -> None:
        if self.problems:
            raise combine(self.problems)


def date_field(label: str, *, key: str, value: date | None = None, container=None, help: str | None = None) -> str:
    """A date typed as text, kept exactly as typed (checked when the form is saved, see `DateChecks`)."""
    target = container if container is not None else st
    return target.text_input(label, value=value.isoformat() if value else "", key=key, placeholder="YYYY-MM-DD",
                             help=help or f"Type the date as {DATE_FORMATS}.")


def shown(value) -> date | None:
    """A stored date (a date, a pandas Timestamp or NaT/None) as a date for a form."""
    if value is None or value != value:  # NaT and NaN are not equal to themselves
        return None
    return value.date() if hasattr(value, "date") else value
