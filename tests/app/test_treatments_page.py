"""Treatments screen in AppTest: empty states; start a drug; change dose gives two contiguous periods; an
overlapping period is refused naming the field; an injection stores its sites; delete asks for a reason."""

from __future__ import annotations

from datetime import date, timedelta

from db.audit import load_audit
from db.engine import write_session
from db.patients import create_patient
from db.treatments import load_event_rows, load_medication_rows
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/treatments.py"


def screen(engine):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "P-001"
    at.switch_page(PAGE)
    return at.run()


def start(at, drug="imatinib", dose=200.0, day=date(2024, 1, 10)):
    at.text_input(key="start_drug").input(drug)
    at.number_input(key="start_dose").set_value(dose)
    at.date_input(key="start_date").set_value(day)
    return at.form_submit_button(key="start_submit").click().run()


def test_empty_states(with_users):
    at = signed_in_app("staff", PAGE)
    assert "Choose the patient above" in at.info[0].value
    at = screen(with_users)
    assert any("No medications recorded" in i.value for i in at.info)


def test_demo_patient_renders(with_demo):
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "DEMO-0002"
    at.switch_page(PAGE).run()
    assert not at.exception and len(at.dataframe) == 2


def test_start_then_change_dose_gives_two_contiguous_periods(with_users):
    at = start(screen(with_users))
    assert not at.error, [e.value for e in at.error]
    change_day = date(2024, 6, 1)
    at.number_input(key="dose_new").set_value(400.0)
    at.date_input(key="dose_date").set_value(change_day)
    at.form_submit_button(key="dose_submit").click().run()
    assert "reason" in at.error[0].value.lower()  # a dose change needs a reason
    at.text_input(key="dose_reason").input("partial response")
    at.form_submit_button(key="dose_submit").click().run()
    assert not at.error, [e.value for e in at.error]
    periods = load_medication_rows(with_users, "P-001").sort_values("start_date")
    assert periods["dose"].tolist() == [200.0, 400.0]
    assert periods.iloc[0]["end_date"].date() == change_day - timedelta(days=1)
    assert periods.iloc[1]["start_date"].date() == change_day and periods.iloc[1]["end_date"] != periods.iloc[1][
        "end_date"]


def test_overlapping_period_is_refused(with_users):
    at = start(screen(with_users))
    at = start(at, day=date(2024, 3, 1))
    assert at.error and "start date" in at.error[0].value
    assert len(load_medication_rows(with_users, "P-001")) == 1


def test_injection_stores_its_sites(with_users):
    at = screen(with_users)
    at.date_input(key="event_date_None").set_value(date(2024, 2, 2))
    at.text_input(key="event_agent_None").input("triamcinolone acetonide")
    at.number_input(key="event_dose_None").set_value(20.0)
    at.multiselect(key="event_sites_None").select("hand_r").select("fingers_r")
    at.form_submit_button(key="event_submit_None").click().run()
    assert not at.error, [e.value for e in at.error]
    events = load_event_rows(with_users, "P-001")
    assert events["sites"].tolist() == ["hand_r;fingers_r"] and events["kind"].tolist() == ["steroid_injection"]


def test_adverse_event_with_grade_and_delete_needs_a_reason(with_users):
    at = screen(with_users)
    at.selectbox(key="event_kind_None").select("adverse_event").run()
    at.selectbox(key="event_term_None").select("Edema limbs")
    at.text_input(key="event_description_None").input("oedema")
    at.selectbox(key="event_grade_None").select(3)
    at.checkbox(key="event_serious_None").check()
    at.form_submit_button(key="event_submit_None").click().run()
    assert not at.error, [e.value for e in at.error]
    event = load_event_rows(with_users, "P-001").iloc[0]
    assert (event["grade"], bool(event["serious"]), event["term"], event["description"]) == (
        3, True, "Edema limbs", "oedema")
    at.selectbox(key="event_edit_id").select(int(event["event_id"])).run()
    at.checkbox(key="event_delete_ok").check().run()
    at.button(key="event_delete").click().run()
    assert "reason" in at.error[0].value.lower()
    at.text_input(key="event_edit_reason").input("entered for the wrong patient").run()
    at.button(key="event_delete").click().run()
    assert load_event_rows(with_users, "P-001").empty


def test_correct_a_period_needs_a_reason_and_is_audited(with_users):
    at = start(screen(with_users))
    period = int(load_medication_rows(with_users, "P-001").iloc[0]["period_id"])
    at.number_input(key=f"fix_dose_{period}").set_value(300.0)
    at.form_submit_button(key=f"fix_submit_{period}").click().run()
    assert "reason" in at.error[0].value.lower()
    at.text_input(key=f"fix_reason_{period}").input("dose misread from the letter")
    at.form_submit_button(key=f"fix_submit_{period}").click().run()
    assert not at.error, [e.value for e in at.error]
    assert load_medication_rows(with_users, "P-001")["dose"].tolist() == [300.0]
    audit = load_audit(with_users, entity="medication_period", action="update").iloc[0]
    assert audit["reason"] == "dose misread from the letter"


def test_stop_a_drug_ends_its_period_and_the_timeline_is_drawn(with_users):
    at = start(screen(with_users))
    assert at.get("vega_lite_chart"), "the medication timeline is drawn"
    at.date_input(key="stop_date").set_value(date(2024, 4, 30))
    at.text_input(key="stop_reason").input("adverse event")
    at.form_submit_button(key="stop_submit").click().run()
    assert not at.error, [e.value for e in at.error]
    period = load_medication_rows(with_users, "P-001").iloc[0]
    assert period["end_date"].date() == date(2024, 4, 30)
    assert "stopped on 2024-04-30" in at.success[0].value
