"""What changed after each treatment change of one patient: the patient chart's "what changed" summary.

A treatment change is a drug start (the first period of a drug, or a restart after a gap), a dose change
(a period of the same drug starting the day after the previous one ended, at another dose, unit or
frequency), a drug stop (the last day of a period that no period of the same drug continues) or a day of
steroid injections (all injections of one date together).

For each change on day d the summary compares two visits with an mRSS:
- before: the latest visit from ANCHOR_LOOKBACK_DAYS (90) days before d up to d, both included — the same
  rule as the drug-anchored baseline (CLINICAL.md, "Baseline"); a visit on d counts as before;
- after: the latest visit 3 to 6 months after d, from ``window_target_day(3)`` (day 91) to
  ``window_target_day(6)`` (day 183) after d, both included: the longest follow-up inside the window.
It reports the mRSS change between them (visit mRSS, CLINICAL.md) and every site whose score (mean of the
visit's raters) moved by at least SITE_MOVE (1 point of the 0–3 scale). Changes that fall between d and
the after visit are named, since the window then mixes their effects.

Pure: one patient's frames in (visits as from ``analysis.scores.visit_scores``, MEDICATION_COLUMNS,
EVENT_COLUMNS), plain values out; the chart screen, the chart's hover texts and the PDF report use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from analysis.treatment import format_number
from analysis.windows import window_target_day
from models.catalog import ANCHOR_LOOKBACK_DAYS, SITE_CODES, SITES_BY_CODE, split_sites

SITE_MOVE = 1.0  # a site "moved" when its score changed by at least this much (0–3 scale)
WINDOW_FROM_DAYS = window_target_day(3)  # 91
WINDOW_TO_DAYS = window_target_day(6)  # 183
CONTIGUOUS_DAYS = 1  # a period starting at most a day after the previous one ended continues it

METHOD = (f"Each change compared: the latest visit with an mRSS in the {ANCHOR_LOOKBACK_DAYS} days up to it with the "
          f"latest visit {WINDOW_FROM_DAYS}–{WINDOW_TO_DAYS} days (3–6 months) after it; sites listed when they moved "
          f"by {SITE_MOVE:g} or more (0–3 scale).")

DRUG_START = "drug_start"
DOSE_CHANGE = "dose_change"
DRUG_STOP = "drug_stop"
INJECTION = "injection"
CHANGE_KINDS = (DRUG_START, DOSE_CHANGE, DRUG_STOP, INJECTION)

# Sites in words: (one, both sides) per catalogue label; "right hand", "hands".
_SITE_WORDS = {
    "Face": ("face", "face"),
    "Anterior chest": ("chest", "chest"),
    "Abdomen": ("abdomen", "abdomen"),
    "Upper arm": ("upper arm", "upper arms"),
    "Forearm": ("forearm", "forearms"),
    "Dorsum of hand": ("hand", "hands"),
    "Fingers": ("fingers", "fingers"),
    "Thigh": ("thigh", "thighs"),
    "Lower leg": ("lower leg", "lower legs"),
    "Dorsum of foot": ("foot", "feet"),
}
_SIDE_WORDS = {"R": "right", "L": "left"}
MINUS = "−"


@dataclass(frozen=True)
class SiteMove:
    """One site's score at the visits before and after a change (mean of raters, 0–3)."""

    site: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class TreatmentChange:
    """One treatment change and what the skin did in the 3–6 months after it."""

    date: date
    kind: str  # one of CHANGE_KINDS
    drug: str  # the drug, or the injected agent ("" when not recorded)
    label: str  # short, for a chart rule: "imatinib 200 → 400 mg", "injection: hands, fingers"
    what: str  # the change in words: "imatinib went from 200 to 400 mg daily"
    sites: tuple[str, ...] = ()  # injected sites (catalogue order)
    before_date: date | None = None
    before_mrss: float | None = None
    after_date: date | None = None
    after_mrss: float | None = None
    moved: tuple[SiteMove, ...] = ()  # sites that moved by ≥ SITE_MOVE, largest move first
    also_in_window: tuple[str, ...] = field(default=())  # other changes between the date and the after visit

    @property
    def mrss_change(self) -> float | None:
        if self.before_mrss is None or self.after_mrss is None:
            return None
        return self.after_mrss - self.before_mrss

    @property
    def outcome(self) -> str:
        """What followed, in words (without the change itself): for hover texts."""
        if self.after_date is None:
            return f"no visit with an mRSS {WINDOW_FROM_DAYS}–{WINDOW_TO_DAYS} days (3–6 months) after"
        if self.before_date is None:
            return (f"no visit with an mRSS in the {ANCHOR_LOOKBACK_DAYS} days before to compare with "
                    f"(mRSS {number(self.after_mrss)} on {self.after_date.isoformat()})")
        text = (f"mRSS {number(self.before_mrss)} → {number(self.after_mrss)} ({signed(self.mrss_change)}) "
                f"from {self.before_date.isoformat()} to {self.after_date.isoformat()}; ")
        text += sites_in_words(self.moved) if self.moved else f"no site moved by {number(SITE_MOVE)} or more"
        if self.also_in_window:
            text += f" (also in this window: {'; '.join(self.also_in_window)})"
        return text

    @property
    def sentence(self) -> str:
        """The summary line: "After the injections into both hands on 2022-12-14, hands −1 … by 2023-03-20"."""
        return f"After {self.what} on {self.date.isoformat()}: {self.outcome}."


