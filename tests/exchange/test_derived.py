"""Derived files: the shared example's expected files byte for byte, and a hand-computed bundle covering
two raters (half points), total-only rows, an incomplete assessment, a baseline of 0, a patient without
scores, an anchored baseline on the start day, a visit 1 day outside a window and an equidistant tie."""

from __future__ import annotations

import csv

import pytest

from exchange import export_bundle, import_bundle
from models.catalog import SITE_CODES
from tests.exchange.conftest import ENDPOINTS_EXAMPLE, EXAMPLE, EXPECTED, write_bundle


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_value(rows):
    """Rows with numbers compared by value (-14, -14.0 and -14.00 are the same, as tests/data says)."""
    def cell(text):
        try:
            return float(text)
        except ValueError:
            return text
    return [{k: cell(v) for k, v in row.items()} for row in rows]


# The 95% CI of the example's windows by hand: n = 2 changes -4 and -6 (mean -5, SD sqrt 2) at month 3 gives
# -5 -+ t(0.975, 1) x sqrt 2 / sqrt 2 = -5 -+ 12.7062; every other window has n < 2, so a blank CI.
EXAMPLE_CI = {"": {"3": ("-17.71", "7.71")}, "-anchored-imatinib": {}}


@pytest.mark.parametrize(("anchor", "suffix"), [(None, ""), ("imatinib", "-anchored-imatinib")])
def test_example_bundle_gives_the_expected_files(sqlite_engine, tmp_path, anchor, suffix):
    import_bundle(sqlite_engine, EXAMPLE, actor="t")
    export_bundle(sqlite_engine, tmp_path / "out", anchor_drug=anchor, actor="t")
    names = ["summary"] + ([] if anchor else ["visits"])
    for name in names:
        assert (tmp_path / "out" / f"{name}.csv").read_bytes() == (EXPECTED / f"{name}{suffix}.csv").read_bytes()
    # windows.csv: the example's columns, and the CI columns EXCHANGE.md adds after median_change
    windows = read(tmp_path / "out" / "windows.csv")
    assert list(windows[0]) == ["month", "n", "mean_change", "sd_change", "median_change", "ci_low", "ci_high",
                                "n_improved", "n_progressed"]
    expected = read(EXPECTED / f"windows{suffix}.csv")
    assert by_value([{k: r[k] for k in expected[0]} for r in windows]) == by_value(expected)
    assert {r["month"]: (r["ci_low"], r["ci_high"]) for r in windows if r["ci_low"]} == EXAMPLE_CI[suffix]
    assert all(r["ci_high"] == "" for r in windows if not r["ci_low"])


@pytest.fixture
def endpoints_bundle(tmp_path):
    """The shared endpoints example without its tendon friction rub rows, which response.csv does not use: their
    catalogue unit ("1 present / 0 absent") does not fit measurement.unit (16 characters) on PostgreSQL yet."""
    files = {p.name: p.read_text(encoding="utf-8") for p in ENDPOINTS_EXAMPLE.iterdir()}
    files["measurements.csv"] = "".join(line for line in files["measurements.csv"].splitlines(keepends=True)
                                        if ",tendon_friction_rubs," not in line)
    return write_bundle(tmp_path / "endpoints", files)


@pytest.mark.parametrize(("anchor", "suffix"), [(None, ""), ("imatinib", "-anchored-imatinib")])
def test_endpoints_example_gives_the_expected_response(engine, endpoints_bundle, tmp_path, anchor, suffix):
    import_bundle(engine, endpoints_bundle, actor="t")
    export_bundle(engine, tmp_path / "out", anchor_drug=anchor, actor="t")
    assert by_value(read(tmp_path / "out" / "response.csv")) == by_value(read(EXPECTED / f"response{suffix}.csv"))


def test_endpoints_example_gives_the_expected_activity(sqlite_engine, tmp_path):
    import_bundle(sqlite_engine, ENDPOINTS_EXAMPLE, actor="t")
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    assert by_value(read(tmp_path / "out" / "activity.csv")) == by_value(read(EXPECTED / "activity.csv"))


