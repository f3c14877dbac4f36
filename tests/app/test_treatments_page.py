"""Treatments screen in AppTest: empty states; start a drug; change dose gives two contiguous periods; an
overlapping period is refused naming the field; an injection stores its sites; delete asks for a reason.

Issue 13: every form belongs to one patient and one record (a form typed for one patient never shows for another;
a correction opened after a stop shows the stop), a submission read before another write is refused, the open
tab stays open, doses outside the plausible range are refused and outside the usual range warned about, and
every message names the field by its label on the screen."""

from __future__ import annotations

from datetime import date, timedelta

from db.audit import load_audit
from db.engine import write_session
from db.patients import create_patient
from db.treatments import (
    load_event_rows,
    load_medication_rows,
    record_event,
    start_medication,
    stop_medication,
)
from tests import factories
from tests.app.conftest import browser_sends, signed_in_app
from ui.forms import current_key, scope_key

PAGE = "pages/treatments.py"


def key(at, action, name):
    """The key of widget `name` of the form `action` as drawn on the screen now."""
    return current_key(at.session_state, "treatments", action, name)


def screen(engine, patient="P-001"):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
    return open_patient(patient)


def open_patient(patient):
    at = signed_in_app("staff")
    at.session_state["patient_id"] = patient
    at.switch_page(PAGE)
    return at.run()


def start(at, drug="imatinib", dose=200.0, day="2024-01-10"):
    at.text_input(key=key(at, "start", "drug")).input(drug)
    at.number_input(key=key(at, "start", "dose")).set_value(dose)
    at.text_input(key=key(at, "start", "start")).input(day)
    return at.form_submit_button(key=key(at, "start", "submit")).click().run()


def only_period(engine, patient="P-001") -> int:
    return int(load_medication_rows(engine, patient).iloc[0]["period_id"])


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_empty_states(with_users):
    at = signed_in_app("staff", PAGE)
    assert "Choose the patient above" in at.info[0].value
    at = screen(with_users)
    assert any("No medications recorded" in i.value for i in at.info)


def test_demo_patient_renders(with_demo):
    at = open_patient("DEMO-0002")
    assert not at.exception and len(at.dataframe) == 2


def test_start_then_change_dose_gives_two_contiguous_periods(with_users):
    at = start(screen(with_users))
    assert not at.error, errors(at)
    change_day = date(2024, 6, 1)
    at.number_input(key=key(at, "change_dose", "dose")).set_value(400.0)
    at.text_input(key=key(at, "change_dose", "date")).input(change_day.isoformat())
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()
    assert "Reason (required)" in at.error[0].value  # a dose change needs a reason, named by its label
    at.text_input(key=key(at, "change_dose", "reason")).input("partial response")
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()
    assert not at.error, errors(at)
    periods = load_medication_rows(with_users, "P-001").sort_values("start_date")
    assert periods["dose"].tolist() == [200.0, 400.0]
    assert periods.iloc[0]["end_date"].date() == change_day - timedelta(days=1)
    assert periods.iloc[1]["start_date"].date() == change_day and periods.iloc[1]["end_date"] != periods.iloc[1][
        "end_date"]


def test_overlapping_period_is_refused_naming_the_start_field(with_users):
    at = start(screen(with_users))
    at = start(at, day="2024-03-01")
    assert at.error and "**Start**" in at.error[0].value and "overlaps" in at.error[0].value
    assert len(load_medication_rows(with_users, "P-001")) == 1


def test_injection_stores_its_sites_and_a_missing_site_names_injected_sites(with_users):
    at = screen(with_users)
    at.text_input(key=key(at, "event", "date")).input("2024-02-02")
    at.text_input(key=key(at, "event", "agent")).input("triamcinolone acetonide")
    at.number_input(key=key(at, "event", "dose")).set_value(20.0)
    at.form_submit_button(key=key(at, "event", "submit")).click().run()
    message = at.error[0].value
    assert "**Injected sites**" in message and "joined by" not in message, message
    at.multiselect(key=key(at, "event", "sites")).select("hand_r").select("fingers_r")
    at.form_submit_button(key=key(at, "event", "submit")).click().run()
    assert not at.error, errors(at)
    events = load_event_rows(with_users, "P-001")
    assert events["sites"].tolist() == ["hand_r;fingers_r"] and events["kind"].tolist() == ["steroid_injection"]