def number(value: float | None) -> str:
    """A score in words: 12, 12.5 (no trailing .0); a true minus sign."""
    if value is None:
        return "–"
    return format_number(round(float(value), 2)).replace("-", MINUS)


def signed(value: float | None) -> str:
    """A change with its sign: +2, −1.5, 0."""
    if value is None:
        return "–"
    text = number(abs(value))
    return text if text == "0" else (MINUS if value < 0 else "+") + text


def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _dose_text(dose, unit, frequency) -> str:
    parts = [format_number(dose) if dose is not None and not pd.isna(dose) else "", unit or "", frequency or ""]
    return " ".join(str(p) for p in parts if p)


def _periods(medications: pd.DataFrame | None) -> list[dict]:
    if medications is None or medications.empty:
        return []
    frame = medications[medications["start_date"].notna()].sort_values(["drug", "start_date"], kind="stable")
    return [
        {"drug": str(row.drug), "dose": row.dose, "unit": row.dose_unit or "", "frequency": row.frequency or "",
         "start": pd.Timestamp(row.start_date), "end": None if pd.isna(row.end_date) else pd.Timestamp(row.end_date)}
        for row in frame.itertuples(index=False)
    ]


def _medication_changes(medications: pd.DataFrame | None) -> list[tuple[pd.Timestamp, str, str, str, str]]:
    """(day, kind, drug, label, what) for every start, dose change and stop."""
    out = []
    periods = _periods(medications)
    by_drug: dict[str, list[dict]] = {}
    for period in periods:
        by_drug.setdefault(period["drug"], []).append(period)
    for drug, runs in by_drug.items():
        for index, period in enumerate(runs):
            previous = runs[index - 1] if index else None
            following = runs[index + 1] if index + 1 < len(runs) else None
            dose = _dose_text(period["dose"], period["unit"], period["frequency"])
            continues = (previous is not None and previous["end"] is not None
                         and (period["start"] - previous["end"]).days <= CONTIGUOUS_DAYS)
            if not continues:
                amount = _dose_text(period["dose"], period["unit"], "")
                out.append((period["start"], DRUG_START, drug, f"start of {drug} {amount}".rstrip(),
                            f"the start of {drug} {dose}".rstrip()))
            elif (previous["dose"], previous["unit"], previous["frequency"]) != (
                    period["dose"], period["unit"], period["frequency"]):
                out.append((period["start"], DOSE_CHANGE, drug, *_dose_change_words(drug, previous, period)))
            continued = (following is not None and period["end"] is not None
                         and (following["start"] - period["end"]).days <= CONTIGUOUS_DAYS)
            if period["end"] is not None and not continued:
                out.append((period["end"], DRUG_STOP, drug, f"{drug} stop", f"stopping {drug}"))
    return out


