"""Patients screen in AppTest: empty state, the demo list with search, add (validated, field named) and edit."""

from __future__ import annotations

from db.audit import load_audit
from db.engine import write_session
from db.patients import create_patient, get_patient
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/patients.py"


def test_empty_database_invites_to_add_the_first_patient(with_users):
    at = signed_in_app("staff", PAGE)
    assert not at.exception
    assert "No patients yet" in at.info[0].value


def test_demo_list_and_search(with_demo):
    at = signed_in_app("physician", PAGE)
    assert not at.exception
    assert at.caption[0].value.startswith("12 of 12 patients")
    at.text_input(key="patients_search").input("nephrogenic").run()
    at.text_input(key="patients_search").input("NSF").run()
    assert not at.caption[0].value.startswith("12 of")
    frame = at.dataframe[0].value
    assert set(frame["diagnosis"]) == {"NSF"} and "DEMO-0002" in set(frame["patient_id"])


def add(at, **values):
    at.text_input(key="new_patient_id").input(values.get("patient_id", ""))
    if values.get("diagnosis"):
        at.selectbox(key="new_diagnosis").select(values["diagnosis"])
    if values.get("birth_year"):
        at.number_input(key="new_birth_year").set_value(values["birth_year"])
    return at.form_submit_button(key="new_submit").click().run()


def test_add_patient_validates_and_names_the_field(with_users):
    at = signed_in_app("staff", PAGE)
    at = add(at, patient_id="P-100", diagnosis="")
    assert "diagnosis" in at.error[0].value
    at = add(at, patient_id="", diagnosis="NSF")
    assert "patient id" in at.error[0].value
    assert get_patient(with_users, "P-100") is None
    at = add(at, patient_id="P-100", diagnosis="NSF", birth_year=1961)
    assert not at.error, [e.value for e in at.error]
    assert get_patient(with_users, "P-100")["birth_year"] == 1961
    assert at.session_state["patient_id"] == "P-100"
    at = add(at, patient_id="P-100", diagnosis="NSF")
    assert "exists already" in at.error[0].value


def test_edit_patient_is_audited(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "P-001"
    at.switch_page(PAGE).run()
    at.selectbox(key="edit_diagnosis").select("lcSSc")
    at.form_submit_button(key="edit_submit").click().run()
    assert not at.error
    assert get_patient(with_users, "P-001")["diagnosis"] == "lcSSc"
    assert load_audit(with_users, entity="patient", action="update").iloc[0]["actor"] == "staff"
