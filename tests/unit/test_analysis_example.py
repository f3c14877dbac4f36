"""The shared example bundle (tests/data/example_bundle, a copy of shared/examples/bundle-small)
must give the derived files of tests/data/example_expected (a copy of shared/examples/expected).

Numbers compare by value (-14 == -14.0), text and dates exactly, blank == NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    baselines,
    change_from_baseline,
    first_drug_starts,
    format_summary_for_export,
    format_visits_for_export,
    format_windows_for_export,
    rater_total,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_export_frame,
    visit_scores,
)
from analysis.frames import ASSESSMENT_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS
from analysis.scores import is_incomplete
from models.catalog import SITE_CODES

DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLE = DATA / "example_bundle"
EXPECTED = DATA / "example_expected"
MONTHS = [3, 6, 12, 24]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _blank_to_nan(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan), errors="raise").astype("float64")


def load_patients() -> pd.DataFrame:
    raw = _read(BUNDLE / "patients.csv")
    out = pd.DataFrame({c: raw[c] if c in raw else "" for c in PATIENT_COLUMNS})
    out["birth_year"] = pd.array(_blank_to_nan(raw["birth_year"]), dtype="Int64")
    out["age_at_baseline"] = pd.array([pd.NA] * len(raw), dtype="Int64")
    out["diagnosis_date"] = pd.to_datetime(raw["diagnosis_date"].replace("", None))
    return out


def load_assessments() -> pd.DataFrame:
    raw = _read(BUNDLE / "skin_scores.csv")
    out = pd.DataFrame({"patient_id": raw["patient_id"], "visit_date": pd.to_datetime(raw["visit_date"])})
    out["rater"] = raw["rater"]
    for code in SITE_CODES:
        out[code] = _blank_to_nan(raw[code])
    recorded = _blank_to_nan(raw["total"])
    records = out[list(SITE_CODES)].to_dict("records")
    pairs = zip(records, recorded, strict=True)
    totals = [rater_total(sites, None if np.isnan(t) else t) for sites, t in pairs]
    out["total"] = pd.Series(totals, dtype="float64")
    out["incomplete"] = [is_incomplete(sites) for sites in records]
    return out[ASSESSMENT_COLUMNS]


def load_medications() -> pd.DataFrame:
    raw = _read(BUNDLE / "medications.csv")
    out = raw.copy()
    out["dose"] = _blank_to_nan(raw["dose"])
    out["start_date"] = pd.to_datetime(raw["start_date"])
    out["end_date"] = pd.to_datetime(raw["end_date"].replace("", None))
    return out[MEDICATION_COLUMNS]


def assert_matches_expected(actual: pd.DataFrame, name: str) -> None:
    """Compare a derived frame with an expected CSV: same columns and rows; values as described above."""
    expected = _read(EXPECTED / name)
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    for column in expected.columns:
        want = expected[column].tolist()
        got = actual[column].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(got):
            got_text = [("" if pd.isna(x) else x.strftime("%Y-%m-%d")) for x in got]
            assert got_text == want, column
        elif pd.api.types.is_numeric_dtype(got) and not pd.api.types.is_bool_dtype(got):
            got_num = got.to_numpy(dtype="float64", na_value=np.nan)
            want_num = _blank_to_nan(expected[column]).to_numpy()
            np.testing.assert_allclose(got_num, want_num, rtol=0, atol=1e-9, equal_nan=True, err_msg=column)
        else:
            got_text = ["" if pd.isna(x) else str(x) for x in got]
            assert got_text == want, column


@pytest.fixture(scope="module")
def frames():
    assessments = load_assessments()
    return {
        "patients": load_patients(),
        "assessments": assessments,
        "medications": load_medications(),
        "visits": visit_scores(assessments),
    }


def test_loaded_totals_follow_the_rater_total_rule(frames):
    a = frames["assessments"]
    # EX-01 2018-01-10: 1+2+2+2+2+2+2+3+3+2+2+1+1+2+2+1+1 = 31
    assert a.loc[0, "total"] == 31
    # EX-03 2019-05-05 scores 15 of 17 sites: incomplete, no total
    ex3 = a[a["patient_id"] == "EX-03"].reset_index(drop=True)
    assert bool(ex3.loc[0, "incomplete"]) and np.isnan(ex3.loc[0, "total"])
    assert ex3.loc[1, "total"] == 4 and not ex3.loc[1, "incomplete"]


def test_summary_plain(frames):
    summary = summarise_patients(frames["patients"], frames["visits"])
    assert_matches_expected(format_summary_for_export(summary), "summary.csv")


def test_summary_anchored_on_imatinib(frames):
    anchors = first_drug_starts(frames["medications"], "imatinib")
    summary = summarise_patients(frames["patients"], frames["visits"], anchors=anchors)
    assert_matches_expected(format_summary_for_export(summary), "summary-anchored-imatinib.csv")


def test_visits(frames):
    table = visit_export_frame(frames["visits"], baselines(frames["visits"]), frames["medications"])
    assert_matches_expected(format_visits_for_export(table), "visits.csv")


@pytest.mark.parametrize(
    ("anchored", "name"), [(False, "windows.csv"), (True, "windows-anchored-imatinib.csv")]
)
def test_windows(frames, anchored, name):
    anchors = first_drug_starts(frames["medications"], "imatinib") if anchored else None
    visits = change_from_baseline(frames["visits"], baselines(frames["visits"], anchors=anchors))
    windows = summarise_windows(select_window_visits(visits, MONTHS), MONTHS)
    assert_matches_expected(format_windows_for_export(windows), name)


def test_shared_copy_is_current():
    """When the shared examples sit beside the repo, the copies here must equal them."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "examples"
    if not shared.is_dir():
        pytest.skip("shared/examples is not beside the repository")
    for source, copy in (("bundle-small", BUNDLE), ("bundle-endpoints", DATA / "example_bundle_endpoints"),
                         ("expected", EXPECTED)):
        for path in sorted((shared / source).glob("*.csv")):
            assert (copy / path.name).read_bytes() == path.read_bytes(), path.name