def test_adverse_event_keeps_the_events_tab_open_and_delete_needs_a_reason(with_users):
    at = screen(with_users)
    at.session_state["tab"] = "Treatment events"
    at.run()
    at.selectbox(key=key(at, "event", "kind")).select("adverse_event").run()
    assert at.session_state["tab"] == "Treatment events"  # choosing the kind does not jump back to Medications
    at.selectbox(key=key(at, "event", "term")).select("Edema limbs")
    at.text_input(key=key(at, "event", "description")).input("oedema")
    at.selectbox(key=key(at, "event", "grade")).select(3)
    at.checkbox(key=key(at, "event", "serious")).check()
    at.text_input(key=key(at, "event", "end")).input("2099-01-01")
    at.form_submit_button(key=key(at, "event", "submit")).click().run()
    assert "**Resolved on**" in at.error[0].value and "future" in at.error[0].value  # by its label, not "end date"
    assert load_event_rows(with_users, "P-001").empty
    at.text_input(key=key(at, "event", "end")).input("")
    at.form_submit_button(key=key(at, "event", "submit")).click().run()
    assert not at.error, errors(at)
    assert at.session_state["tab"] == "Treatment events"  # recording the event does not jump back either
    event = load_event_rows(with_users, "P-001").iloc[0]
    assert (event["grade"], bool(event["serious"]), event["term"], event["description"]) == (
        3, True, "Edema limbs", "oedema")
    event_id = int(event["event_id"])
    at.selectbox(key=key(at, "choose_event", "event")).select(event_id).run()
    at.checkbox(key=key(at, "delete_event", "sure")).check().run()
    at.button(key=key(at, "delete_event", "submit")).click().run()
    assert "Reason for deleting (required)" in at.error[0].value
    at.text_input(key=key(at, "delete_event", "reason")).input("entered for the wrong patient").run()
    at.button(key=key(at, "delete_event", "submit")).click().run()
    assert load_event_rows(with_users, "P-001").empty


def test_correct_a_period_needs_a_reason_and_is_audited(with_users):
    at = start(screen(with_users))
    at.number_input(key=key(at, "correct", "dose")).set_value(300.0)
    at.form_submit_button(key=key(at, "correct", "submit")).click().run()
    assert "Why is this corrected? (required)" in at.error[0].value
    at.text_input(key=key(at, "correct", "why")).input("dose misread from the letter")
    at.form_submit_button(key=key(at, "correct", "submit")).click().run()
    assert not at.error, errors(at)
    assert load_medication_rows(with_users, "P-001")["dose"].tolist() == [300.0]
    audit = load_audit(with_users, entity="medication_period", action="update").iloc[0]
    assert audit["reason"] == "dose misread from the letter"


def test_stop_a_drug_ends_its_period_and_the_timeline_is_drawn(with_users):
    at = start(screen(with_users))
    assert at.get("vega_lite_chart"), "the medication timeline is drawn"
    at.text_input(key=key(at, "stop", "date")).input("2024-04-30")
    at.text_input(key=key(at, "stop", "reason")).input("adverse event")
    at.form_submit_button(key=key(at, "stop", "submit")).click().run()
    assert not at.error, errors(at)
    period_row = load_medication_rows(with_users, "P-001").iloc[0]
    assert period_row["end_date"].date() == date(2024, 4, 30)
    assert "stopped on 2024-04-30" in at.success[0].value


def test_correct_opened_after_a_stop_shows_the_stop_and_keeps_it(with_users):
    """Defect 1: a correction opened after a stop showed the period as before the stop and undid it."""
    at = start(screen(with_users))
    at.text_input(key=key(at, "correct", "why")).input("looked at it before the stop")  # the form was drawn
    at.text_input(key=key(at, "stop", "date")).input("2024-04-30")
    at.text_input(key=key(at, "stop", "reason")).input("nausea")
    at.form_submit_button(key=key(at, "stop", "submit")).click().run()
    assert not at.error, errors(at)
    assert at.text_input(key=key(at, "correct", "end")).value == "2024-04-30"
    assert at.text_input(key=key(at, "correct", "indication")).value == "nausea"
    assert at.text_input(key=key(at, "correct", "why")).value == ""  # a fresh form, read from the database
    at.text_input(key=key(at, "correct", "why")).input("indication added")
    at.form_submit_button(key=key(at, "correct", "submit")).click().run()
    row = load_medication_rows(with_users, "P-001").iloc[0]
    assert row["end_date"].date() == date(2024, 4, 30) and row["reason"] == "nausea"  # the stop stands


def test_a_form_submitted_after_another_write_is_refused_and_shows_the_current_values(with_users):
    """A correction typed before someone else stopped the drug must not undo the stop."""
    at = start(screen(with_users))
    at.number_input(key=key(at, "correct", "dose")).set_value(250.0)
    at.text_input(key=key(at, "correct", "why")).input("typo")
    with write_session(with_users) as session:  # another user stops the drug meanwhile
        stop_medication(session=session, period_id=only_period(with_users), end_date=date(2024, 5, 1),
                        expected_version=int(load_medication_rows(with_users, "P-001").iloc[0]["version"]),
                        actor="other", reason="rash")
    at.form_submit_button(key=key(at, "correct", "submit")).click().run()
    assert any("changed since this form was opened" in w.value for w in at.warning)
    row = load_medication_rows(with_users, "P-001").iloc[0]
    assert row["dose"] == 200 and row["end_date"].date() == date(2024, 5, 1)  # nothing written
    assert at.text_input(key=key(at, "correct", "end")).value == "2024-05-01"  # the form shows the stop now


