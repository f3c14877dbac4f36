"""How numbers, doses and yes/no flags are written, once, for the exports, the charts and the screens.

- A number is written without a trailing ".0" and without an exponent (200.0 → "200", 1e-05 → "0.00001"),
  -0 as "0", and blank when missing; optionally rounded first, halves away from zero.
- A dose is `dose unit frequency` from the parts that are present ("400 mg daily").
- A flag is "yes" / "no", blank when undecided.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.stats import round_half_away

MRSS_DECIMALS = 2  # mRSS values and changes in the export files
PERCENT_DECIMALS = 1  # % change in the export files


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_number(value, decimals: int | None = None) -> str:
    """`value` as written in files and labels: no trailing ".0", no exponent, "" when missing.

    With `decimals`, rounded first (halves away from zero, `round_half_away`): (25.5, None) → "25.5",
    (200.0, None) → "200", (-0.0, None) → "0", (2.345, 2) → "2.35", (None, None) → "".
    """
    if _missing(value):
        return ""
    number = float(value)
    if decimals is not None:
        number = round_half_away(number, decimals)
    return np.format_float_positional(number + 0.0, trim="-")  # + 0.0: -0.0 is written 0


def dose_label(dose, dose_unit: str | None = "", frequency: str | None = "") -> str:
    """`dose unit frequency` from the parts present, e.g. "400 mg daily", "0.5 g", "daily".

    The unit is only written after a dose; a missing dose, unit or frequency is left out.
    """
    amount = format_number(dose)
    unit = "" if _missing(dose_unit) else str(dose_unit)
    often = "" if _missing(frequency) else str(frequency)
    return " ".join(part for part in (amount, unit if amount else "", often) if part)


def yes_no(flags: pd.Series) -> pd.Series:
    """A (nullable) boolean Series as "yes" / "no", "" where missing (index and name kept)."""
    values = np.where(flags.isna(), "", np.where(flags.fillna(False).astype(bool), "yes", "no"))
    return pd.Series(values, index=flags.index, name=flags.name, dtype="str")
