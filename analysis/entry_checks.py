"""Checks shown on the visit entry screen before saving (PRODUCT.md screen 3). Warnings allow saving; they name
the field they are about. Pure: the typed scores and the patient's saved rows in, messages and choices out
(which saved assessment is the previous one, which one is being corrected, which measures changed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from models.catalog import MEASURES_BY_CODE, MRSS_MAX, NOISE_BETWEEN_RATERS, SITE_CODES, SITE_JUMP, SITES_BY_CODE


@dataclass(frozen=True)
class EntryWarning:
    field: str
    message: str


@dataclass(frozen=True)
class Previous:
    """The patient's latest assessment before the visit being entered."""

    visit_date: date
    rater: str
    sites: dict[str, int | None]
    total: float | None


def live_total(scores: dict[str, int | None]) -> tuple[int, int]:
    """(sum of the scored sites, number of sites scored)."""
    scored = [value for value in scores.values() if value is not None]
    return int(sum(scored)), len(scored)


def entry_warnings(scores: dict[str, int | None], *, rater: str, previous: Previous | None,
                   total_only: bool = False) -> list[EntryWarning]:
    """Rater differs from the previous visit's; a site moved by 2 or more since then; an incomplete assessment."""
    warnings: list[EntryWarning] = []
    if previous is not None and previous.rater.strip() and rater.strip() and previous.rater != rater:
        warnings.append(EntryWarning("rater", (
            f"The previous visit ({previous.visit_date.isoformat()}) was scored by {previous.rater}: differences of "
            f"up to {NOISE_BETWEEN_RATERS:g} points between raters are measurement noise, not change.")))
    if total_only:
        return warnings
    if previous is not None:
        for code in SITE_CODES:
            now, before = scores.get(code), previous.sites.get(code)
            if now is not None and before is not None and abs(now - before) >= SITE_JUMP:
                warnings.append(EntryWarning(code, (
                    f"{SITES_BY_CODE[code].display}: {before} → {now} since {previous.visit_date.isoformat()}; "
                    "please check the site.")))
    _, scored = live_total(scores)
    if 0 < scored < len(SITE_CODES):
        missing = [SITES_BY_CODE[c].display for c in SITE_CODES if scores.get(c) is None]
        warnings.append(EntryWarning("sites", (
            f"{scored} of {len(SITE_CODES)} sites scored: saved as incomplete, without a total (not scored: "
            f"{', '.join(missing)}).")))
    return warnings


def nothing_entered(scores: dict[str, int | None], *, total_only: bool, total: float | None) -> str | None:
    """The reason saving is refused when there is nothing to save, else None."""
    if total_only:
        return None if total is not None else f"total: enter the historical total (0–{MRSS_MAX})"
    if live_total(scores)[1] == 0:
        return "sites: score at least one site (0–3), or switch to total only"
    return None


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def previous_assessment(rows: pd.DataFrame, visit_date: date) -> Previous | None:
    """The patient's latest assessment dated before `visit_date` (rows: db.visits.load_assessment_rows, sorted by
    date and rater), or None for a first visit."""
    if rows.empty:
        return None
    earlier = rows[rows["visit_date"].dt.date < visit_date]
    if earlier.empty:
        return None
    last = earlier.iloc[-1]
    sites = {code: None if _number(last[code]) is None else int(last[code]) for code in SITE_CODES}
    return Previous(visit_date=last["visit_date"].date(), rater=str(last["rater"]), sites=sites,
                    total=_number(last["total"]))


def same_assessment(rows: pd.DataFrame, visit_date: date, rater: str) -> dict | None:
    """The saved assessment with this (date, rater) as a dict, or None: entering it again means correcting it."""
    if rows.empty:
        return None
    match = rows[(rows["visit_date"].dt.date == visit_date) & (rows["rater"] == rater)]
    return match.iloc[0].to_dict() if len(match) else None


