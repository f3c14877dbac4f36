"""The shared example bundles (tests/data/example_bundle and example_bundle_endpoints, copies of
shared/examples/bundle-small and bundle-endpoints) must give the derived files of
tests/data/example_expected (a copy of shared/examples/expected).

Numbers compare by value (-14 == -14.0), text and dates exactly, blank == NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    WINDOW_EXPORT_COLUMNS,
    activity_frame,
    baselines,
    change_from_baseline,
    first_drug_starts,
    format_activity_for_export,
    format_response_for_export,
    format_summary_for_export,
    format_visits_for_export,
    format_windows_for_export,
    rater_total,
    response_frame,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_export_frame,
    visit_scores,
)
from analysis.frames import (
    ASSESSMENT_COLUMNS,
    EVENT_COLUMNS,
    MEASUREMENT_COLUMNS,
    MEDICATION_COLUMNS,
    PATIENT_COLUMNS,
)
from analysis.scores import is_incomplete
from models.catalog import SITE_CODES

DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLE = DATA / "example_bundle"
ENDPOINTS_BUNDLE = DATA / "example_bundle_endpoints"
EXPECTED = DATA / "example_expected"
MONTHS = [3, 6, 12, 24]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _blank_to_nan(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan), errors="raise").astype("float64")


def _dates(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column.replace("", None)).astype("datetime64[us]")


def load_patients(bundle: Path = BUNDLE) -> pd.DataFrame:
    raw = _read(bundle / "patients.csv")
    out = pd.DataFrame({c: raw[c] if c in raw else "" for c in PATIENT_COLUMNS})
    out["birth_year"] = pd.array(_blank_to_nan(raw["birth_year"]), dtype="Int64")
    out["age_at_baseline"] = pd.array([pd.NA] * len(raw), dtype="Int64")
    out["diagnosis_date"] = _dates(raw["diagnosis_date"] if "diagnosis_date" in raw else pd.Series([""] * len(raw)))
    return out


def load_assessments(bundle: Path = BUNDLE) -> pd.DataFrame:
    raw = _read(bundle / "skin_scores.csv")
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


def load_medications(bundle: Path = BUNDLE) -> pd.DataFrame:
    raw = _read(bundle / "medications.csv")
    out = raw.copy()
    out["dose"] = _blank_to_nan(raw["dose"])
    out["start_date"] = pd.to_datetime(raw["start_date"])
    out["end_date"] = pd.to_datetime(raw["end_date"].replace("", None))
    return out[MEDICATION_COLUMNS]


def load_measurements(bundle: Path) -> pd.DataFrame:
    raw = _read(bundle / "measurements.csv")
    out = pd.DataFrame({c: raw[c] if c in raw else "" for c in MEASUREMENT_COLUMNS})
    out["date"] = _dates(raw["date"])
    out["value"] = _blank_to_nan(raw["value"])
    return out[MEASUREMENT_COLUMNS]


def load_events(bundle: Path) -> pd.DataFrame:
    raw = _read(bundle / "events.csv")
    out = pd.DataFrame({c: raw[c] if c in raw else "" for c in EVENT_COLUMNS})
    out["date"] = _dates(raw["date"])
    out["end_date"] = _dates(out["end_date"].astype("str"))
    out["dose"] = _blank_to_nan(out["dose"].astype("str"))
    out["grade"] = pd.array(_blank_to_nan(out["grade"].astype("str")), dtype="Int64")
    out["serious"] = pd.array(out["serious"].map({"yes": True, "no": False}), dtype="boolean")
    return out[EVENT_COLUMNS]


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


def test_windows_ci_columns(frames):
    """windows.csv's CI columns (EXCHANGE.md), which the example's windows.csv predates: month 3 has the
    changes −4 and −6, mean −5, SD √2; t(0.975, 1) = 12.7062 → −5 ± 12.7062 · √2 / √2 = (−17.71, 7.71)."""
    visits = change_from_baseline(frames["visits"], baselines(frames["visits"]))
    windows = format_windows_for_export(summarise_windows(select_window_visits(visits, MONTHS), MONTHS), with_ci=True)
    assert windows.columns.tolist() == WINDOW_EXPORT_COLUMNS
    assert windows.loc[0, ["ci_low", "ci_high"]].tolist() == [-17.71, 7.71]
    assert windows.loc[1:, ["ci_low", "ci_high"]].isna().all().all()  # n < 2 elsewhere
    expected = _read(EXPECTED / "windows.csv")
    assert_matches_expected(windows[list(expected.columns)], "windows.csv")


@pytest.fixture(scope="module")
def endpoint_frames():
    assessments = load_assessments(ENDPOINTS_BUNDLE)
    return {
        "patients": load_patients(ENDPOINTS_BUNDLE),
        "visits": visit_scores(assessments),
        "medications": load_medications(ENDPOINTS_BUNDLE),
        "measurements": load_measurements(ENDPOINTS_BUNDLE),
        "events": load_events(ENDPOINTS_BUNDLE),
    }


@pytest.mark.parametrize(("anchored", "name"), [(False, "response.csv"), (True, "response-anchored-imatinib.csv")])
def test_response(endpoint_frames, anchored, name):
    f = endpoint_frames
    anchors = first_drug_starts(f["medications"], "imatinib") if anchored else None
    response = response_frame(f["patients"], f["visits"], f["measurements"], f["events"], anchors=anchors, month=12)
    assert_matches_expected(format_response_for_export(response), name)


def test_activity(endpoint_frames):
    activity = activity_frame(endpoint_frames["visits"], endpoint_frames["measurements"])
    assert_matches_expected(format_activity_for_export(activity), "activity.csv")


def test_shared_copy_is_current():
    """When the shared examples sit beside the repo, the copies here must equal them."""
    beside = [p / "shared" / "examples" for p in Path(__file__).resolve().parents[2:]]
    shared = next((p for p in beside if p.is_dir()), beside[0])  # a worktree sits a level deeper
    if not shared.is_dir():
        pytest.skip("shared/examples is not beside the repository")
    for source, copy in (("bundle-small", BUNDLE), ("bundle-endpoints", DATA / "example_bundle_endpoints"),
                         ("expected", EXPECTED)):
        for path in sorted((shared / source).glob("*.csv")):
            assert (copy / path.name).read_bytes() == path.read_bytes(), path.name
