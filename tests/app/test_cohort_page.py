"""The cohort screen in AppTest: empty database, a one-patient cohort, the demo registry with filters, the
summary table against the export's windows.csv, the data-quality counts against their drill-down tables,
the links to the patient chart, and a registry of three centres (centre filter, by-centre table, each centre's
data-quality queue, an account of some centres)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pandas as pd
import pytest

import ui.state
from db.centres import add_centre, centre_keys, scope_for_user, set_user_centres
from db.cohort import CohortFilter, cohort_summary
from db.engine import write_session
from db.patients import create_patient
from db.scope import scoped
from db.visits import record_assessment
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/cohort.py"
QUALITY = {  # drill-down name -> the metric's label
    "incomplete": "Incomplete assessments",
    "rater_changes": "Rater changes",
    "site_jumps": "Site jumps ≥ 2",
    "missed_windows": "Missed windows",
    "implausible": "Implausible measures",
}


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def texts(at) -> str:
    return " ".join(e.value for kind in ("info", "warning", "success", "error") for e in getattr(at, kind))


def chart(at, description: str) -> dict:
    """The spec of the chart holding a view called `description` (charts.cohort names its views)."""
    found = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if f'"{description}"' in c.proto.spec]
    assert len(found) == 1, f"{len(found)} charts with {description!r}"
    return found[0]


def chart_datasets(at, description: str) -> list[pd.DataFrame]:
    """The rows of the chart holding a view called `description`, one frame per data set (Streamlit sends a
    spec's datasets beside it, as Arrow)."""
    import pyarrow as pa

    (element,) = [c for c in at.get("vega_lite_chart") if f'"{description}"' in c.proto.spec]
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets]


def x_title(spec: dict) -> str:
    return next(layer["encoding"]["x"]["title"] for layer in spec["layer"]
                if "title" in layer.get("encoding", {}).get("x", {}))


def apply(at, **widgets):
    """Set the cohort form's widgets (key suffix -> value) and press Apply."""
    for name, value in widgets.items():
        key = f"cohort_{name}"
        if name in ("diagnoses", "centres"):
            at.multiselect(key=key).set_value(value)
        elif name in ("exposure", "anchor"):
            at.selectbox(key=key).set_value(value)
        elif name == "follow_up":
            at.number_input(key=key).set_value(value)
        else:
            at.date_input(key=key).set_value(value)
    at.button(key="cohort_apply").click().run()
    assert not at.exception, at.exception
    return at


def test_empty_database_tells_what_to_do(with_users):
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception
    assert "registry is empty" in texts(at)
    assert "Import" in texts(at)
    assert not at.get("vega_lite_chart") and not at.table and not at.metric


def test_one_patient_cohort(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, data=factories.patient(patient_id="ONE"), actor="test")
        record_assessment(session=session, data=factories.total_only(patient_id="ONE", visit_date="2020-01-01",
                                                                      total=30), actor="test")
        record_assessment(session=session, data=factories.total_only(patient_id="ONE", visit_date="2020-04-01",
                                                                      total=22), actor="test")
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception
    assert metric(at, "Patients in the cohort") == "1"
    assert metric(at, "Baseline mRSS, mean ± SD") == "30.0 ± –"
    table = at.table[0].value
    three = table.loc["Change at 3 months"]
    assert (three["n"], three["Mean (points)"], three["SD"]) == (1, "−8.0", "–")  # 22 − 30; no SD of one value
    assert three["95% CI of the mean"] == "–"
    assert three["Days from baseline"] == "46–136 (target 91)"
    assert three["Improved, n (%)"] == "1 (100%)"  # −8 points and −27 %
    assert table.loc["Change at 12 months", "n"] == 0 and table.loc["Change at 12 months", "Mean (points)"] == "–"
    spaghetti = chart(at, "patient_lines")
    assert x_title(spaghetti) == "Days since the baseline visit (first visit with an mRSS)"
    assert spaghetti["title"]["subtitle"][0].startswith("1 patient.")
    assert at.segmented_control(key="cohort_window").value == 3  # the only window with a visit
    assert "3 months" in chart(at, "change_bars")["title"]["text"]
    chart(at, "site_bars")


