"""Cohort reads on SQLite and PostgreSQL: a hand-computed cohort through the write paths, every filter,
the per-site and data-quality panels against the plain reads, and the export's windows.csv."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

from analysis import (
    format_windows_for_export,
    implausible_measurements,
    incomplete_assessments,
    rater_changes,
    round_half_away,
    site_jumps,
    visit_scores,
)
from analysis.cohort import site_changes
from db.cohort import CohortFilter, cohort_choices, cohort_quality, cohort_site_changes, cohort_summary
from db.engine import write_session
from db.measures import load_measurements, record_measurement
from db.patients import create_patient, delete_patient
from db.treatments import start_medication
from db.visits import load_assessments, record_assessment
from demo import generate_registry, load_registry
from models.errors import InvalidValue
from tests import factories

T_975_2 = 4.302652729749464


def add(engine, *, patients=(), scores=(), medications=()):
    with write_session(engine) as session:
        for row in patients:
            create_patient(session=session, data=factories.patient(**row), actor="test")
        for row in scores:
            record_assessment(session=session, data=row, actor="test")
        for row in medications:
            start_medication(session=session, data=factories.medication(**row), actor="test")


def one_centre(frame: pd.DataFrame) -> pd.DataFrame:
    """A data-quality table without its centre column, in the plain reads' order (patient, then as listed)."""
    assert frame.columns[0] == "centre" and set(frame["centre"]) <= {"MAIN", "LON", "LYO", "GRZ"}
    plain = frame.drop(columns="centre")
    return plain.sort_values("patient_id", kind="stable").reset_index(drop=True)


def same_quality(quality, assessments: pd.DataFrame) -> None:
    """The cohort's assessment checks equal the plain checks of these assessments."""
    for got, expected in ((quality.incomplete, incomplete_assessments(assessments)),
                          (quality.rater_changes, rater_changes(assessments)),
                          (quality.site_jumps, site_jumps(assessments))):
        pd.testing.assert_frame_equal(one_centre(got), expected, check_dtype=False)


def total(pid, day, value, rater="dr a"):
    return {"patient_id": pid, "visit_date": day, "rater": rater, "total": value}


@pytest.fixture
def small(engine):
    """A, B on imatinib (200 / 400 mg), C without a drug (a tie at 3 months), D deleted, E without visits."""
    add(engine,
        patients=[{"patient_id": "A"}, {"patient_id": "B"}, {"patient_id": "C", "diagnosis": "lcSSc"},
                  {"patient_id": "D", "diagnosis": "NSF"}, {"patient_id": "E", "diagnosis": "morphea"}],
        scores=[total("A", "2020-01-10", 20), total("A", "2020-04-10", 14), total("A", "2020-08-16", 12),
                total("B", "2020-01-01", 30), total("B", "2020-04-01", 27),
                total("C", "2020-01-01", 10), total("C", "2020-03-22", 11), total("C", "2020-04-11", 4),
                total("D", "2020-01-01", 40), total("D", "2020-04-01", 10)],
        medications=[{"patient_id": "A", "start_date": "2020-01-20"},
                     {"patient_id": "B", "dose": 400, "start_date": "2020-01-05"},
                     {"patient_id": "D", "start_date": "2020-01-02"}])
    with write_session(engine) as session:
        delete_patient(session=session, expected_version=1, patient_id="D", actor="test", reason="entered twice")
    return engine


def test_hand_computed_cohort(small):
    result = cohort_summary(small)
    assert result.patient_ids == ["A", "B", "C", "E"]
    assert (result.n, result.n_with_baseline) == (4, 3)
    table = result.table.set_index("month")
    assert table.loc[0, "mean"] == 20.0 and table.loc[0, "sd"] == 10.0  # baselines 20, 30, 10

    three = table.loc[3]  # A −6 (improved), B −3, C +1 (day 81 and day 101 tie: the earlier, 11)
    sd = math.sqrt(((-6 + 8 / 3) ** 2 + (-3 + 8 / 3) ** 2 + (1 + 8 / 3) ** 2) / 2)
    assert three["n"] == 3
    assert three["mean"] == pytest.approx(-8 / 3)
    assert three["sd"] == pytest.approx(sd)
    assert three["median"] == -3.0
    assert (three["ci_low"], three["ci_high"]) == pytest.approx((-8 / 3 - T_975_2 * sd / math.sqrt(3),
                                                                  -8 / 3 + T_975_2 * sd / math.sqrt(3)))
    assert (three["n_improved"], three["n_progressed"]) == (1, 0)
    c = result.window_visits.query("patient_id == 'C' and month == 3").iloc[0]
    assert c["visit_date"] == pd.Timestamp("2020-03-22") and c["change"] == 1.0

    six = table.loc[6]  # A at day 219 (window 138–228): −8 from 20, improved
    assert (six["n"], six["mean"], six["n_improved"]) == (1, -8.0, 1)
    assert pd.isna(six["sd"]) and pd.isna(six["ci_low"])
    assert table.loc[12, "n"] == 0 and table.loc[24, "n"] == 0
    assert result.trajectory["patient_id"].unique().tolist() == ["A", "B", "C"]
    assert result.trajectory.query("patient_id == 'A'")["day"].tolist() == [0, 91, 219]