def form_values(existing: dict | None, measures: pd.DataFrame) -> dict:
    """The values that fill the form for a saved assessment (or a blank form): site scores, total-only mode,
    total, notes, and the measures saved for the same date and rater. Keys are the form's widget keys."""
    values: dict = {f"site_{code}": None for code in SITE_CODES}
    values.update({"entry_total_only": False, "entry_total": None, "entry_notes": "", "entry_reason": ""})
    for measure in MEASURES_BY_CODE.values():
        for side in ("R", "L") if measure.sided else ("",):
            values[f"measure_{measure.code}_{side}"] = None
    if existing is None:
        return values
    for code in SITE_CODES:
        score = _number(existing.get(code))
        values[f"site_{code}"] = None if score is None else int(score)
    total = _number(existing.get("total"))
    values["entry_total_only"] = total is not None and all(_number(existing.get(c)) is None for c in SITE_CODES)
    values["entry_total"] = total
    values["entry_notes"] = existing.get("notes") or ""
    saved = _saved_measures(measures, existing["visit_date"].date(), str(existing["rater"]))
    for (code, side), (_, value) in saved.items():
        if f"measure_{code}_{side}" in values:
            values[f"measure_{code}_{side}"] = value
    return values


def _saved_measures(measures: pd.DataFrame, visit_date: date, rater: str) -> dict[tuple[str, str], tuple[int, float]]:
    if measures.empty:
        return {}
    same = measures[(measures["date"].dt.date == visit_date) & (measures["rater"] == rater)]
    return {(m, s): (int(i), float(v)) for m, s, i, v in
            zip(same["measure"], same["side"], same["measurement_id"], same["value"], strict=True)}


@dataclass(frozen=True)
class MeasureToSave:
    code: str
    side: str
    value: float | None  # None: a saved value cleared on an opened visit, to be deleted
    measurement_id: int | None  # the saved value of the same (date, measure, side, rater) it corrects
    replaces: float | None = None  # that saved value


def measures_to_save(typed: dict[tuple[str, str], float | None], measures: pd.DataFrame, *, visit_date: date,
                     rater: str, opened: tuple[date, str] | None = None) -> list[MeasureToSave]:
    """The typed measure values that are new or differ from what is saved for this date and rater (unchanged
    values are not written again, so a correction audits only what changed), and, on a visit opened for correction
    (`opened`), the saved values cleared on the form (value None: deleted when saved).

    `opened`: the (date, rater) of the visit being corrected, when the correction moves it to another date or
    rater: its saved measures move with it (each one is corrected, with its id), the visit's key being theirs."""
    opened_date, opened_rater = opened or (visit_date, rater)
    moved = (opened_date, opened_rater) != (visit_date, rater)
    saved = _saved_measures(measures, opened_date, opened_rater)
    out = []
    for (code, side), value in typed.items():
        measurement_id, before = saved.get((code, side), (None, None))
        if value is None:
            if opened is not None and measurement_id is not None:  # cleared on the visit opened for correction
                out.append(MeasureToSave(code, side, None, measurement_id))
            continue
        if before is None or float(value) != before or moved:
            out.append(MeasureToSave(code, side, float(value), measurement_id, before))
    return out


def out_of_range(code: str, value: float | None) -> str | None:
    """Why a typed measure value is implausible (CLINICAL.md ranges), naming the measure; None when fine."""
    measure = MEASURES_BY_CODE[code]
    if value is None or measure.low <= value <= measure.high:
        return None
    return (f"{measure.label}: {value:g} {measure.unit} is outside the plausible range "
            f"{measure.low:g}–{measure.high:g} {measure.unit}")


def previous_measures(measures: pd.DataFrame, visit_date: date) -> dict[tuple[str, str], float]:
    """The latest value of each (measure, side) measured before `visit_date`, any rater: shown beside the inputs."""
    if measures.empty:
        return {}
    earlier = measures[measures["date"].dt.date < visit_date].sort_values("date", kind="stable")
    latest = earlier.drop_duplicates(["measure", "side"], keep="last")
    return {(m, s): float(v) for m, s, v in zip(latest["measure"], latest["side"], latest["value"], strict=True)}