def test_patients_without_an_mrss_get_plain_messages(with_users):
    """Patients registered but never scored (or only incompletely): every panel says why it is empty."""
    with write_session(with_users) as session:
        create_patient(session=session, data=factories.patient(patient_id="NEW"), actor="test")
        create_patient(session=session, data=factories.patient(patient_id="HALF"), actor="test")
        record_assessment(session=session, data=factories.assessment(patient_id="HALF", face=None), actor="test")
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception, at.exception
    assert metric(at, "Patients in the cohort") == "2" and metric(at, "With a baseline mRSS") == "0"
    said = texts(at)
    assert "None of these patients has a baseline visit" in said
    assert "no trajectory to draw" in said and "no waterfall or per-site change" in said
    assert not at.get("vega_lite_chart")
    assert metric(at, "Incomplete assessments") == "1"  # HALF's assessment without the face
    assert at.dataframe(key="cohort_dq_table_incomplete").value["patient_id"].tolist() == ["HALF"]
    assert at.table[0].value["n"].tolist() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_demo_registry_and_filters_change_n(with_demo, role):
    at = signed_in_app(role, PAGE)
    assert not at.exception, at.exception
    assert metric(at, "Patients in the cohort") == "12"
    chart(at, "patient_lines"), chart(at, "change_bars"), chart(at, "site_bars")

    apply(at, diagnoses=["dcSSc"])
    dcssc = int(metric(at, "Patients in the cohort"))
    assert 1 <= dcssc < 12

    at.multiselect(key="cohort_diagnoses").unselect("dcSSc")
    apply(at, exposure="imatinib, any dose", anchor="First start of imatinib")
    on_imatinib = int(metric(at, "Patients in the cohort"))
    assert 2 <= on_imatinib < 12
    assert "first start of imatinib" in " ".join(c.value for c in at.caption)
    assert x_title(chart(at, "patient_lines")) == "Days since the first start of imatinib"

    apply(at, follow_up=600)
    assert "No patient matches this cohort" in texts(at)
    assert not at.get("vega_lite_chart")


def test_anchor_without_the_exposure_says_who_is_left_out(with_demo):
    at = apply(signed_in_app("coordinator", PAGE), anchor="First start of imatinib")
    n, with_baseline = int(metric(at, "Patients in the cohort")), int(metric(at, "With a baseline mRSS"))
    assert n == 12 and 1 <= with_baseline < n
    assert f"{n - with_baseline} of the {n} patients have no baseline" in texts(at)
    assert at.table[0].value.loc["Baseline mRSS", "n"] == with_baseline


def test_screen_table_equals_the_exports_windows_csv(with_demo):
    """The table a coordinator reads and windows.csv of the download, for the same cohort (both paths)."""
    from exchange import export_bytes

    at = apply(signed_in_app("coordinator", PAGE), exposure="imatinib, any dose", anchor="First start of imatinib",
               follow_up=12)
    shown = at.table[0].value
    ids = cohort_summary(with_demo, CohortFilter(drug="imatinib", anchor_drug="imatinib",
                                                 min_follow_up_months=12)).patient_ids
    assert len(ids) == int(metric(at, "Patients in the cohort")) >= 2
    archive = zipfile.ZipFile(io.BytesIO(export_bytes(with_demo, fmt="zip", deidentify=True, anchor_drug="imatinib",
                                                      patients=ids, actor="test")))
    windows = pd.read_csv(archive.open("windows.csv"))
    assert windows["n"].sum() > 0
    for row in windows.itertuples():
        line = shown.loc[f"Change at {row.month} months"]
        assert line["n"] == row.n
        assert line["Improved, n (%)"].split(" ")[0] == str(row.n_improved)
        assert line["Progressed, n (%)"].split(" ")[0] == str(row.n_progressed)
        for column, exported in (("Mean (points)", row.mean_change), ("SD", row.sd_change),
                                 ("Median", row.median_change)):
            if pd.isna(exported):
                assert line[column] == "–"
            else:  # the screen shows one decimal of the same unrounded number windows.csv shows with two
                assert float(line[column].replace("−", "-")) == pytest.approx(exported, abs=0.051)


def test_bad_date_range_names_the_field(with_demo):
    at = apply(signed_in_app("coordinator", PAGE), visits_from=date(2024, 1, 1), visits_to=date(2023, 1, 1))
    assert "visits from" in at.error[0].value
    assert not at.get("vega_lite_chart")


