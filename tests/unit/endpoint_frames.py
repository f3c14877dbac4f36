"""Small frame builders for the trial-endpoint tests (shapes of analysis.frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.frames import EVENT_COLUMNS, MEASUREMENT_COLUMNS, VISIT_COLUMNS
from models.catalog import SITE_CODES

DAY0 = pd.Timestamp("2020-01-06")


def day(n: int) -> pd.Timestamp:
    """The date `n` days after DAY0 (study days of a plain baseline on DAY0)."""
    return DAY0 + pd.Timedelta(days=int(n))


def visits(*rows) -> pd.DataFrame:
    """VISIT_COLUMNS from (patient_id, day, mrss) tuples (days counted from DAY0)."""
    out = pd.DataFrame({
        "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
        "visit_date": pd.Series([day(r[1]) for r in rows], dtype="datetime64[us]"),
        "n_raters": pd.Series([1] * len(rows), dtype="int64"),
        "mrss": pd.Series([r[2] for r in rows], dtype="float64"),
    })
    for code in SITE_CODES:
        out[code] = np.nan
    return out.sort_values(["patient_id", "visit_date"], kind="stable").reset_index(drop=True)[VISIT_COLUMNS]


def measurements(*rows) -> pd.DataFrame:
    """MEASUREMENT_COLUMNS from (patient_id, day, measure, value) or (…, rater) tuples; unsided."""
    return pd.DataFrame({
        "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
        "date": pd.Series([day(r[1]) for r in rows], dtype="datetime64[us]"),
        "measure": pd.Series([r[2] for r in rows], dtype="str"),
        "side": pd.Series([""] * len(rows), dtype="str"),
        "value": pd.Series([r[3] for r in rows], dtype="float64"),
        "unit": pd.Series([""] * len(rows), dtype="str"),
        "rater": pd.Series([r[4] if len(r) > 4 else "" for r in rows], dtype="str"),
    })[MEASUREMENT_COLUMNS]


def events(*rows) -> pd.DataFrame:
    """EVENT_COLUMNS from (patient_id, day, kind) tuples."""
    n = len(rows)
    out = pd.DataFrame({c: pd.Series([""] * n, dtype="str") for c in EVENT_COLUMNS})
    out["patient_id"] = pd.Series([r[0] for r in rows], dtype="str")
    out["date"] = pd.Series([day(r[1]) for r in rows], dtype="datetime64[us]")
    out["kind"] = pd.Series([r[2] for r in rows], dtype="str")
    out["dose"] = pd.Series([np.nan] * n, dtype="float64")
    out["grade"] = pd.array([pd.NA] * n, dtype="Int64")
    out["serious"] = pd.array([pd.NA] * n, dtype="boolean")
    out["end_date"] = pd.Series([pd.NaT] * n, dtype="datetime64[us]")
    return out[EVENT_COLUMNS]


NO_EVENTS = events()


def criss_items(patient: str, at: int, *, fvc_pct=None, patient_global=None,
                physician_global=None, haq_di=None) -> list[tuple]:
    """Measurement rows of the four CRISS measures on one day (None = not recorded)."""
    values = {"fvc_pct": fvc_pct, "patient_global": patient_global, "physician_global": physician_global,
              "haq_di": haq_di}
    return [(patient, at, code, value) for code, value in values.items() if value is not None]
