"""Turning raw input (form values, CSV cells, CLI arguments) into validated schemas.

`parse(Schema, data)` is the one entry point: it returns the schema instance or raises the first
named domain error with every problem attached, so the form, the importer and the CLI reject the
same input with the same words.
"""

from __future__ import annotations

import math
import re
import types
import typing
import unicodedata
from datetime import date
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, model_validator
from sqlmodel import SQLModel

from models.catalog import SITE_CODES
from models.errors import InvalidDate, InvalidScore, InvalidText, InvalidValue, MissingValue, SkintrackError, combine

T = TypeVar("T", bound=BaseModel)

_TYPE_MESSAGES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "date_parsing": "must be a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date as YYYY-MM-DD",
    "date_type": "must be a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date without a time",
    "bool_parsing": "must be yes or no",
    "bool_type": "must be yes or no",
    "string_type": "must be text",
    "missing": "is required",
    "string_too_long": "is too long",
}


def parse(schema: type[T], data: dict[str, Any], *, context: dict | None = None) -> T:
    """Validate `data` against `schema` (`context`: pydantic's validation context, for rules that depend on where
    the data comes from, e.g. models.treatment.FROM_A_BUNDLE).

    Raises the first problem as its named SkintrackError subclass, with all problems in `.problems`.
    """
    try:
        return schema.model_validate(data, context=context)
    except ValidationError as exc:
        problems: list[SkintrackError] = []
        for err in exc.errors():
            error = _to_domain_error(err)
            problems.extend(error.problems if len(error.problems) > 1 else [error])
        raise combine(problems) from None


def _to_domain_error(err: dict[str, Any]) -> SkintrackError:
    field = ".".join(str(part) for part in err.get("loc", ()) if part != "__root__")
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, SkintrackError):
        if not original.field and field:
            return type(original)(original.reason, field=field)
        return original
    kind = err.get("type", "")
    # a required field sent empty (a form's blank number box, a blank cell) is missing, not of the wrong type:
    # "Dose: is required" rather than "Dose: must be a number"
    if kind == "missing" or (kind in _TYPE_MESSAGES and err.get("input", ...) is None):
        return MissingValue("is required", field=field)
    message = _TYPE_MESSAGES.get(kind, err.get("msg", "is not valid"))
    if field in SITE_CODES:
        return InvalidScore(f"{message}; allowed 0, 1, 2, 3", field=field)
    if "date" in field and kind.startswith("date"):
        return InvalidDate(message, field=field)
    return InvalidValue(message, field=field)


# --- small reusable checks, raised inside field validators ---------------------------------------


def blank_to_none(value: Any) -> Any:
    """'' and whitespace-only strings mean 'not recorded'."""
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def optional_text(value: Any) -> str:
    """A text field that may be left blank: '' when not recorded, else the text without surrounding spaces."""
    value = blank_to_none(value)
    return "" if value is None else str(value).strip()


def required_text(value: Any, field: str) -> str:
    """A text field that must be filled: the text without surrounding spaces; InvalidValue naming `field` when
    blank."""
    value = blank_to_none(value)
    if value is None:
        raise InvalidValue("is required", field=field)
    return str(value).strip()


def check_not_future(value: date | None, field: str) -> date | None:
    if value is not None and value > date.today():
        raise InvalidDate(f"{value.isoformat()} is in the future; today is {date.today().isoformat()}",
                          field=field)
    return value