def test_quality_counts_match_their_tables(with_demo):
    at = signed_in_app("coordinator", PAGE)
    labels = [tab.label for tab in at.tabs]
    tables = {frame.key.removeprefix("cohort_dq_table_"): frame.value for frame in at.dataframe
              if frame.key and frame.key.startswith("cohort_dq_table_")}
    for name, label in QUALITY.items():
        count = int(metric(at, label).replace(",", ""))
        assert f"{label} ({count:,})" in labels
        assert len(tables.get(name, ())) == count, name
    assert int(metric(at, "Incomplete assessments")) >= 1 and int(metric(at, "Rater changes")) >= 1
    assert int(metric(at, "Missed windows")) >= 1
    # patients missing each window, said in the tab: their sum is the count of patient × window rows
    missed = tables["missed_windows"]
    caption = next(c.value for c in at.caption if c.value.startswith("Patients missing each window"))
    for month, rows in missed.groupby("month"):
        assert f"{month} months {len(rows):,}" in caption
    assert {"baseline_date", "window_start_date", "window_end_date", "last_visit_date"} <= set(missed.columns)


def test_drill_down_opens_the_patients_chart(with_demo):
    """Every drill-down shares this link; the browser journey follows the incomplete-assessments one."""
    name = "missed_windows"
    at = signed_in_app("coordinator", PAGE)
    listed = at.selectbox(key=f"cohort_dq_patient_{name}")
    assert listed.value.startswith("DEMO-")
    chosen = listed.options[-1]  # not the preselected first one
    listed.set_value(chosen).run()
    at.button(key=f"cohort_dq_open_{name}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Patient chart"
    assert at.session_state["patient_id"] == chosen
    assert at.selectbox(key="chart_patient").value == chosen


def test_filters_survive_a_visit_to_the_chart(with_demo):
    at = apply(signed_in_app("coordinator", PAGE), exposure="imatinib, any dose", anchor="First start of imatinib")
    on_imatinib = metric(at, "Patients in the cohort")
    at.segmented_control(key="cohort_window").set_value(24).run()
    at.button(key="cohort_dq_open_incomplete").click().run()
    assert at.title[0].value == "Patient chart"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert metric(at, "Patients in the cohort") == on_imatinib != "12"
    assert at.selectbox(key="cohort_exposure").value == "imatinib, any dose"
    assert at.selectbox(key="cohort_anchor").value == "First start of imatinib"


def test_window_choice_follows_the_cohort(with_users):
    with write_session(with_users) as session:
        for pid, diagnosis, visits in (("LONG", "dcSSc", (("2020-01-01", 30), ("2020-04-01", 24), ("2022-01-01", 18))),
                                       ("SHORT", "lcSSc", (("2020-01-01", 10), ("2020-04-01", 12)))):
            create_patient(session=session, data=factories.patient(patient_id=pid, diagnosis=diagnosis), actor="test")
            for day, total in visits:
                record_assessment(session=session, data=factories.total_only(patient_id=pid, visit_date=day,
                                                                              total=total), actor="test")
    at = signed_in_app("coordinator", PAGE)
    assert at.segmented_control(key="cohort_window").options == ["3 months", "24 months"]  # windows with a visit
    assert at.segmented_control(key="cohort_window").value == 24  # the longest, as 12 months has nobody
    assert "24 months" in chart(at, "change_bars")["title"]["text"]
    at.segmented_control(key="cohort_window").set_value(3).run()
    assert "3 months" in chart(at, "change_bars")["title"]["text"]
    assert "3 months" in chart(at, "site_bars")["title"]["text"]
    at.segmented_control(key="cohort_window").set_value(24).run()
    # SHORT alone has no 24-month window: the choice falls back to one it has instead of failing
    apply(at, diagnoses=["lcSSc"])
    assert at.segmented_control(key="cohort_window").value == 3
    assert "3 months" in chart(at, "change_bars")["title"]["text"]


def test_export_is_deidentified_unless_permitted(with_demo):
    at = signed_in_app("coordinator", PAGE)  # no permission for identified data
    toggle = at.toggle(key="cohort_export_deidentify")
    assert toggle.value is True and toggle.disabled
    at = signed_in_app("admin", PAGE)  # the admin fixture account holds the permission
    toggle = at.toggle(key="cohort_export_deidentify")
    assert toggle.value is True and not toggle.disabled


def test_composite_endpoints_with_n_and_the_patients_not_computable(with_demo):
    """The 12-patient demo: DEMO-0001 a CRISS improver (probability 1.000), DEMO-0006 not improved by an ILD
    progression (step 1, probability 0), four drawn SSc patients with the CRISS inputs (two of them improvers); the
    other six lack the globals (or a 12-month visit). EUSTAR-AI at baseline 7.75 (DEMO-0001) and 1.5 (DEMO-0006);
    at 12 months 1.0 and 8.5."""
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception
    assert metric(at, "ACR CRISS improvers") == "3 (50%)"
    assert metric(at, "Median CRISS probability") == "0.392"
    assert metric(at, "Active disease at baseline") == "1 (50%)"
    assert metric(at, "Active disease at month 12") == "1 (50%)"
    assert [c.value for c in at.caption if c.value.startswith("n computable")] == [
        "n computable: 6 of 12", "n computable: 6 of 12", "n computable: 2 of 12", "n computable: 2 of 12"]
    revised = next(t.value for t in at.table if "Responders, n (%)" in t.value.columns)
    assert revised["Responders, n (%)"].tolist() == ["4 (67%)", "4 (67%)", "1 (17%)", "0 (0%)"]
    assert revised["n computable"].tolist() == ["6 of 12"] * 4  # DEMO-0001: mRSS and physician global by 60 %
    activity = next(t.value for t in at.table if "Median (IQR)" in t.value.columns)
    # (1.5 + 7.75) / 2 = 4.625, quartiles 3.0625 and 6.1875; (1 + 8.5) / 2 = 4.75, quartiles 2.875 and 6.625
    assert activity["Median (IQR)"].tolist() == ["4.63 (3.06–6.19)", "4.75 (2.88–6.63)"]
    criss = at.dataframe(key="cohort_dq_table_criss").value
    assert len(criss) == 6 and not {"DEMO-0001", "DEMO-0006"} & set(criss["patient_id"])
    reasons = dict(zip(criss["patient_id"], criss["reason"], strict=True))
    assert reasons["DEMO-0002"] == "missing: FVC %, patient global, physician global, HAQ-DI"
    assert reasons["DEMO-0003"] == "no visit with an mRSS in the 12-month window"
    later = at.dataframe(key="cohort_dq_table_activity_follow_up").value
    assert dict(zip(later["patient_id"], later["reason"], strict=True))["DEMO-0003"] == "no visit in the window"
    distribution = chart(at, "activity_bars")  # the two known indexes at each time point, a bar each
    assert [panel["title"]["text"] for panel in distribution["vconcat"]] == [
        "Baseline: 2 patients with a known index", "Month 12: 2 patients with a known index"]
    bars = [frame for frame in chart_datasets(at, "activity_bars") if "value_text" in frame]
    assert [list(zip(frame["value_text"], frame["n"], frame["state"], strict=True)) for frame in bars] == [
        [("1.5", 1, "inactive (< 2.5)"), ("7.75", 1, "active (≥ 2.5)")],
        [("1", 1, "inactive (< 2.5)"), ("8.5", 1, "active (≥ 2.5)")]]
    assert "ACR CRISS: 6 patients not computable, and why" in [e.label for e in at.expander]


def test_composite_endpoints_follow_the_anchor_and_the_month(with_demo):
    at = signed_in_app("coordinator", PAGE)
    at.number_input(key="cohort_export_response_month").set_value(6).run()
    assert not at.exception
    # at 6 months DEMO-0006's ILD progression lies after the follow-up visit, whose globals are not recorded
    criss = at.dataframe(key="cohort_dq_table_criss").value
    assert "DEMO-0006" in set(criss["patient_id"]) and "DEMO-0001" not in set(criss["patient_id"])
    assert metric(at, "ACR CRISS improvers") == "1 (25%)"  # DEMO-0001 and three drawn patients computable
    apply(at, anchor="First start of imatinib")
    criss = at.dataframe(key="cohort_dq_table_criss").value
    reasons = dict(zip(criss["patient_id"], criss["reason"], strict=True))
    assert reasons["DEMO-0006"].startswith("no baseline")  # never on imatinib
    assert "Baseline: first start of imatinib" in " ".join(c.value for c in at.caption)


def three_centres(engine) -> None:
    """Centres A, B, C (and the empty MAIN): A1 30 -> 22 (improved), A2 20 -> 18; B1 10 -> 17 (progressed) and an
    incomplete assessment; C1 40 -> 30 (improved) and an incomplete assessment. Visits at day 0 and day 91."""
    with write_session(engine) as session:
        for code, name in (("A", "Amsterdam"), ("B", "Bologna"), ("C", "Cluj")):
            add_centre(session=session, data={"code": code, "name": name}, actor="admin")
    keys = centre_keys(engine, ["A", "B", "C"])
    with write_session(engine) as session:
        for pid, code, first, then in (("A1", "A", 30, 22), ("A2", "A", 20, 18), ("B1", "B", 10, 17),
                                       ("C1", "C", 40, 30)):
            create_patient(session=session, actor="test",
                           data=factories.patient(patient_id=pid, centre_key=keys[code]))
            for day, value in (("2020-01-01", first), ("2020-04-01", then)):
                record_assessment(session=session, actor="test", data=factories.total_only(
                    patient_id=pid, visit_date=day, total=value))
        for pid in ("B1", "C1"):
            record_assessment(session=session, actor="test", data=factories.assessment(
                patient_id=pid, visit_date="2020-02-01", face=None))


def quality_by_centre(at) -> pd.DataFrame | None:
    found = [frame.value for frame in at.dataframe if "Total" in frame.value.columns]
    return found[0] if found else None


def by_centre_table(at) -> pd.DataFrame | None:
    found = [t.value for t in at.table if "Patients" in t.value.columns]
    return found[0].map(lambda cell: cell.replace("\u00a0", " ")) if found else None


def test_three_centres_filter_table_and_queues(with_users):
    three_centres(with_users)
    at = signed_in_app("coordinator", PAGE)  # an account of every centre
    assert not at.exception, at.exception
    centres = at.multiselect(key="cohort_centres")
    assert centres.options == ["A — Amsterdam", "B — Bologna", "C — Cluj", "MAIN — Main centre"]
    assert metric(at, "Patients in the cohort") == "4"
    table = by_centre_table(at)
    assert table.index.tolist() == ["Whole cohort", "A", "B", "C"]
    assert table["Patients"].tolist() == ["4", "2", "1", "1"]
    # A: baselines 30 and 20 (SD √50), changes -8 and -2 (SD √18); the whole cohort: 30, 20, 10, 40
    assert table.loc["A", "Baseline mRSS"] == "25.0 ± 7.1 (n = 2)"
    assert table.loc["A", "Change at 3 months"] == "−5.0 ± 4.2 (n = 2)"
    assert table.loc["B", "Change at 3 months"] == "7.0 (n = 1)"
    assert table.loc["Whole cohort", "Baseline mRSS"] == "25.0 ± 12.9 (n = 4)"
    assert table.loc["C", "Change at 12 months"] == "–"
    at.segmented_control(key="cohort_centre_statistic").set_value("Improved, n (%)").run()
    table = by_centre_table(at)
    assert table["Change at 3 months"].tolist() == ["2 of 4 (50%)", "1 of 2 (50%)", "0 of 1 (0%)", "1 of 1 (100%)"]
    assert table.loc["A", "Baseline mRSS"] == "–"

    per_centre = quality_by_centre(at)
    assert per_centre.index.tolist() == ["A", "B", "C"]
    assert per_centre["Incomplete"].tolist() == [0, 1, 1] and per_centre["Total"].tolist() == [0, 1, 1]
    incomplete = at.dataframe(key="cohort_dq_table_incomplete").value
    assert incomplete[["centre", "patient_id"]].values.tolist() == [["B", "B1"], ["C", "C1"]]
    at.selectbox(key="cohort_dq_centre").set_value("C").run()
    assert metric(at, "Incomplete assessments") == "1"
    incomplete = at.dataframe(key="cohort_dq_table_incomplete").value
    assert incomplete["patient_id"].tolist() == ["C1"] and "centre" not in incomplete.columns

    apply(at, centres=["B", "C"])
    assert metric(at, "Patients in the cohort") == "2"
    assert by_centre_table(at).index.tolist() == ["Whole cohort", "B", "C"]
    assert at.selectbox(key="cohort_dq_centre").value == "C"  # the data manager's queue stays chosen
    apply(at, centres=["A", "B"])
    assert at.selectbox(key="cohort_dq_centre").value == "Every centre"  # C left the cohort
    assert at.dataframe(key="cohort_dq_table_incomplete").value[["centre", "patient_id"]].values.tolist() == [
        ["B", "B1"]]
    apply(at, centres=["B"])
    assert metric(at, "Patients in the cohort") == "1"
    assert by_centre_table(at) is None  # one centre: the summary table says it all
    assert "centre B" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(("codes", "patients", "offered"), [(["A"], "2", None), (["A", "B"], "3", ["A", "B"])])
def test_an_account_of_some_centres_sees_only_them(with_users, monkeypatch, codes, patients, offered):
    three_centres(with_users)
    with write_session(with_users) as session:
        set_user_centres(session=session, username="coordinator", all_centres=False,
                         centres=dict.fromkeys(codes, False), actor="admin")
    scope = scope_for_user(with_users, "coordinator")
    monkeypatch.setattr(ui.state, "get_engine", lambda: scoped(ui.state.engine_for(ui.state.database_url()), scope))
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception, at.exception
    assert metric(at, "Patients in the cohort") == patients
    frames = {frame.key: frame.value for frame in at.dataframe if frame.key}
    if offered is None:  # a one-centre account: no centre filter, no by-centre tables
        assert not [m for m in at.multiselect if m.key == "cohort_centres"]
        assert by_centre_table(at) is None and quality_by_centre(at) is None
        assert metric(at, "Incomplete assessments") == "0"  # B1's and C1's are not theirs
    else:
        assert [o.split(" — ")[0] for o in at.multiselect(key="cohort_centres").options] == offered
        assert by_centre_table(at).index.tolist() == ["Whole cohort", *offered]
        assert quality_by_centre(at)["Incomplete"].to_dict() == {"A": 0, "B": 1}
        assert frames["cohort_dq_table_incomplete"]["patient_id"].tolist() == ["B1"]
    listed = [frame for key, frame in frames.items() if key.startswith("cohort_dq_table_")]
    assert all(set(frame["patient_id"]) <= {"A1", "A2", "B1"} for frame in listed)


def metric_blocks(at) -> dict[str, tuple]:
    """Each metric's label -> (the width of its block, its row's flex container) in the element tree."""
    found = {}

    def walk(node, path):
        for child in getattr(node, "children", {}).values():
            if type(child).__name__ == "Metric":
                cell, row = path[-1].proto, path[-2].proto
                found[child.proto.label] = (cell.width_config.WhichOneof("width_spec") if cell is not None else None,
                                            row.flex_container if row is not None else None)
            walk(child, [*path, child])

    walk(at._tree, [])
    return found


def test_metrics_wrap_instead_of_cutting_their_labels_and_values(with_demo):
    """In four quarter-page columns a 1024-pixel screen showed "Active disease a…" twice (baseline and month 12 could
    not be told apart) and "20.0 ±…" for the baseline mean ± SD. Every metric of the screen now sits in a block as
    wide as its label and value, in a row that wraps."""
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception
    blocks = metric_blocks(at)
    for label in ("Patients in the cohort", "Baseline mRSS, mean ± SD", "ACR CRISS improvers",
                  "Median CRISS probability", "Active disease at baseline", "Active disease at month 12",
                  *QUALITY.values()):
        width, row = blocks[label]
        assert width == "use_content", label
        assert row is not None and row.wrap and row.direction == row.HORIZONTAL, label


def test_one_patient_not_computable_is_one_patient(with_demo):
    """The NSF cohort (DEMO-0002 alone): its expanders said "1 patients not computable"."""
    at = apply(signed_in_app("coordinator", PAGE), diagnoses=["NSF"])
    assert "ACR CRISS: 1 patient not computable, and why" in [e.label for e in at.expander]


def test_a_cohort_without_a_known_activity_index_says_what_the_index_needs(with_demo):
    """The NSF cohort (DEMO-0002 alone) has no activity inputs: no empty distribution, a sentence instead."""
    at = apply(signed_in_app("coordinator", PAGE), diagnoses=["NSF"])
    assert not [c for c in at.get("vega_lite_chart") if '"activity_bars"' in c.proto.spec]
    assert "no distribution to draw" in texts(at) and "Measures tab of Visit entry" in texts(at)