def test_response_month_moves_the_follow_up(engine, endpoints_bundle, tmp_path):
    """--response-month 6, by hand: X03's visit of 2022-07-11 (day 182, mRSS (16 + 17) / 2) is its 6-month
    follow-up (183 +- 45), where no FVC, global or HAQ lies within 30 days; X01's visits (days 119 and 308) and
    X02's (day 371) miss that window."""
    import_bundle(engine, endpoints_bundle, actor="t")
    export_bundle(engine, tmp_path / "out", response_month=6, actor="t")
    rows = {r["patient_id"]: r for r in read(tmp_path / "out" / "response.csv")}
    x03 = rows["X03"]
    assert (x03["baseline_date"], x03["followup_date"], x03["d_mrss"], x03["criss_probability"], x03["missing"]) == (
        "2022-01-10", "2022-07-11", "-4.5", "", "fvc_pct;patient_global;physician_global;haq_di")
    assert [(rows[p]["baseline_date"], rows[p]["followup_date"], rows[p]["missing"]) for p in ("X01", "X02")] == [
        ("2020-11-02", "", "followup"), ("2019-05-06", "", "followup")]
    assert rows["X02"]["step1_event"] == ""  # the organ event only counts up to a follow-up visit


def _scores(pid, day, rater="", total="", **sites):
    return ",".join([pid, day, rater, *(str(sites.get(c, "")) for c in SITE_CODES), str(total)])


HEADER = "patient_id,visit_date,rater," + ",".join(SITE_CODES) + ",total"
ALL_ONES_BUT_FOOT = {c: 1 for c in SITE_CODES if c != "foot_l"}
SCORES = "\n".join([
    HEADER,
    _scores("P1", "2020-01-01", "A", 20), _scores("P1", "2020-01-01", "B", 21),  # two raters: 20.5
    _scores("P1", "2020-04-01", "A", 15), _scores("P1", "2020-07-01", "A", 10),
    _scores("P2", "2020-01-01", "", 0),  # baseline 0
    _scores("P2", "2020-04-01", "", "", **{c: 0 for c in SITE_CODES} | {"hand_r": 3, "hand_l": 3}),
    _scores("P4", "2020-01-01", "C", "", **ALL_ONES_BUT_FOOT),  # incomplete: no total, not a visit
    _scores("P4", "2020-02-01", "C", 10), _scores("P4", "2020-06-17", "C", 12),  # day 137: 1 day outside
    _scores("P5", "2020-01-01", "", 30), _scores("P5", "2020-03-22", "", 28),  # days 81 and 101: a tie
    _scores("P5", "2020-04-11", "", 20),
    _scores("P6", "2019-12-10", "", 25), _scores("P6", "2020-03-01", "", 24),  # anchor on the start day
    _scores("P6", "2020-06-01", "", 18),
]) + "\n"
PATIENTS = "patient_id,diagnosis\nP1,dcSSc\nP2,NSF\nP3,lcSSc\nP4,SSc\nP5,dcSSc\nP6,morphea\n"
MEDICATIONS = "patient_id,drug,dose,dose_unit,frequency,start_date\nP6,imatinib,400,mg,daily,2020-03-01\n"


@pytest.fixture
def hand_bundle(sqlite_engine, tmp_path):
    folder = write_bundle(tmp_path / "hand", {"patients.csv": PATIENTS, "skin_scores.csv": SCORES,
                                              "medications.csv": MEDICATIONS})
    import_bundle(sqlite_engine, folder, actor="t")
    return sqlite_engine


def test_hand_computed_summary_and_windows(hand_bundle, tmp_path):
    export_bundle(hand_bundle, tmp_path / "out", months=(3, 6), actor="t")
    summary = {row["patient_id"]: row for row in read(tmp_path / "out" / "summary.csv")}
    pick = ("baseline_date", "baseline_mrss", "latest_date", "latest_mrss", "change", "change_pct", "n_visits",
            "improved", "progressed")
    expected = {
        "P1": ("2020-01-01", "20.5", "2020-07-01", "10", "-10.5", "-51.2", "3", "yes", "no"),
        "P2": ("2020-01-01", "0", "2020-04-01", "6", "6", "", "2", "no", "yes"),
        "P3": ("", "", "", "", "", "", "0", "", ""),
        "P4": ("2020-02-01", "10", "2020-06-17", "12", "2", "20", "2", "no", "no"),
        "P5": ("2020-01-01", "30", "2020-04-11", "20", "-10", "-33.3", "3", "yes", "no"),
        "P6": ("2019-12-10", "25", "2020-06-01", "18", "-7", "-28", "3", "yes", "no"),
    }
    assert {pid: tuple(row[c] for c in pick) for pid, row in summary.items()} == expected
    windows = read(tmp_path / "out" / "windows.csv")
    # CI = mean -+ t(0.975, n - 1) x SD / sqrt(n): t(0.975, 3) = 3.1824, t(0.975, 1) = 12.7062
    assert [tuple(r.values()) for r in windows] == [
        ("3", "4", "-0.63", "4.82", "-1.5", "-8.29", "7.04", "1", "1"),  # P1 -5.5, P2 +6, P5 -2 (tie: earlier), P6 -1
        ("6", "2", "-8.75", "2.47", "-8.75", "-30.99", "13.49", "2", "0"),  # P1 -10.5, P6 -7; P4's day 137 is 46 out
    ]
    values = read(tmp_path / "out" / "window_values.csv")  # the visits behind those figures, per patient
    picked = [(v["patient_id"], v["month"], v["visit_date"], v["study_day"], v["change"], v["improved"])
              for v in values]
    assert picked == [
        ("P1", "3", "2020-04-01", "91", "-5.5", "yes"), ("P1", "6", "2020-07-01", "182", "-10.5", "yes"),
        ("P2", "3", "2020-04-01", "91", "6", "no"), ("P5", "3", "2020-03-22", "81", "-2", "no"),
        ("P6", "3", "2020-03-01", "82", "-1", "no"), ("P6", "6", "2020-06-01", "174", "-7", "yes")]
    visits = read(tmp_path / "out" / "visits.csv")
    p1 = visits[0]
    assert (p1["patient_id"], p1["n_raters"], p1["mrss"], p1["face"]) == ("P1", "2", "20.5", "")
    assert [v["visit_date"] for v in visits if v["patient_id"] == "P4"] == ["2020-02-01", "2020-06-17"]
    p2 = [v for v in visits if v["patient_id"] == "P2"][1]
    assert (p2["hand_r"], p2["face"], p2["change_from_baseline"], p2["study_day"]) == ("3", "0", "6", "91")


