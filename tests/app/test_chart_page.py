"""The chart screen in AppTest: every demo patient renders; one visit, no visits, no treatments and an unknown
patient get their empty states; a new visit shows at once (the cache follows the patient's data version); the
PDF report is for the review roles only."""

from __future__ import annotations

import pytest

from db.engine import write_session
from db.patients import create_patient, load_patients
from db.visits import record_assessment
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/chart.py"


def charts(at) -> int:
    return len(at.get("vega_lite_chart"))


def chart_for(role: str, patient_id: str):
    at = signed_in_app(role)
    at.session_state["patient_id"] = patient_id
    at.switch_page(PAGE)
    return at.run()


def test_no_patient_chosen_explains_what_to_do(with_users):
    at = signed_in_app("physician", PAGE)
    assert not at.exception
    assert "Choose a patient above" in at.info[0].value


@pytest.mark.slow
def test_every_demo_patient_renders(with_demo):
    for patient_id in load_patients(with_demo)["patient_id"]:
        at = chart_for("physician", patient_id)
        assert not at.exception, (patient_id, at.exception)
        assert not at.error, (patient_id, [e.value for e in at.error])
        assert charts(at) >= 1, patient_id


def test_nsf_story_patient_header_and_early_gadolinium_listed(with_demo):
    at = chart_for("physician", "DEMO-0002")
    assert [m.value for m in at.metric][:2] == ["36", "12"]
    assert any("Before the charted period" in c.value and "Gadolinium" in c.value for c in at.caption)
    assert charts(at) >= 3  # timeline, heat map, site trajectories (tabs all render)
    assert at.get("download_button")  # PNG/SVG per chart and the PDF report
    at.toggle(key="chart_whole_history").set_value(True).run()
    assert not any("Before the charted period" in c.value for c in at.caption)


def test_days_since_drug_start_axis(with_demo):
    at = chart_for("physician", "DEMO-0001")
    at.radio(key="chart_axis").set_value("Days since a drug start").run()
    assert not at.exception
    assert at.selectbox(key="chart_anchor_drug").value == "imatinib"


@pytest.mark.parametrize("visits", [0, 1])
def test_patient_with_no_or_one_visit_and_no_treatments(with_users, visits):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        if visits:
            record_assessment(session=session, actor="t", data=factories.assessment())
    at = chart_for("staff", "P-001")
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "No medications or events recorded" in infos
    if visits:
        assert [m.value for m in at.metric] == ["31", "31"]
        assert any("from the second scored visit" in c.value for c in at.caption)
    else:
        assert "No scored visit yet" in infos


def test_unknown_patient_is_a_warning_not_an_error(with_users):
    at = chart_for("physician", "NO-SUCH-ID")
    assert not at.exception
    assert "No patient 'NO-SUCH-ID'" in at.warning[0].value


def test_a_new_visit_shows_at_once(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment())
    at = chart_for("physician", "P-001")
    assert at.metric[1].value == "31"
    with write_session(with_users) as session:
        record_assessment(session=session, actor="t", data=factories.total_only(total=20, visit_date="2019-01-10"))
    at.run()
    assert at.metric[1].value == "20"


def test_pdf_report_only_for_review_roles(with_demo):
    def labels(at):
        return [b.proto.label for b in at.get("download_button")]

    assert "PDF report for the patient file" in labels(chart_for("physician", "DEMO-0002"))
    assert "PDF report for the patient file" not in labels(chart_for("coordinator", "DEMO-0002"))
