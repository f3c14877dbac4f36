"""Versioned writes (issue 13): every correction, stop, dose change, delete and restore names the version its form
was opened on; a stale one is refused with StaleRecord naming who changed the record and when, and nothing is
written. On SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
from datetime import date

import pytest

from db import measures, patients, treatments, users, visits
from db.audit import load_audit
from db.engine import write_session
from db.measures import load_measurement_rows, record_measurement
from db.patients import create_patient, get_patient
from db.treatments import load_event_rows, load_medication_rows, record_event, start_medication
from db.users import create_user, get_user, load_users, update_user
from db.visits import load_assessment_rows, record_assessment
from models.errors import StaleRecord
from tests import factories
from tests.exchange.conftest import snapshot

VERSIONED_WRITES = [
    visits.correct_assessment, visits.delete_assessment, visits.restore_assessment,
    measures.correct_measurement, measures.delete_measurement, measures.restore_measurement,
    treatments.update_medication, treatments.stop_medication, treatments.change_dose, treatments.delete_medication,
    treatments.restore_medication, treatments.update_event, treatments.delete_event, treatments.restore_event,
    patients.update_patient, patients.delete_patient, patients.restore_patient, users.update_user,
]


@pytest.mark.parametrize("write", VERSIONED_WRITES, ids=lambda f: f.__name__)
def test_every_write_of_an_existing_record_requires_the_version_by_keyword(write):
    """The API cannot be called without the version a form was opened on: keyword-only, no default."""
    parameter = inspect.signature(write).parameters["expected_version"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


@pytest.fixture
def records(engine):
    """P-001 with one record of each kind, created by 'setup' (every version 1)."""
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="setup")
        record_assessment(session=session, data=factories.assessment(), actor="setup")
        record_measurement(session=session, data=factories.measurement(), actor="setup")
        start_medication(session=session, data=factories.medication(), actor="setup")
        record_event(session=session, data=factories.event(), actor="setup")
        create_user(session=session, actor="setup", data={"username": "bob", "role": "staff",
                                                           "password": "correct horse battery"})
    return {"assessment": int(load_assessment_rows(engine, "P-001").iloc[0]["assessment_id"]),
            "measurement": int(load_measurement_rows(engine, "P-001").iloc[0]["measurement_id"]),
            "period": int(load_medication_rows(engine, "P-001").iloc[0]["period_id"]),
            "event": int(load_event_rows(engine, "P-001").iloc[0]["event_id"])}


def _assessment(s, i, v, who, face):
    visits.correct_assessment(session=s, assessment_id=i["assessment"], expected_version=v, actor=who,
                              reason="typo", data=factories.assessment(face=face))


def _measurement(s, i, v, who, face):
    measures.correct_measurement(session=s, measurement_id=i["measurement"], expected_version=v, actor=who,
                                 reason="typo", data=factories.measurement(value=1.0 + face))


def _period(s, i, v, who, face):
    treatments.update_medication(session=s, period_id=i["period"], expected_version=v, actor=who, reason="typo",
                                 data=factories.medication(dose=300 + face))


def _stop(s, i, v, who, face):
    treatments.stop_medication(session=s, period_id=i["period"], expected_version=v, actor=who,
                               end_date=date(2018, 6, 1 + face), reason="nausea")


def _dose(s, i, v, who, face):
    treatments.change_dose(session=s, period_id=i["period"], expected_version=v, actor=who,
                           change_date=date(2018, 7, 1 + face), dose=400, reason="partial response")


def _event(s, i, v, who, face):
    treatments.update_event(session=s, event_id=i["event"], expected_version=v, actor=who, reason="typo",
                            data=factories.event(dose=20 + face))


def _patient(s, i, v, who, face):
    patients.update_patient(session=s, patient_id="P-001", expected_version=v, actor=who,
                            data={k: x for k, x in factories.patient(mrn=f"M{face}").items() if k != "patient_id"})


def _user(s, i, v, who, face):
    update_user(session=s, username="bob", expected_version=v, actor=who, data={
        "display_name": f"Bob {face}", "role": "staff", "active": True, "can_export_identified": False})


def _delete(kind):
    def write(s, i, v, who, face):
        {"assessment": lambda: visits.delete_assessment(session=s, assessment_id=i["assessment"],
                                                        expected_version=v, actor=who, reason="wrong"),
         "period": lambda: treatments.delete_medication(session=s, period_id=i["period"], expected_version=v,
                                                        actor=who, reason="wrong"),
         "patient": lambda: patients.delete_patient(session=s, patient_id="P-001", expected_version=v, actor=who,
                                                    reason="wrong")}[kind]()
    return write


STALE_CASES = {"correct assessment": _assessment, "correct measurement": _measurement, "correct period": _period,
               "stop drug": _stop, "change dose": _dose, "correct event": _event, "update patient": _patient,
               "update user": _user, "delete assessment": _delete("assessment"), "delete period": _delete("period"),
               "delete patient": _delete("patient")}


@pytest.mark.parametrize("case", list(STALE_CASES))
def test_two_users_open_the_same_record_one_lands_the_other_is_refused(records, engine, case):
    """Both opened version 1; Ann saves first, Bea's save (still naming version 1) is refused with StaleRecord
    naming Ann and the time, and writes nothing; Bea reloads (version 2) and then her save lands."""
    write = STALE_CASES[case]
    with write_session(engine) as session:
        write(session, records, 1, "ann", 0)
    before = snapshot(engine)
    with pytest.raises(StaleRecord) as caught, write_session(engine) as session:
        write(session, records, 1, "bea", 1)
    assert snapshot(engine) == before, "a refused write leaves the database as it was"
    message = caught.value.reason
    assert message.startswith("changed by ann at ") and message.endswith(
        " since you opened it — reload to see the current values"), message
    assert str(date.today().year) in message
    if case.startswith("delete") or case == "change dose":
        return  # deleted, or ended by the first dose change: nothing for the same action on the new version
    with write_session(engine) as session:
        write(session, records, 2, "bea", 1)
    assert load_audit(engine, actor="bea")["action"].iloc[0] in ("update", "create")


def test_a_correction_opened_before_a_stop_cannot_undo_it(records, engine):
    """Issue 13 defect 1: stop a drug, then save a correction from the form opened before the stop."""
    with write_session(engine) as session:
        treatments.stop_medication(session=session, period_id=records["period"], expected_version=1,
                                   end_date=date(2018, 6, 1), actor="ann", reason="nausea")
    with pytest.raises(StaleRecord), write_session(engine) as session:
        treatments.update_medication(session=session, period_id=records["period"], expected_version=1, actor="bea",
                                     reason="indication", data=factories.medication(reason="SSc skin"))
    period = load_medication_rows(engine, "P-001").iloc[0]
    assert period["end_date"].date() == date(2018, 6, 1) and period["reason"] == "nausea" and period["version"] == 2


def test_versions_start_at_1_and_every_write_moves_them_on(records, engine):
    assert get_patient(engine, "P-001")["version"] == 1
    with write_session(engine) as session:
        visits.correct_assessment(session=session, assessment_id=records["assessment"], expected_version=1,
                                  actor="ann", reason="typo", data=factories.assessment(face=0))
    assert load_assessment_rows(engine, "P-001").iloc[0]["version"] == 2
    with write_session(engine) as session:  # no change: nothing written, the version stays
        visits.correct_assessment(session=session, assessment_id=records["assessment"], expected_version=2,
                                  actor="ann", reason="typo", data=factories.assessment(face=0))
        visits.delete_assessment(session=session, assessment_id=records["assessment"], expected_version=2,
                                 actor="ann", reason="wrong")
        visits.restore_assessment(session=session, assessment_id=records["assessment"], expected_version=3,
                                  actor="ann", reason="mistake")
    assert load_assessment_rows(engine, "P-001").iloc[0]["version"] == 4
    assert int(load_users(engine).set_index("username").loc["bob", "version"]) == 1
    assert get_user(engine, "bob")["version"] == 1


def test_a_version_that_is_not_a_number_is_a_programming_error(records, engine):
    with pytest.raises(TypeError), write_session(engine) as session:
        visits.delete_assessment(session=session, assessment_id=records["assessment"], expected_version="1",
                                 actor="ann", reason="wrong")