@pytest.mark.parametrize(("cohort", "expected"), [
    (CohortFilter(diagnoses=("dcSSc",)), ["A", "B"]),
    (CohortFilter(diagnoses=("lcSSc", "morphea")), ["C", "E"]),
    (CohortFilter(drug="imatinib"), ["A", "B"]),
    (CohortFilter(drug="imatinib", dose=200, dose_unit="mg"), ["A"]),
    (CohortFilter(drug="imatinib", dose=400), ["B"]),
    (CohortFilter(drug="methotrexate"), []),
    (CohortFilter(visits_from=date(2020, 4, 5)), ["A", "C"]),
    (CohortFilter(visits_to=date(2020, 1, 5)), ["B", "C"]),
    (CohortFilter(visits_from=date(2020, 4, 1), visits_to=date(2020, 4, 1)), ["B"]),
    (CohortFilter(min_follow_up_months=6), ["A"]),  # 183 days: A 219; B and C 91 and 101
    (CohortFilter(min_follow_up_months=3), ["A", "B", "C"]),  # 91 days
    (CohortFilter(diagnoses=("dcSSc",), drug="imatinib", min_follow_up_months=6), ["A"]),
])
def test_filters(small, cohort, expected):
    result = cohort_summary(small, cohort)
    assert result.patient_ids == expected
    assert result.table.loc[0, "n"] == result.n_with_baseline


def test_anchored_on_the_drug(small):
    result = cohort_summary(small, CohortFilter(anchor_drug="imatinib"))
    assert result.patient_ids == ["A", "B", "C", "E"]  # the anchor chooses day 0, not who is in
    summary = result.summary.set_index("patient_id")
    assert summary.loc["A", "anchor_date"] == pd.Timestamp("2020-01-20")
    assert summary.loc["A", "baseline_date"] == pd.Timestamp("2020-01-10")
    assert summary.loc["B", "baseline_date"] == pd.Timestamp("2020-01-01")
    assert pd.isna(summary.loc["C", "baseline_mrss"])
    assert result.n_with_baseline == 2
    assert result.trajectory.query("patient_id == 'A'")["day"].tolist() == [-10, 81, 209]
    assert result.trajectory.query("patient_id == 'B'")["day"].tolist() == [-4, 87]


def test_patients_narrow_the_cohort(small):
    assert cohort_summary(small, patients=["B", "C", "D"]).patient_ids == ["B", "C"]
    assert cohort_summary(small, patients=[]).n == 0


def test_empty_database(engine):
    result = cohort_summary(engine)
    assert result.n == 0
    assert result.table["n"].tolist() == [0, 0, 0, 0, 0]
    assert result.trajectory.empty and result.mean.empty
    assert cohort_quality(engine, result).counts() == dict.fromkeys(
        ("incomplete", "rater_changes", "site_jumps", "missed_windows", "implausible"), 0)
    assert cohort_site_changes(engine, result, 12)["n"].tolist() == [0] * 17
    assert cohort_choices(engine) == {"diagnoses": [], "drugs": {}, "first_visit": None, "last_visit": None,
                                      "centres": {"MAIN": "Main centre"}}


@pytest.mark.parametrize(("cohort", "field"), [
    (CohortFilter(diagnoses=("SCC",)), "diagnoses"),
    (CohortFilter(dose=200), "drug"),
    (CohortFilter(drug="imatinib", dose=-1), "dose"),
    (CohortFilter(visits_from=date(2021, 1, 1), visits_to=date(2020, 1, 1)), "visits_from"),
    (CohortFilter(min_follow_up_months=-1), "min_follow_up_months"),
])
def test_inconsistent_filters_name_the_field(engine, cohort, field):
    with pytest.raises(InvalidValue) as error:
        cohort_summary(engine, cohort)
    assert error.value.field == field


