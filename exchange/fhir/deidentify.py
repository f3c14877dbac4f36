"""De-identified FHIR output with the rules of EXCHANGE.md ("De-identified export"), applied to the frames
before they are mapped: pseudonymous ids, every date of a patient shifted by the patient's offset, name, MRN,
notes, descriptions and medication reasons blanked (so never mapped), raters renumbered `rater-1`, `rater-2`,
... consistently within one export, and the birth year replaced by the age at baseline (90 for 90 or more).

The keyed pseudonym, the date offset and the age come from `exchange.deid`, the one place of those rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from analysis import baselines, visit_scores
from exchange import deid
from exchange.fhir.mapping import Frames
from models.catalog import AGE_CAP

# The date columns of each frame (the bundle files' dates of EXCHANGE.md).
DATE_COLUMNS = {
    "patients": ("diagnosis_date",), "assessments": ("visit_date",), "measurements": ("date",),
    "medications": ("start_date", "end_date"), "events": ("date", "end_date"),
}
# Rows in the order of their de-identified keys, so that no order of the original values shows through.
SORT_KEYS = {
    "patients": ["patient_id"], "assessments": ["patient_id", "visit_date", "rater"],
    "measurements": ["patient_id", "date", "measure", "side", "rater"],
    "medications": ["patient_id", "drug", "start_date"], "events": ["patient_id", "date", "kind"],
}
TEXT_REMOVED = {"patients": ("name", "mrn", "notes"), "events": ("description",), "medications": ("reason",)}


@dataclass
class Raters:
    """`rater-1`, `rater-2`, ... in order of first appearance within one export (patients in export order, each
    patient's assessments and measurements by date), so the numbers do not depend on how the export is chunked;
    blank stays blank."""

    names: dict[str, str] = field(default_factory=dict)

    def register(self, frames: Frames, pseudonyms: dict[str, str]) -> None:
        seen = pd.concat([
            pd.DataFrame({"patient": frames.assessments["patient_id"].map(pseudonyms),
                          "day": frames.assessments["visit_date"], "table": 0, "rater": frames.assessments["rater"]}),
            pd.DataFrame({"patient": frames.measurements["patient_id"].map(pseudonyms),
                          "day": frames.measurements["date"], "table": 1, "rater": frames.measurements["rater"]}),
        ], ignore_index=True).sort_values(["patient", "day", "table"], kind="stable")
        for rater in pd.unique(seen["rater"]):
            if rater and rater not in self.names:
                self.names[rater] = f"rater-{len(self.names) + 1}"

    def rename(self, values: pd.Series) -> pd.Series:
        return values.map(lambda r: self.names[r] if r else "")


def _latest_dates(frames: Frames) -> dict[str, date]:
    """Each patient's latest real date, which decides whether a forward shift would leave the past."""
    latest: dict[str, pd.Timestamp] = {}
    for name, columns in DATE_COLUMNS.items():
        frame = getattr(frames, name)
        for column in columns:
            if len(frame) and column in frame:
                for pid, day in frame.groupby("patient_id")[column].max().items():
                    if not pd.isna(day) and (pid not in latest or day > latest[pid]):
                        latest[pid] = day
    return {pid: day.date() for pid, day in latest.items()}


def _ages(frames: Frames) -> pd.Series:
    """Age at the (unanchored) baseline, capped; a stored age is kept when the birth year is unknown."""
    base = baselines(visit_scores(frames.assessments)).set_index("patient_id")["baseline_date"]
    ages = []
    for pid, birth, stored in zip(frames.patients["patient_id"], frames.patients["birth_year"],
                                  frames.patients["age_at_baseline"], strict=True):
        if pd.isna(birth):
            ages.append(None if pd.isna(stored) else min(int(stored), AGE_CAP))
            continue
        day = base.get(pid)
        year = None if day is None or pd.isna(day) else int(day.year)
        ages.append(deid.age_at_baseline(year, int(birth)))
    return pd.Series(pd.array(ages, dtype="Int64"), index=frames.patients.index)


def deidentify_frames(frames: Frames, *, secret: bytes, raters: Raters, today: date | None = None) -> Frames:
    """The frames of whole patients (every row of each patient), de-identified (see the module docstring)."""
    offsets = {pid: deid.date_offset(secret, pid, latest, today) for pid, latest in _latest_dates(frames).items()}
    names = {pid: deid.pseudonym(secret, pid) for pid in frames.patients["patient_id"]}
    raters.register(frames, names)
    ages = _ages(frames)
    out = {}
    for name in DATE_COLUMNS:
        frame = getattr(frames, name).copy()
        if name == "patients":
            frame["age_at_baseline"] = ages
            frame["birth_year"] = pd.array([None] * len(frame), dtype="Int64")
        shift = pd.to_timedelta(frame["patient_id"].map(offsets).astype("float64"), unit="D")
        for column in DATE_COLUMNS[name]:
            frame[column] = pd.to_datetime(frame[column]) + shift
        for column in TEXT_REMOVED.get(name, ()):
            if column in frame:
                frame[column] = ""
        if name in ("assessments", "measurements"):
            frame["rater"] = raters.rename(frame["rater"])
        frame["patient_id"] = frame["patient_id"].map(names)
        out[name] = frame.sort_values(SORT_KEYS[name], kind="stable")
    return Frames(**out)