def test_hand_computed_anchored(hand_bundle, tmp_path):
    export_bundle(hand_bundle, tmp_path / "out", months=(3,), anchor_drug="imatinib", actor="t")
    summary = {row["patient_id"]: row for row in read(tmp_path / "out" / "summary.csv")}
    p6 = summary["P6"]
    assert (p6["anchor_date"], p6["baseline_date"], p6["baseline_mrss"], p6["change"], p6["change_pct"],
            p6["improved"]) == ("2020-03-01", "2020-03-01", "24", "-6", "-25", "yes")
    p1 = summary["P1"]  # never took the drug: no baseline, latest kept
    assert (p1["anchor_date"], p1["baseline_date"], p1["change"], p1["latest_mrss"], p1["improved"]) == \
        ("", "", "", "10", "")
    assert [tuple(r.values()) for r in read(tmp_path / "out" / "windows.csv")] == [
        ("3", "1", "-6", "", "-6", "", "", "1", "0")]
    visits = [v for v in read(tmp_path / "out" / "visits.csv") if v["patient_id"] == "P6"]
    assert [(v["study_day"], v["on_treatment"]) for v in visits] == [
        ("-82", ""), ("0", "imatinib 400 mg daily"), ("92", "imatinib 400 mg daily")]


def test_empty_database_exports_headers_and_one_window_row_per_month(sqlite_engine, tmp_path):
    result = export_bundle(sqlite_engine, tmp_path / "empty", months=(3, 12), actor="t")
    assert result.patients == 0
    assert (tmp_path / "empty" / "patients.csv").read_bytes() == \
        b"patient_id,centre,diagnosis,sex,birth_year,diagnosis_date,name,mrn,notes\r\n"
    assert (tmp_path / "empty" / "windows.csv").read_text().splitlines()[1:] == ["3,0,,,,,,0,0", "12,0,,,,,,0,0"]
    dictionary = read(tmp_path / "empty" / "dictionary.csv")
    described = {(r["file"], r["column"]) for r in dictionary}
    for name in ("patients.csv", "skin_scores.csv", "events.csv", "visits.csv", "summary.csv", "windows.csv",
                 "window_values.csv", "response.csv", "activity.csv", "dictionary.csv"):
        header = (tmp_path / "empty" / name).read_text().splitlines()[0].split(",")
        assert {(name, c) for c in header} <= described
    text = (tmp_path / "empty" / "dictionary.csv").read_text()
    from models.catalog import DIAGNOSES, EVENT_KINDS, MEASURE_CODES
    for code in (*SITE_CODES, *MEASURE_CODES, *DIAGNOSES, *EVENT_KINDS):
        assert code in text


def test_patients_option_limits_every_file(hand_bundle, tmp_path):
    export_bundle(hand_bundle, tmp_path / "two", patients=["P2", "P5"], actor="t")
    for name in ("patients.csv", "skin_scores.csv", "visits.csv", "summary.csv", "response.csv", "activity.csv"):
        assert {r["patient_id"] for r in read(tmp_path / "two" / name)} == {"P2", "P5"}
    assert read(tmp_path / "two" / "medications.csv") == []
