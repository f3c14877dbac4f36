"""Responder definitions (CLINICAL.md, Definitions: "Improved", "Progressed").

- Improved (EUSTAR, Dobrota et al., Ann Rheum Dis 2016): a fall of more than RESPONSE_POINTS (5)
  points and at least RESPONSE_PERCENT (25) % from baseline.
- Progressed (Wu et al., Ann Rheum Dis 2019): a rise of more than 5 points and at least 25 %; with a
  baseline of 0 the percentage condition counts as met.

Both are decided on unrounded values. The percentage condition is tested cross-multiplied
(100 × change ≤ −25 × baseline), which is exact for the half and quarter points that means of rater
totals produce and needs no division by a zero baseline. With a baseline of 0 a fall is impossible,
so such a patient is never improved.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis._util import as_float_array
from models.catalog import RESPONSE_PERCENT, RESPONSE_POINTS

IMPROVED = "improved"
PROGRESSED = "progressed"
STABLE = "stable"


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def is_improved(baseline: float | None, value: float | None) -> bool | None:
    """True when `value` is more than 5 points and at least 25 % below `baseline`; None if one is missing."""
    if _missing(baseline) or _missing(value):
        return None
    baseline, value = float(baseline), float(value)
    change = value - baseline
    return bool(baseline > 0 and change < -RESPONSE_POINTS and 100.0 * change <= -RESPONSE_PERCENT * baseline)


def is_progressed(baseline: float | None, value: float | None) -> bool | None:
    """True when `value` is more than 5 points and at least 25 % above `baseline` (any rise counts as
    25 % from a baseline of 0); None if either is missing."""
    if _missing(baseline) or _missing(value):
        return None
    baseline, value = float(baseline), float(value)
    change = value - baseline
    return bool(change > RESPONSE_POINTS and 100.0 * change >= RESPONSE_PERCENT * baseline)


def response_category(baseline: float | None, value: float | None) -> str | None:
    """"improved", "progressed" or "stable" (neither) for one change; None if either value is missing."""
    if _missing(baseline) or _missing(value):
        return None
    if is_improved(baseline, value):
        return IMPROVED
    if is_progressed(baseline, value):
        return PROGRESSED
    return STABLE


def _flags(baseline, value, which: str) -> pd.Series:
    index = baseline.index if isinstance(baseline, pd.Series) else None
    if index is None and isinstance(value, pd.Series):
        index = value.index
    b = as_float_array(baseline)
    v = as_float_array(value)
    change = v - b
    with np.errstate(invalid="ignore"):
        if which == IMPROVED:
            flag = (b > 0) & (change < -RESPONSE_POINTS) & (100.0 * change <= -RESPONSE_PERCENT * b)
        else:
            flag = (change > RESPONSE_POINTS) & (100.0 * change >= RESPONSE_PERCENT * b)
    result = pd.array(flag, dtype="boolean")
    result[np.isnan(b) | np.isnan(v)] = pd.NA
    return pd.Series(result, index=index, name=which)


def improved_flags(baseline, value) -> pd.Series:
    """Vectorised `is_improved`: a nullable boolean Series (<NA> where baseline or value is missing)."""
    return _flags(baseline, value, IMPROVED)


def progressed_flags(baseline, value) -> pd.Series:
    """Vectorised `is_progressed`: a nullable boolean Series (<NA> where baseline or value is missing)."""
    return _flags(baseline, value, PROGRESSED)


def response_categories(baseline, value) -> pd.Series:
    """Vectorised `response_category`: "improved", "progressed", "stable", or <NA> when undecidable."""
    improved = improved_flags(baseline, value)
    progressed = progressed_flags(baseline, value)
    is_up = progressed.fillna(False).to_numpy(dtype=bool)
    is_down = improved.fillna(False).to_numpy(dtype=bool)
    labels = np.where(is_down, IMPROVED, np.where(is_up, PROGRESSED, STABLE))
    result = pd.Series(labels, index=improved.index, name="response", dtype="string")
    result[improved.isna()] = pd.NA
    return result
