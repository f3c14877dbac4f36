"""The chart header of one patient (PRODUCT.md screen 5): diagnosis, disease duration, baseline and latest
mRSS, change, the improved / progressed / stable category and the rater-change warning. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from analysis.baseline import baselines, change_and_percent
from analysis.response import response_category
from analysis.scores import visit_scores
from models.catalog import DIAGNOSES, NOISE_BETWEEN_RATERS


@dataclass(frozen=True)
class PatientHeader:
    diagnosis: str
    diagnosis_label: str
    disease_years: float | None  # years since the diagnosis date, None when the date is unknown
    n_visits: int
    baseline_date: date | None = None
    baseline_mrss: float | None = None
    latest_date: date | None = None
    latest_mrss: float | None = None
    change: float | None = None
    change_pct: float | None = None  # None when the baseline is 0 (or missing)
    category: str | None = None  # "improved", "progressed", "stable"; None without two scored visits
    raters: list[str] = field(default_factory=list)

    @property
    def rater_warning(self) -> str | None:
        """Raters differ across visits: differences of up to ~5 points may be noise between raters."""
        if len(self.raters) < 2:
            return None
        return (f"Scored by {len(self.raters)} raters ({', '.join(self.raters)}): differences of up to "
                f"{NOISE_BETWEEN_RATERS:g} points between raters are measurement noise.")


def _day(value) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def patient_header(patient: dict, assessments: pd.DataFrame, *, today: date | None = None) -> PatientHeader:
    """`patient` as from db.patients.get_patient; `assessments` one patient's ASSESSMENT_COLUMNS rows."""
    today = today or date.today()
    diagnosis = patient.get("diagnosis") or ""
    diagnosed = _day(patient.get("diagnosis_date"))
    years = round((today - diagnosed).days / 365.25, 1) if diagnosed else None
    visits = visit_scores(assessments) if len(assessments) else visit_scores(assessments.iloc[0:0])
    scored = assessments[assessments["total"].notna()] if len(assessments) else assessments
    raters = sorted({str(r) for r in scored.get("rater", pd.Series(dtype=str)) if str(r).strip()})
    header = {"diagnosis": diagnosis, "diagnosis_label": DIAGNOSES.get(diagnosis, diagnosis),
              "disease_years": years, "n_visits": int(len(visits)), "raters": raters}
    if visits.empty:
        return PatientHeader(**header)
    base = baselines(visits).iloc[0]
    latest = visits.sort_values("visit_date").iloc[-1]
    baseline_mrss, latest_mrss = float(base["baseline_mrss"]), float(latest["mrss"])
    change, change_pct = change_and_percent(baseline_mrss, latest_mrss)
    several = len(visits) > 1
    return PatientHeader(
        **header,
        baseline_date=_day(base["baseline_date"]), baseline_mrss=baseline_mrss,
        latest_date=_day(latest["visit_date"]), latest_mrss=latest_mrss,
        change=change if several else None,
        change_pct=None if not several or math.isnan(change_pct) else change_pct,
        category=response_category(baseline_mrss, latest_mrss) if several else None,
    )