def test_a_form_never_carries_over_to_another_patient(with_users):
    """Defect 2: a dose and reason typed for one patient stayed on the form for the next."""
    with write_session(with_users) as session:
        for patient in ("P-004", "P-007"):
            create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
            start_medication(session=session, actor="t", data={
                "patient_id": patient, "drug": "methotrexate", "dose": 15, "dose_unit": "mg",
                "frequency": "weekly", "route": "sc", "start_date": "2018-10-05"})
    at = open_patient("P-004")
    at.number_input(key=key(at, "change_dose", "dose")).set_value(20.0)
    at.text_input(key=key(at, "change_dose", "reason")).input("no response")
    at.run()
    at.selectbox(key="treatments_patient").select("P-007").run()
    assert key(at, "change_dose", "dose").startswith(
        scope_key("treatments", "change_dose", "P-007", only_period(with_users, "P-007")))
    assert at.number_input(key=key(at, "change_dose", "dose")).value is None
    assert at.text_input(key=key(at, "change_dose", "reason")).value == ""
    old = scope_key("treatments", "change_dose", "P-004", only_period(with_users, "P-004"))
    assert not any(str(k).startswith(old) for k in at.session_state)  # the other patient's form is dropped
    at.selectbox(key="treatments_patient").select("P-004").run()
    assert at.number_input(key=key(at, "change_dose", "dose")).value is None


def test_implausible_dose_is_refused_and_an_unusual_dose_warned_before_saving(with_users):
    at = start(screen(with_users), dose=400.0)
    at.number_input(key=key(at, "change_dose", "dose")).set_value(40000.0)
    at.text_input(key=key(at, "change_dose", "date")).input("2024-06-01")
    at.text_input(key=key(at, "change_dose", "reason")).input("typo test")
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()
    assert "**Dose (mg)**" in at.error[0].value and "plausible range" in at.error[0].value
    at.number_input(key=key(at, "change_dose", "dose")).set_value(-5.0)  # typed as it is, refused by the model
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()
    assert "**Dose (mg)**" in at.error[0].value and "greater than 0" in at.error[0].value
    assert load_medication_rows(with_users, "P-001")["dose"].tolist() == [400.0]
    at.number_input(key=key(at, "change_dose", "dose")).set_value(900.0)
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()
    assert any("**Dose (mg)**" in w.value and "usual range" in w.value for w in at.warning)
    assert load_medication_rows(with_users, "P-001")["dose"].tolist() == [400.0]  # warned, not saved yet
    at.form_submit_button(key=key(at, "change_dose", "submit")).click().run()  # seen: save again
    assert not at.error, errors(at)
    assert sorted(load_medication_rows(with_users, "P-001")["dose"].tolist()) == [400.0, 900.0]


def test_dates_are_typed_and_refused_by_label_never_replaced(with_users):
    at = screen(with_users)
    at.text_input(key=key(at, "start", "drug")).input("methotrexate")
    at.number_input(key=key(at, "start", "dose")).set_value(15.0)
    at.text_input(key=key(at, "start", "start")).input("2024-02-30")
    at.text_input(key=key(at, "start", "end")).input("2031-01-01")
    at.form_submit_button(key=key(at, "start", "submit")).click().run()
    message = at.error[0].value
    assert "2 problems" in message and "**Start**" in message and "**Stop**" in message
    assert load_medication_rows(with_users, "P-001").empty
    assert at.text_input(key=key(at, "start", "start")).value == "2024-02-30"  # what was typed stays
    at.text_input(key=key(at, "start", "start")).input("03.04.1991")  # twenty years back, as clinicians write it
    at.text_input(key=key(at, "start", "end")).input("")
    at.form_submit_button(key=key(at, "start", "submit")).click().run()
    assert not at.error, errors(at)
    assert load_medication_rows(with_users, "P-001").iloc[0]["start_date"].date() == date(1991, 4, 3)


def test_the_record_chosen_stays_chosen_when_the_browser_sends_back_an_outdated_label(with_users, monkeypatch):
    """The browser sends a select box's choice back as the label it showed. After another tab corrected the chosen
    event's term (or a period's dose), that label names no option: the event chooser fell back to a new event, the
    correction being typed silently became a blank new-event form. The record stays chosen."""
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        event_id = record_event(session=session, actor="t", data=factories.adverse_event()).event_id
        start_medication(session=session, actor="t", data=factories.medication(start_date="2024-01-10"))
    period_id = only_period(with_users)
    at = open_patient("P-001")
    at.session_state["tab"] = "Treatment events"
    at.run()
    at.selectbox(key=key(at, "choose_event", "event")).select(event_id).run()
    with monkeypatch.context() as patch:
        browser_sends(patch, at.selectbox(key=key(at, "choose_event", "event")), "2018-05-15 Adverse event Vomiting")
        at.run()
    assert not at.exception, at.exception
    assert at.session_state[key(at, "choose_event", "event")] == event_id
    assert at.text_input(key=key(at, "event", "date")).value == "2018-05-15"  # the correction form, not a new one
    for picker in ("ongoing", "any_period"):
        with monkeypatch.context() as patch:
            browser_sends(patch, at.selectbox(key=key(at, picker, "period")), "imatinib 999 mg from 2024-01-10")
            at.run()
        assert not at.exception, at.exception
        assert at.session_state[key(at, picker, "period")] == period_id
