"""Every audited write path leaves exactly one audit row per changed record, carrying the acting user, on
SQLite and PostgreSQL; the deleted-record reads and restores of the administrator's restore screen; the
before/after description of the audit viewer."""

from __future__ import annotations

from datetime import date

import pytest

from db.audit import describe_changes, load_audit, load_audit_choices, registry_version, summarise_changes
from db.engine import write_session
from db.measures import (
    correct_measurement,
    delete_measurement,
    load_deleted_measurements,
    record_measurement,
    restore_measurement,
)
from db.patients import create_patient, delete_patient, load_deleted_patients, restore_patient, update_patient
from db.treatments import (
    change_dose,
    delete_event,
    delete_medication,
    load_deleted_events,
    load_deleted_medications,
    record_event,
    restore_event,
    restore_medication,
    start_medication,
    stop_medication,
    update_event,
    update_medication,
)
from db.users import change_password, create_user, update_user
from db.visits import (
    correct_assessment,
    delete_assessment,
    load_deleted_assessments,
    record_assessment,
    restore_assessment,
)
from tests import factories

ACTOR = "nurse.jo"


def one_write(engine, write):
    """Run `write(session)` as ACTOR; return the audit rows it added."""
    before = registry_version(engine)
    with write_session(engine) as session:
        result = write(session)
    trail = load_audit(engine)
    return result, trail[trail["audit_id"] > before]


@pytest.fixture
def ids(engine):
    """One record of each kind for P-001, created by someone else."""
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="setup")
        a = record_assessment(session=session, data=factories.assessment(), actor="setup").assessment_id
        m = record_measurement(session=session, data=factories.measurement(), actor="setup").measurement_id
        p = start_medication(session=session, data=factories.medication(), actor="setup").period_id
        e = record_event(session=session, data=factories.event(), actor="setup").event_id
        create_user(session=session, actor="setup", data={"username": "bob", "role": "staff",
                                                           "password": "correct horse battery"})
    return {"assessment": a, "measurement": m, "period": p, "event": e}