def test_months_must_be_positive(engine):
    with pytest.raises(InvalidValue) as error:
        cohort_summary(engine, months=(0,))
    assert error.value.field == "months"


# --- panels against the plain reads ---------------------------------------------------------------


@pytest.fixture
def demo(engine):
    load_registry(engine, generate_registry(12), actor="test")
    return engine


def test_quality_and_sites_equal_the_plain_reads(demo):
    result = cohort_summary(demo)
    quality = cohort_quality(demo, result)
    assessments = load_assessments(demo)
    same_quality(quality, assessments)
    pd.testing.assert_frame_equal(one_centre(quality.implausible), implausible_measurements(load_measurements(demo)),
                                  check_dtype=False)
    counts = quality.counts()
    assert counts["incomplete"] >= 1 and counts["rater_changes"] >= 1  # DEMO-0003's story
    for month in (6, 12):
        expected = site_changes(visit_scores(assessments), result.window_visits, month)
        pd.testing.assert_frame_equal(cohort_site_changes(demo, result, month), expected)


def test_quality_follows_the_cohort(demo):
    result = cohort_summary(demo, CohortFilter(diagnoses=("lcSSc",)))
    quality = cohort_quality(demo, result)
    for frame in (quality.incomplete, quality.rater_changes, quality.site_jumps, quality.missed_windows):
        assert set(frame["patient_id"]) <= set(result.patient_ids)
    assert "DEMO-0003" in set(quality.incomplete["patient_id"])


def test_choices(demo):
    choices = cohort_choices(demo)
    assert "imatinib" in choices["drugs"] and (200.0, "mg") in choices["drugs"]["imatinib"]
    assert choices["first_visit"] <= date(2019, 5, 5) <= choices["last_visit"]


# --- the same numbers as the export ---------------------------------------------------------------


def test_summary_table_equals_windows_csv(demo, tmp_path):
    """One cohort, both paths: the screen's window rows are windows.csv of export_bundle (CSV folder) and of
    export_bytes (zip and XLSX download)."""
    import io
    import zipfile

    from exchange import export_bundle, export_bytes

    cohort = CohortFilter(drug="imatinib", anchor_drug="imatinib")
    result = cohort_summary(demo, cohort)
    assert result.n >= 2
    expected = format_windows_for_export(result.windows)

    export_bundle(demo, tmp_path / "bundle", fmt="csv", deidentify=True, anchor_drug="imatinib",
                  months=(3, 6, 12, 24), patients=result.patient_ids, actor="test")
    from_folder = pd.read_csv(tmp_path / "bundle" / "windows.csv")
    archive = zipfile.ZipFile(io.BytesIO(export_bytes(
        demo, fmt="zip", deidentify=True, anchor_drug="imatinib", months=(3, 6, 12, 24),
        patients=result.patient_ids, actor="test")))
    name = next(n for n in archive.namelist() if n.endswith("windows.csv"))
    from_zip = pd.read_csv(archive.open(name))
    workbook = export_bytes(demo, fmt="xlsx", deidentify=False, anchor_drug="imatinib", months=(3, 6, 12, 24),
                            patients=result.patient_ids, actor="test")
    from_xlsx = pd.read_excel(io.BytesIO(workbook), sheet_name="windows")
    for exported in (from_folder, from_zip, from_xlsx):
        pd.testing.assert_frame_equal(exported[list(expected.columns)], expected, check_dtype=False)
    assert_table_is_windows_csv(result.table, from_zip)


def assert_table_is_windows_csv(table: pd.DataFrame, windows_csv: pd.DataFrame) -> None:
    """The screen's summary table (unrounded) row by row against windows.csv (rounded to 2 decimals)."""
    rows = table.set_index("month").loc[windows_csv["month"].tolist()]
    for screen, exported in (("n", "n"), ("n_improved", "n_improved"), ("n_progressed", "n_progressed")):
        assert rows[screen].astype(int).tolist() == windows_csv[exported].astype(int).tolist(), screen
    for screen, exported in (("mean", "mean_change"), ("sd", "sd_change"), ("median", "median_change")):
        got = round_half_away(rows[screen], 2).tolist()
        want = windows_csv[exported].astype("float64").tolist()
        assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in want], screen


