"""Patients screen in AppTest: empty state, the demo list with search, add (validated, field named by its label)
and edit; deleting the patient the list is filtered to; a birth year in the future is refused by name."""

from __future__ import annotations

from db.audit import load_audit
from db.engine import write_session
from db.patients import create_patient, get_patient
from tests import factories
from tests.app.conftest import signed_in_app
from ui.forms import current_key

PAGE = "pages/patients.py"


def new(at, name):
    return current_key(at.session_state, "patients", "add", name)


def edit(at, name):
    return current_key(at.session_state, "patients", "edit", name)


def delete(at, name):
    return current_key(at.session_state, "patients", "delete", name)


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
    at.text_input(key=new(at, "patient_id")).input(values.get("patient_id", ""))
    if values.get("diagnosis"):
        at.selectbox(key=new(at, "diagnosis")).select(values["diagnosis"])
    if values.get("birth_year"):
        at.number_input(key=new(at, "birth_year")).set_value(values["birth_year"])
    return at.form_submit_button(key=new(at, "submit")).click().run()


def test_add_patient_validates_and_names_the_field(with_users):
    at = signed_in_app("staff", PAGE)
    at = add(at, patient_id="P-100", diagnosis="")
    assert "**Diagnosis**" in at.error[0].value
    at = add(at, patient_id="", diagnosis="NSF")
    assert "**Patient ID**" in at.error[0].value
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
    at.selectbox(key=edit(at, "diagnosis")).select("lcSSc")
    at.form_submit_button(key=edit(at, "submit")).click().run()
    assert not at.error
    assert get_patient(with_users, "P-001")["diagnosis"] == "lcSSc"
    assert load_audit(with_users, entity="patient", action="update").iloc[0]["actor"] == "staff"


def test_birth_year_in_the_future_is_refused_naming_birth_year(with_users):
    """Defect 8: birth year 2030 made *Add patient* do nothing, without a word."""
    at = signed_in_app("staff", PAGE)
    at = add(at, patient_id="P-200", diagnosis="NSF", birth_year=2030)
    assert "**Birth year**" in at.error[0].value and "2030" in at.error[0].value
    assert get_patient(with_users, "P-200") is None
    assert at.number_input(key=new(at, "birth_year")).value == 2030  # what was typed stays


def test_deleting_the_patient_the_list_is_filtered_to(with_users):
    """Defect 8: deleting a patient while the list is filtered to that patient raised an IndexError."""
    with write_session(with_users) as session:
        for patient in ("P-001", "P-002"):
            create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
    at = signed_in_app("staff", PAGE)
    at.text_input(key="patients_search").input("P-002").run()
    table_key = current_key(at.session_state, "patients", "table", "rows")
    at.session_state[table_key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert at.session_state["patient_id"] == "P-002"
    at.text_input(key=delete(at, "reason")).input("created twice")
    at.checkbox(key=delete(at, "sure")).check().run()
    at.button(key=delete(at, "submit")).click().run()
    assert not at.exception, at.exception
    assert get_patient(with_users, "P-002") is None and get_patient(with_users, "P-001") is not None
    assert "Patient P-002 deleted" in at.success[0].value
    assert at.session_state["patient_id"] is None
    assert at.caption[0].value.startswith("0 of 1 patients")


def test_patient_form_offers_the_catalogue_sexes(with_users):
    from models.catalog import SEXES

    at = signed_in_app("staff", PAGE)
    assert at.selectbox(key=new(at, "sex")).options == ["not recorded", *SEXES.values()]