def check_choice(value: str | None, allowed, field: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidValue(f"{value!r} is not allowed; allowed: {', '.join(map(str, allowed))}", field=field)
    return value


_SCORE_TEXT = {"0": 0, "1": 1, "2": 2, "3": 3}


def check_score(value: Any, field: str) -> int | None:
    """A site score: blank, or a whole number 0-3 ('2.0' is accepted as 2)."""
    if type(value) is int and 0 <= value <= 3:  # the common cases first: imports validate millions of scores
        return value
    if type(value) is str and value in _SCORE_TEXT:
        return _SCORE_TEXT[value]
    value = blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidScore(f"{value!r} is not a score; allowed 0, 1, 2, 3", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidScore(f"{value!r} is not a score; allowed 0, 1, 2, 3", field=field) from None
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= 3:
        raise InvalidScore(f"{value!r} is not a score; allowed 0, 1, 2, 3", field=field)
    return int(number)


# --- cells: what every schema checks of text input before its fields are parsed ------------------

ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@cache
def _date_fields(schema: type) -> frozenset[str]:
    """The fields of `schema` that hold a date (date or date | None)."""
    out = set()
    for name, info in schema.model_fields.items():
        annotation = info.annotation
        members = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
        if date in members:
            out.add(name)
    return frozenset(out)


# --- the one text rule ------------------------------------------------------------------------------------
# Every text a person gives (a form's field, a bundle's cell, a command-line argument, a correction's reason) goes
# through `check_text`. Control characters are refused: a NUL cannot be stored by PostgreSQL at all (it crashed the
# import), and the others (escape sequences, backspaces, form feeds, C1 codes) are invisible on screen and in
# exports, so two records that look the same would differ. Tab and line breaks are allowed only in the free-text
# fields written as paragraphs (MULTILINE: notes, description, reason); every other field is one line. Lone
# surrogates (bytes that were not UTF-8) are refused the same way.

MULTILINE = frozenset({"notes", "description", "reason"})
SECRETS = frozenset({"password", "new_password", "current_password"})
_LINE_BREAKS = frozenset("\t\n\r")
_NAMES = {0: "NUL", 8: "BACKSPACE", 9: "TAB", 10: "LINE FEED", 11: "VERTICAL TAB", 12: "FORM FEED",
          13: "CARRIAGE RETURN", 27: "ESCAPE", 127: "DELETE"}


def check_text(value: str, field: str, *, multiline: bool | None = None) -> str:
    """`value` when it holds no control character (tab and line breaks allowed in a MULTILINE field, or with
    multiline=True); else InvalidText naming the field, the character and where it is."""
    if value.isprintable():  # the common case: one C-level pass
        return value
    allowed = _LINE_BREAKS if (field in MULTILINE if multiline is None else multiline) else frozenset()
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") and char not in allowed:
            code = ord(char)
            name = _NAMES.get(code, "a surrogate: not text" if category == "Cs" else "a control character")
            where = "one line: no tab or line break" if code in (9, 10, 13) else "no control characters"
            raise InvalidText(f"contains U+{code:04X} ({name}) at character {position}; this field takes {where}",
                              field=field)
    return value


def check_cells(schema: type, data: Any) -> Any:
    """The rules a text cell meets before its field parses it, the same for a form, a bundle and the CLI: the one
    text rule (`check_text`) on every text, and a date given as text is YYYY-MM-DD (pydantic also takes
    '2020-01-05T00:00' and other forms). Every problem is raised at once."""
    if not isinstance(data, dict):
        return data
    problems: list[SkintrackError] = []
    for name, value in data.items():
        # a password is a secret, never shown, stored or exported as text: any character may be in it
        if isinstance(value, str) and not value.isprintable() and name not in SECRETS:
            try:
                check_text(value, str(name))
            except InvalidText as error:
                problems.append(error)
    if problems:
        raise combine(problems)
    for name in _date_fields(schema):
        value = data.get(name)
        if isinstance(value, str) and value.strip() and not ISO_DATE.match(value):
            problems.append(InvalidDate(f"{value!r} must be a date as YYYY-MM-DD", field=name))
        elif isinstance(value, str) and ISO_DATE.match(value):
            try:  # the right shape but no such day (2020-02-30): said so, not "must be a date as YYYY-MM-DD"
                date.fromisoformat(value)
            except ValueError as error:
                problems.append(InvalidDate(f"{value!r} is not a calendar date ({error})", field=name))
    if problems:
        raise combine(problems)
    return data


class Input(SQLModel):
    """Base of every input schema: `check_cells` runs on the raw input before any field is parsed."""

    @model_validator(mode="before")
    @classmethod
    def _cells(cls, data):
        return check_cells(cls, data)


def printable(text: str) -> str:
    """`text` with every control character written as its escape (NUL as \\x00, a line break as \\n): for text
    that is shown or stored as one line, never refused (a bundle's file name in its audit row)."""
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c
                   for c in str(text))