@pytest.mark.parametrize("cohort", [
    CohortFilter(),
    CohortFilter(diagnoses=("dcSSc", "lcSSc"), min_follow_up_months=24, visits_from=date(2019, 1, 1)),
    CohortFilter(drug="imatinib", dose=200, dose_unit="mg", anchor_drug="imatinib", min_follow_up_months=6),
], ids=["everyone", "visit-criteria", "dose-anchored"])
def test_every_kind_of_cohort_matches_its_windows_csv(demo, cohort):
    """The page exports the cohort's patient ids with its anchor: windows.csv then equals the summary table,
    also when visit criteria (which SQL alone cannot express) chose the patients."""
    import io
    import zipfile

    from exchange import export_bytes

    result = cohort_summary(demo, cohort)
    assert result.n >= 2 and result.table["n"].iloc[1:].sum() > 0
    archive = zipfile.ZipFile(io.BytesIO(export_bytes(
        demo, fmt="zip", deidentify=True, anchor_drug=cohort.anchor_drug, months=result.months,
        patients=result.patient_ids, actor="test")))
    assert_table_is_windows_csv(result.table, pd.read_csv(archive.open("windows.csv")))


def test_quality_with_visit_criteria_lists_the_members(demo):
    result = cohort_summary(demo, CohortFilter(min_follow_up_months=36))
    assert 1 <= result.n < 12
    quality = cohort_quality(demo, result)
    assessments = load_assessments(demo, result.patient_ids)
    same_quality(quality, assessments)
    for month in (12, 24):
        expected = site_changes(visit_scores(assessments), result.window_visits, month)
        pd.testing.assert_frame_equal(cohort_site_changes(demo, result, month), expected)


def test_implausible_measures_through_the_sql_prefilter(small):
    """Values the write path refuses today can be in the database from before a catalogue range was narrowed
    (or a code retired): the check reads them, only for the cohort's patients, each with its reason."""
    rows = [("A", "2020-01-10", "fvc_pct", "", 80.0), ("A", "2020-02-10", "fvc_pct", "", 90.0),
            ("A", "2020-03-10", "grip_strength", "R", 30.0), ("B", "2020-01-01", "oral_aperture", "", 40.0),
            ("C", "2020-01-01", "weight", "", 70.0), ("C", "2020-02-01", "haq_di", "", 1.0)]
    with write_session(small) as session:
        for pid, day, measure, side, value in rows:
            record_measurement(session=session, actor="test", data={
                "patient_id": pid, "date": day, "measure": measure, "side": side, "value": value})
    legacy = [("fvc_pct", "2020-02-10", 400.0), ("grip_strength", "2020-03-10", -1.0),
              ("oral_aperture", "2020-01-01", 81.0), ("haq_di", "2020-02-01", 3.0)]  # haq 3.0: the upper end
    with small.begin() as connection:
        for measure, day, value in legacy:
            connection.execute(text("UPDATE measurement SET value = :value WHERE measure = :measure AND date = :day"),
                               {"value": value, "measure": measure, "day": date.fromisoformat(day)})
        connection.execute(text("UPDATE measurement SET measure = 'shoe_size' WHERE measure = 'weight'"))

    everyone = cohort_quality(small, cohort_summary(small)).implausible
    assert everyone[["patient_id", "measure", "value", "reason"]].values.tolist() == [
        ["A", "fvc_pct", 400.0, "above plausible range"],
        ["A", "grip_strength", -1.0, "below plausible range"],
        ["B", "oral_aperture", 81.0, "above plausible range"],
        ["C", "shoe_size", 70.0, "unknown measure"],
    ]
    pd.testing.assert_frame_equal(one_centre(everyone), implausible_measurements(load_measurements(small)),
                                  check_dtype=False)
    only_b_c = cohort_quality(small, cohort_summary(small, CohortFilter(visits_to=date(2020, 1, 5)))).implausible
    assert only_b_c["patient_id"].tolist() == ["B", "C"]  # with visit criteria: the members' keys as a parameter
    dcssc = cohort_quality(small, cohort_summary(small, CohortFilter(diagnoses=("dcSSc",)))).implausible
    assert dcssc["patient_id"].tolist() == ["A", "A", "B"]  # SQL criteria only: the member subquery