def _dose_change_words(drug: str, before: dict, after: dict) -> tuple[str, str]:
    """("imatinib 200 → 400 mg", "imatinib went from 200 to 400 mg daily")."""
    if (before["unit"], before["frequency"]) == (after["unit"], after["frequency"]):
        low, high = format_number(before["dose"]), format_number(after["dose"])
        unit = f" {before['unit']}" if before["unit"] else ""
        frequency = f" {before['frequency']}" if before["frequency"] else ""
        return f"{drug} {low} → {high}{unit}", f"{drug} went from {low} to {high}{unit}{frequency}"
    old = _dose_text(before["dose"], before["unit"], before["frequency"])
    new = _dose_text(after["dose"], after["unit"], after["frequency"])
    return f"{drug} {old} → {new}", f"{drug} went from {old} to {new}"


def _injection_changes(events: pd.DataFrame | None) -> list[tuple[pd.Timestamp, str, str, str, str, tuple]]:
    if events is None or events.empty:
        return []
    shots = events[(events["kind"] == "steroid_injection") & events["date"].notna()]
    out = []
    for day, group in shots.groupby("date", sort=True):
        codes = set()
        for cell in group["sites"]:
            codes.update(c for c in split_sites(cell if isinstance(cell, str) else "") if c in SITES_BY_CODE)
        sites = tuple(c for c in SITE_CODES if c in codes)
        agents = ", ".join(dict.fromkeys(a for a in group["agent"] if isinstance(a, str) and a.strip()))
        where = site_names(sites)
        plural = len(group) > 1 or len(sites) > 1
        what = f"the injection{'s' if plural else ''}" + (f" into {_both(_and(where), sites)}" if sites else "")
        label = "injection" + (f": {where}" if where else "")
        out.append((pd.Timestamp(day), INJECTION, agents, label, what, sites))
    return out


def _both(where: str, sites: Sequence[str]) -> str:
    """'both hands and fingers' when every named pair is injected on both sides."""
    paired = [SITES_BY_CODE[c] for c in sites]
    if paired and all(s.side for s in paired) and all(
            sum(1 for t in paired if t.label == s.label) == 2 for s in paired):
        return f"both {where}"
    return where


def site_names(codes: Iterable[str]) -> str:
    """Sites in words, pairs merged: ('hand_r', 'hand_l', 'fingers_r') -> 'hands, right fingers'."""
    codes = [c for c in SITE_CODES if c in set(codes)]
    names, seen = [], set()
    for code in codes:
        site = SITES_BY_CODE[code]
        if site.label in seen:
            continue
        one, both = _SITE_WORDS.get(site.label, (site.label.lower(), site.label.lower()))
        pair = [c for c in codes if SITES_BY_CODE[c].label == site.label]
        if site.side and len(pair) == 2:
            names.append(both)
            seen.add(site.label)
        else:
            names.append(f"{_SIDE_WORDS[site.side]} {one}" if site.side else one)
    return ", ".join(names)


def sites_in_words(moves: Sequence[SiteMove]) -> str:
    """'hands −2 each, lower legs and feet −1 each, face +1': sites grouped by their change."""
    by_change: dict[float, list[str]] = {}
    for move in moves:
        by_change.setdefault(round(move.change, 2), []).append(move.site)
    parts = []
    for change in sorted(by_change, key=lambda c: (-abs(c), c)):
        codes = by_change[change]
        names = site_names(codes)
        parts.append(f"{_and(names)} {signed(change)}{' each' if len(codes) > 1 else ''}")
    return ", ".join(parts)


def _and(names: str) -> str:
    items = names.split(", ")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _scored(visits: pd.DataFrame | None) -> pd.DataFrame:
    if visits is None or visits.empty:
        return pd.DataFrame(columns=["visit_date", "mrss", *SITE_CODES])
    frame = visits[visits["mrss"].notna() & visits["visit_date"].notna()]
    return frame.sort_values("visit_date", kind="stable").reset_index(drop=True)


def _moves(before: pd.Series, after: pd.Series, overall: dict[str, float]) -> tuple[SiteMove, ...]:
    moves = []
    for code in SITE_CODES:
        low, high = before.get(code), after.get(code)
        if low is None or high is None or pd.isna(low) or pd.isna(high):
            continue
        if abs(float(high) - float(low)) >= SITE_MOVE:
            moves.append(SiteMove(code, float(low), float(high)))
    order = {code: i for i, code in enumerate(SITE_CODES)}
    moves.sort(key=lambda m: (-abs(m.change), -abs(overall.get(m.site, 0.0)), order[m.site]))
    return tuple(moves)


