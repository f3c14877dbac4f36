"""The mRSS a patient has to pass to count as improved or progressed, for a given baseline (drawn as the
patient chart's dashed threshold lines).

They restate `analysis.response` (CLINICAL.md, "Improved", "Progressed") as one number each: improved
needs a fall of more than RESPONSE_POINTS *and* of at least RESPONSE_PERCENT % — so the stricter of the
two lines, the lower one — and progressed a rise of both, the higher one. Below the improvement line a
visit is improved, above the progression line progressed (tests hold the lines to `is_improved` and
`is_progressed`); on a line, the strictness of the binding condition decides.
"""

from __future__ import annotations

from models.catalog import RESPONSE_PERCENT, RESPONSE_POINTS


def improvement_line(baseline: float) -> float:
    """The mRSS below which a visit is improved from ``baseline``: min(baseline − 5, 75 % of baseline)."""
    return min(baseline - RESPONSE_POINTS, baseline * (1 - RESPONSE_PERCENT / 100))


def progression_line(baseline: float) -> float:
    """The mRSS above which a visit is progressed from ``baseline``: max(baseline + 5, 125 % of baseline)."""
    return max(baseline + RESPONSE_POINTS, baseline * (1 + RESPONSE_PERCENT / 100))


def improvement_words(baseline: float) -> str:
    """Where improved starts, in words: "27 or lower" when the percentage condition binds (reached on the
    line), "below 7" when the 5-point condition does (a fall of more than 5 points)."""
    line = improvement_line(baseline)
    exact = line == baseline * (1 - RESPONSE_PERCENT / 100) and line != baseline - RESPONSE_POINTS
    return f"{_number(line)} or lower" if exact else f"below {_number(line)}"


def progression_words(baseline: float) -> str:
    """Where progressed starts, in words: "45 or higher" (percentage binds) or "above 17" (5 points bind)."""
    line = progression_line(baseline)
    exact = line == baseline * (1 + RESPONSE_PERCENT / 100) and line != baseline + RESPONSE_POINTS
    return f"{_number(line)} or higher" if exact else f"above {_number(line)}"


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
