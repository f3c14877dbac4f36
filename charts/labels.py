"""Text for chart labels and tooltips, derived from the catalogue (never re-typed)."""

from __future__ import annotations

import math

import pandas as pd

from models.catalog import CTCAE_GRADES, EVENT_KINDS, SITES_BY_CODE, split_sites

UNSPECIFIED_RATER = "unspecified"
CHAR_PX = 6.3  # approximate width of one character of an 11 px label


def number(value) -> str:
    """A number without a trailing .0 (400.0 -> "400", 0.5 -> "0.5"); "" for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


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


def fit(text: str, px: float, *, fallbacks: tuple[str, ...] = ()) -> str:
    """``text`` if it fits in ``px`` pixels, else the first fallback that fits, else ""."""
    for candidate in (text, *fallbacks):
        if candidate and len(candidate) * CHAR_PX <= px:
            return candidate
    return ""


def shorten(text: str, max_chars: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
