"""Text for chart labels and tooltips, derived from the catalogue (never re-typed)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.stats import round_half_away
from models.catalog import CTCAE_GRADES, EVENT_KINDS, SITES_BY_CODE, split_sites

UNSPECIFIED_RATER = "unspecified"
CHAR_PX = 6.3  # the average width of one character of an 11 px label (letters and digits)


def number(value) -> str:
    """A number without a trailing .0 (400.0 -> "400", 0.5 -> "0.5"); "" for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def signed(value, digits: int | None = None, unit: str = "") -> str:
    """A change with its sign and a true minus: "+2", "−3.5 points"; ``digits`` fixes the decimals (−3.50), halves
    rounded away from zero (−12.5 → "−13"); "–" when missing. A value that rounds to zero has no sign."""
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    # halves away from zero, as the exports round (analysis.formatting): f-strings round them to even
    text = f"{round_half_away(abs(value), digits):.{digits}f}" if digits is not None else number(abs(value))
    sign = "−" if value < 0 and float(text) != 0 else "+" if value > 0 and float(text) != 0 else ""
    return f"{sign}{text}{unit}"


def dose_label(dose, dose_unit: str = "", frequency: str = "") -> str:
    """'400 mg daily' — the parts that are present, joined by spaces."""
    amount = number(dose)
    parts = [amount, (dose_unit or "") if amount else "", frequency or ""]
    return " ".join(p for p in parts if p)


def rater_name(rater) -> str:
    return rater if isinstance(rater, str) and rater.strip() else UNSPECIFIED_RATER


def site_display(code: str) -> str:
    """'Dorsum of hand (R)' for 'hand_r'; unknown codes are returned as they are."""
    site = SITES_BY_CODE.get(code)
    return site.display if site else code


def sites_display(value) -> str:
    """The labels of a ';'-joined sites cell, comma separated."""
    text = value if isinstance(value, str) else ""
    return ", ".join(site_display(code) for code in split_sites(text))


def kind_label(kind) -> str:
    return EVENT_KINDS.get(kind, EVENT_KINDS["other"])


def grade_label(grade) -> str:
    """'grade 2 (moderate)'; '' when missing."""
    if grade is None or pd.isna(grade):
        return ""
    grade = int(grade)
    name = CTCAE_GRADES.get(grade)
    return f"grade {grade} ({name})" if name else f"grade {grade}"


def date_text(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{pd.Timestamp(value):%Y-%m-%d}"
