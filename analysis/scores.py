"""Rater totals and visit scores (CLINICAL.md, Definitions: "Rater total", "Visit mRSS").

A rater total is the sum of all 17 sites when all are scored, the recorded total of a total-only
assessment, and none when sites are missing. The visit mRSS is the mean of the rater totals of that
visit; site columns of a visit are the mean, across the assessments that scored the site, of its score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.frames import VISIT_COLUMNS
from models.catalog import SITE_CODES


def _is_scored(value) -> bool:
    if value is None or value is pd.NA:
        return False
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def scored_sites(sites: Mapping[str, int | float | None]) -> list[str]:
    """The site codes (catalogue order) that carry a score in `sites`; unknown keys are ignored."""
    return [code for code in SITE_CODES if _is_scored(sites.get(code))]


def rater_total(
    sites: Mapping[str, int | float | None], recorded_total: float | None = None
) -> float | None:
    """The rater total of one assessment (CLINICAL.md, Definitions, "Rater total").

    - all 17 sites scored: their sum (0-51), whatever `recorded_total` says;
    - no site scored (a total-only assessment): `recorded_total` (None when that is blank too);
    - some sites missing: None — the assessment is incomplete and has no total.

    `sites` maps site codes to scores; a missing key, None or NaN is "not scored". Consistency of a
    recorded total with the sites and the 0-3 / 0-51 ranges are checked by the model layer, not here.
    Used by the write path to store the total.
    """
    scored = scored_sites(sites)
    if len(scored) == len(SITE_CODES):
        return float(sum(float(sites[code]) for code in SITE_CODES))
    if not scored:
        return float(recorded_total) if _is_scored(recorded_total) else None
    return None


def is_incomplete(sites: Mapping[str, int | float | None]) -> bool:
    """True when some but not all 17 sites are scored: such an assessment has no rater total.

    An assessment with no site scored is a total-only one, not incomplete (CLINICAL.md, "Historical
    totals"); whether it carries a total is checked by the model layer.
    """
    n = len(scored_sites(sites))
    return 0 < n < len(SITE_CODES)


def visit_scores(assessments: pd.DataFrame) -> pd.DataFrame:
    """One row per patient and visit date with at least one rater total (VISIT_COLUMNS).

    `assessments` has the ASSESSMENT_COLUMNS (a stored `total` per assessment, NaN when incomplete).
    - `n_raters`: the number of assessments of that visit with a total;
    - `mrss`: the mean of those totals (CLINICAL.md, "Visit mRSS"): 24 and 27 give 25.5;
    - each site: the mean score over all assessments of that visit that scored the site, incomplete
      ones included; NaN where no assessment scored it (e.g. a total-only visit).
    A visit date with only incomplete assessments has no mRSS and no row. Sorted by patient_id, date.
    """
    out = site_visit_scores(assessments)
    return out[out["n_raters"] > 0].reset_index(drop=True)


def site_visit_scores(assessments: pd.DataFrame) -> pd.DataFrame:
    """The site scores of every visit date with a site scored or a total (VISIT_COLUMNS), for the site heat map and
    the per-site trajectories: `visit_scores`' rows, and also the dates whose assessments are all incomplete (some
    but not all 17 sites scored). Those have n_raters 0 and no mRSS (CLINICAL.md: no rater total), but their
    scored sites are observations of the skin like any other: each site is the mean over the assessments that
    scored it, NaN where none did. Sorted by patient_id, date.
    """
    sites = list(SITE_CODES)
    if assessments.empty:
        return _empty_visits()
    frame = assessments[["patient_id", "visit_date", *sites, "total"]].copy()
    for column in [*sites, "total"]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    grouped = frame.groupby(["patient_id", "visit_date"], sort=True, observed=True, dropna=True)
    out = grouped[sites].mean()
    out.insert(0, "mrss", grouped["total"].mean())
    out.insert(0, "n_raters", grouped["total"].count().astype("int64"))
    out = out[out["mrss"].notna() | out[sites].notna().any(axis=1)].reset_index()
    return out[VISIT_COLUMNS].reset_index(drop=True)


def _empty_visits() -> pd.DataFrame:
    data = {
        "patient_id": pd.Series([], dtype="str"),
        "visit_date": pd.Series([], dtype="datetime64[us]"),
        "n_raters": pd.Series([], dtype="int64"),
        "mrss": pd.Series([], dtype="float64"),
    }
    data.update({code: pd.Series([], dtype="float64") for code in SITE_CODES})
    return pd.DataFrame(data)[VISIT_COLUMNS]


def assessment_totals(assessments: pd.DataFrame) -> pd.Series:
    """The rater total of each assessment row, recomputed from its sites and `total` (aligned to rows).

    Same rule as `rater_total`, vectorised: the sum when all 17 sites are scored, the given total when
    no site is, NaN otherwise. Useful to check stored totals or to build frames from raw rows.
    """
    site_values = assessments[list(SITE_CODES)].apply(pd.to_numeric, errors="coerce").astype("float64")
    n_scored = site_values.notna().sum(axis=1)
    recorded = pd.to_numeric(assessments["total"], errors="coerce").astype("float64")
    total = np.where(
        n_scored == len(SITE_CODES),
        site_values.sum(axis=1),
        np.where(n_scored == 0, recorded, np.nan),
    )
    return pd.Series(total, index=assessments.index, name="total", dtype="float64")