def overall_site_change(visits: pd.DataFrame | None) -> dict[str, float]:
    """Each site's change from its first to its last scored visit (visits with an mRSS)."""
    scored = _scored(visits)
    out = {}
    for code in SITE_CODES:
        values = scored[code].dropna() if code in scored else pd.Series(dtype="float64")
        if len(values):
            out[code] = float(values.iloc[-1]) - float(values.iloc[0])
    return out


def treatment_changes(visits: pd.DataFrame | None, medications: pd.DataFrame | None,
                      events: pd.DataFrame | None) -> list[TreatmentChange]:
    """Every treatment change of one patient, in date order, with what followed (see the module doc)."""
    raw = [(*change, ()) for change in _medication_changes(medications)] + _injection_changes(events)
    raw.sort(key=lambda c: (c[0], CHANGE_KINDS.index(c[1]), c[2]))
    scored = _scored(visits)
    days = scored["visit_date"].to_numpy(dtype="datetime64[ns]")
    overall = overall_site_change(scored)
    changes = []
    for index, (day, kind, drug, label, what, sites) in enumerate(raw):
        when = np.datetime64(day, "ns")
        lookback = when - np.timedelta64(ANCHOR_LOOKBACK_DAYS, "D")
        before = np.flatnonzero((days >= lookback) & (days <= when))
        after = np.flatnonzero((days >= when + np.timedelta64(WINDOW_FROM_DAYS, "D"))
                               & (days <= when + np.timedelta64(WINDOW_TO_DAYS, "D")))
        first = scored.iloc[before[-1]] if len(before) else None
        last = scored.iloc[after[-1]] if len(after) else None
        end = pd.Timestamp(last["visit_date"]) if last is not None else day + pd.Timedelta(days=WINDOW_TO_DAYS)
        others = tuple(f"{other[4]} on {other[0]:%Y-%m-%d}" for position, other in enumerate(raw)
                       if position != index and day <= other[0] <= end)
        changes.append(TreatmentChange(
            date=day.date(), kind=kind, drug=drug, label=label, what=what, sites=tuple(sites),
            before_date=_day(first["visit_date"]) if first is not None else None,
            before_mrss=float(first["mrss"]) if first is not None else None,
            after_date=_day(last["visit_date"]) if last is not None else None,
            after_mrss=float(last["mrss"]) if last is not None else None,
            moved=_moves(first, last, overall) if first is not None and last is not None else (),
            also_in_window=others if last is not None else (),
        ))
    return changes


def sites_that_moved_most(changes: Sequence[TreatmentChange], visits: pd.DataFrame | None, *,
                          limit: int = 6) -> list[str]:
    """The sites to show first, at most ``limit``, most telling first.

    Taken in turn from each change (a left/right pair at a time, the pair that moved most after that change
    first), so that each change that moved the skin is represented — on the NSF story, the thighs after
    imatinib and the hands and fingers after the injections; then the sites that moved most from the first to
    the last visit. A patient whose sites never moved gets none (the caller then chooses its own default).
    """
    overall = overall_site_change(visits)
    queues = []
    for change in changes:
        pairs: list[list[str]] = []
        for move in change.moved:
            label = SITES_BY_CODE[move.site].label
            group = next((p for p in pairs if SITES_BY_CODE[p[0]].label == label), None)
            if group is None:
                pairs.append([move.site])
            else:
                group.append(move.site)
        queues.append(pairs)
    chosen: list[str] = []

    def take(codes: list[str]) -> None:
        for code in codes:
            if code not in chosen and len(chosen) < limit:
                chosen.append(code)

    while any(queues) and len(chosen) < limit:
        for pairs in queues:
            while pairs:
                pair = pairs.pop(0)
                if not set(pair) <= set(chosen):
                    take(pair)
                    break
    order = {code: i for i, code in enumerate(SITE_CODES)}
    rest = sorted((c for c, v in overall.items() if abs(v) >= SITE_MOVE), key=lambda c: (-abs(overall[c]), order[c]))
    take(rest)
    return chosen
