"""The cohort screen in AppTest: empty database, a one-patient cohort, the demo registry with filters."""

from __future__ import annotations

from datetime import date

import pytest

from db.engine import write_session
from db.patients import create_patient
from db.visits import record_assessment
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/cohort.py"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def texts(at) -> str:
    return " ".join(e.value for kind in ("info", "warning", "success", "error") for e in getattr(at, kind))


def test_empty_database_tells_what_to_do(with_users):
    at = signed_in_app("coordinator", PAGE)
    assert not at.exception
    assert "registry is empty" in texts(at)
    assert "Import" in texts(at)


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
    three = at.table[0].value.loc["Change at 3 months"]
    assert (three["n"], three["Mean"], three["SD"]) == (1, "−8.0", "–")  # 22 − 30; no SD of one value
    assert three["Improved, n (%)"] == "1 (100%)"  # −8 points and −27 %
    assert len(at.get("vega_lite_chart")) >= 2  # spaghetti and waterfall at 3 months (+ site bars)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_demo_registry_and_filters_change_n(with_demo, role):
    at = signed_in_app(role, PAGE)
    assert not at.exception, at.exception
    assert metric(at, "Patients in the cohort") == "12"
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert any("patient_lines" in spec for spec in specs) and any("change_bars" in spec for spec in specs)
    assert any("site_bars" in spec for spec in specs)

    at.multiselect(key="cohort_diagnoses").select("dcSSc")
    at.button(key="cohort_apply").click().run()
    assert not at.exception
    dcssc = int(metric(at, "Patients in the cohort"))
    assert 1 <= dcssc < 12

    at.multiselect(key="cohort_diagnoses").unselect("dcSSc")
    at.selectbox(key="cohort_exposure").set_value("imatinib, any dose")
    at.selectbox(key="cohort_anchor").set_value("First start of imatinib")
    at.button(key="cohort_apply").click().run()
    assert not at.exception
    on_imatinib = int(metric(at, "Patients in the cohort"))
    assert 2 <= on_imatinib < 12
    assert "first start of imatinib" in " ".join(c.value for c in at.caption)

    at.number_input(key="cohort_follow_up").set_value(600)
    at.button(key="cohort_apply").click().run()
    assert not at.exception
    assert "No patient matches this cohort" in texts(at)


def test_bad_date_range_names_the_field(with_demo):
    at = signed_in_app("coordinator", PAGE)
    at.date_input(key="cohort_visits_from").set_value(date(2024, 1, 1))
    at.date_input(key="cohort_visits_to").set_value(date(2023, 1, 1))
    at.button(key="cohort_apply").click().run()
    assert not at.exception
    assert "visits from" in at.error[0].value


def test_quality_panel_counts_and_drill_down(with_demo):
    at = signed_in_app("coordinator", PAGE)
    assert int(metric(at, "Incomplete assessments")) >= 1
    assert int(metric(at, "Rater changes")) >= 1
    assert at.selectbox(key="cohort_dq_patient_incomplete").value.startswith("DEMO-")
    button = at.button(key="cohort_dq_open_incomplete")
    if not button.disabled:  # the chart screen is installed: the link opens it on that patient
        chosen = at.selectbox(key="cohort_dq_patient_incomplete").value
        button.click().run()
        assert at.session_state["patient_id"] == chosen


def test_export_is_deidentified_unless_permitted(with_demo):
    at = signed_in_app("coordinator", PAGE)  # no permission for identified data
    toggle = at.toggle(key="cohort_export_deidentify")
    assert toggle.value is True and toggle.disabled
    at = signed_in_app("admin", PAGE)  # the admin fixture account holds the permission
    toggle = at.toggle(key="cohort_export_deidentify")
    assert toggle.value is True and not toggle.disabled