WRITES = {
    "create patient": (lambda s, i: create_patient(session=s, data=factories.patient(patient_id="P-002"),
                                                   actor=ACTOR), [("create", "patient")]),
    "update patient": (lambda s, i: update_patient(session=s, expected_version=1,
                                                   patient_id="P-001", actor=ACTOR, reason="typo",
                                                   data={k: v for k, v in factories.patient(sex="M").items()
                                                         if k != "patient_id"}),
                       [("update", "patient")]),
    "delete patient": (lambda s, i: delete_patient(session=s, expected_version=1,
                                                   patient_id="P-001", actor=ACTOR, reason="dup"),
                       [("delete", "patient")]),
    "record assessment": (lambda s, i: record_assessment(session=s, actor=ACTOR, data=factories.assessment(
        visit_date="2019-01-01")), [("create", "assessment")]),
    "correct assessment": (lambda s, i: correct_assessment(session=s, expected_version=1,
                                                           assessment_id=i["assessment"], actor=ACTOR,
                                                           reason="typo", data=factories.assessment(face=0)),
                           [("update", "assessment")]),
    "delete assessment": (lambda s, i: delete_assessment(session=s, expected_version=1,
                                                         assessment_id=i["assessment"], actor=ACTOR,
                                                         reason="wrong patient"), [("delete", "assessment")]),
    "record measurement": (lambda s, i: record_measurement(session=s, actor=ACTOR, data=factories.measurement(
        date="2019-01-01")), [("create", "measurement")]),
    "correct measurement": (lambda s, i: correct_measurement(session=s, expected_version=1,
                                                             measurement_id=i["measurement"],
                                                             actor=ACTOR, reason="typo",
                                                             data=factories.measurement(value=5.0)),
                            [("update", "measurement")]),
    "delete measurement": (lambda s, i: delete_measurement(session=s, expected_version=1,
                                                           measurement_id=i["measurement"], actor=ACTOR,
                                                           reason="x"), [("delete", "measurement")]),
    "start medication": (lambda s, i: start_medication(session=s, actor=ACTOR, data=factories.medication(
        drug="mycophenolate", dose=1000)), [("create", "medication_period")]),
    "update medication": (lambda s, i: update_medication(session=s, expected_version=1,
                                                         period_id=i["period"], actor=ACTOR,
                                                         reason="typo", data=factories.medication(dose=300)),
                          [("update", "medication_period")]),
    "stop medication": (lambda s, i: stop_medication(session=s, expected_version=1,
                                                     period_id=i["period"], end_date=date(2018, 6, 1),
                                                     actor=ACTOR), [("update", "medication_period")]),
    "change dose": (lambda s, i: change_dose(session=s, expected_version=1,
                                             period_id=i["period"], change_date=date(2018, 6, 1),
                                             dose=400, actor=ACTOR, reason="no response"),
                    [("update", "medication_period"), ("create", "medication_period")]),
    "delete medication": (lambda s, i: delete_medication(session=s, expected_version=1,
                                                         period_id=i["period"], actor=ACTOR, reason="x"),
                          [("delete", "medication_period")]),
    "record event": (lambda s, i: record_event(session=s, actor=ACTOR, data=factories.event(date="2019-01-01")),
                     [("create", "treatment_event")]),
    "update event": (lambda s, i: update_event(session=s, expected_version=1,
                                               event_id=i["event"], actor=ACTOR, reason="typo",
                                               data=factories.event(dose=20)), [("update", "treatment_event")]),
    "delete event": (lambda s, i: delete_event(session=s, expected_version=1,
                                               event_id=i["event"], actor=ACTOR, reason="x"),
                     [("delete", "treatment_event")]),
    "create user": (lambda s, i: create_user(session=s, actor=ACTOR, data={
        "username": "carol", "role": "physician", "password": "correct horse battery"}), [("create", "app_user")]),
    "update user": (lambda s, i: update_user(session=s, expected_version=1, username="bob", actor=ACTOR, data={
        "display_name": "Bob", "role": "physician", "active": True, "can_export_identified": False}),
        [("update", "app_user")]),
    "reset password": (lambda s, i: change_password(session=s, username="bob", new_password="another password",
                                                    actor=ACTOR), [("password_change", "app_user")]),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_each_write_leaves_one_audit_row_per_changed_record_with_the_actor(ids, engine, name):
    write, expected = WRITES[name]
    _, rows = one_write(engine, lambda session: write(session, ids))
    rows = rows.sort_values("audit_id")
    assert list(zip(rows["action"], rows["entity"], strict=True)) == expected
    assert set(rows["actor"]) == {ACTOR}
    clinical = rows[rows["entity"] != "app_user"]
    assert (clinical["patient_id"] != "").all(), "clinical audit rows name their patient"


RESTORES = {
    "patient": (lambda s, i: delete_patient(session=s, expected_version=1, patient_id="P-001", actor="x", reason="x"),
                load_deleted_patients, "patient_id",
                lambda s, key: restore_patient(session=s, expected_version=2,
                                               patient_id=key, actor=ACTOR, reason="mistake")),
    "assessment": (lambda s, i: delete_assessment(session=s, expected_version=1,
                                                  assessment_id=i["assessment"], actor="x", reason="x"),
                   load_deleted_assessments, "assessment_id",
                   lambda s, key: restore_assessment(session=s, expected_version=2,
                                                     assessment_id=int(key), actor=ACTOR, reason="m")),
    "measurement": (lambda s, i: delete_measurement(session=s, expected_version=1,
                                                    measurement_id=i["measurement"], actor="x",
                                                    reason="x"), load_deleted_measurements, "measurement_id",
                    lambda s, key: restore_measurement(session=s, expected_version=2,
                                                       measurement_id=int(key), actor=ACTOR, reason="m")),
    "medication_period": (lambda s, i: delete_medication(session=s, expected_version=1,
                                                         period_id=i["period"], actor="x", reason="x"),
                          load_deleted_medications, "period_id",
                          lambda s, key: restore_medication(session=s, expected_version=2,
                                                            period_id=int(key), actor=ACTOR, reason="m")),
    "treatment_event": (lambda s, i: delete_event(session=s, expected_version=1,
                                                  event_id=i["event"], actor="x", reason="x"),
                        load_deleted_events, "event_id",
                        lambda s, key: restore_event(session=s, expected_version=2,
                                                     event_id=int(key), actor=ACTOR, reason="m")),
}


@pytest.mark.parametrize("entity", list(RESTORES))
def test_deleted_records_are_listed_and_restored_with_one_audit_row(ids, engine, entity):
    delete, load_deleted, column, restore = RESTORES[entity]
    assert load_deleted(engine).empty
    with write_session(engine) as session:
        delete(session, ids)
    deleted = load_deleted(engine)
    assert len(deleted) == 1 and deleted["patient_id"].iloc[0] == "P-001"
    assert deleted["deleted_at"].notna().all()
    _, rows = one_write(engine, lambda session: restore(session, str(deleted[column].iloc[0])))
    assert list(zip(rows["action"], rows["entity"], rows["actor"], rows["reason"], strict=True))[0][:3] == (
        "restore", entity, ACTOR)
    assert len(rows) == 1
    assert load_deleted(engine).empty


def test_restore_needs_a_reason(ids, engine):
    from models.errors import ReasonRequired

    with write_session(engine) as session:
        delete_event(session=session, expected_version=1, event_id=ids["event"], actor="x", reason="x")
    with pytest.raises(ReasonRequired), write_session(engine) as session:
        restore_event(session=session, expected_version=2, event_id=ids["event"], actor=ACTOR, reason="  ")
    assert len(load_deleted_events(engine)) == 1


def test_hostile_filters_match_nothing(ids, engine):
    for value in ("' OR 1=1 --", "P-001' OR '1'='1", "%", "P-00_"):
        assert load_audit(engine, patient=value).empty
        assert load_audit(engine, actor=value).empty
        assert load_audit(engine, entity=value).empty
    assert not load_audit(engine, patient="P-001").empty


def test_filter_choices_list_what_the_trail_holds(ids, engine):
    choices = load_audit_choices(engine)
    assert choices["actor"] == ["setup"]
    assert {"patient", "assessment", "app_user"} <= set(choices["entity"])
    assert choices["action"] == ["create"]


def test_changes_are_described_field_by_field():
    before = '{"dose": 200.0, "end_date": null, "drug": "imatinib"}'
    after = '{"dose": 400.0, "end_date": "2024-03-01", "drug": "imatinib"}'
    table = describe_changes(before, after)
    assert table.to_dict("records") == [{"field": "dose", "before": "200.0", "after": "400.0"},
                                        {"field": "end_date", "before": "—", "after": "2024-03-01"}]
    assert summarise_changes(before, after) == "dose: 200.0 → 400.0; end_date: — → 2024-03-01"
    created = describe_changes(None, '{"drug": "imatinib", "end_date": null}')
    assert created.to_dict("records") == [{"field": "drug", "before": "—", "after": "imatinib"}]
    assert describe_changes(None, None).empty
    long = summarise_changes(None, '{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}')
    assert long.endswith("… 2 more")
