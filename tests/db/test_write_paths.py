"""Every write path on SQLite and PostgreSQL: validate -> write -> audit, in one transaction."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from db.audit import load_audit
from db.engine import write_session
from db.measures import load_measurements, record_measurement
from db.patients import create_patient, delete_patient, load_patients, patient_version, restore_patient, update_patient
from db.treatments import (
    change_dose,
    load_events,
    load_medication_rows,
    load_medications,
    record_event,
    start_medication,
    stop_medication,
)
from db.visits import (
    correct_assessment,
    delete_assessment,
    load_assessments,
    record_assessment,
    restore_assessment,
)
from models import Assessment, AuditEvent, MedicationPeriod, Patient
from models.catalog import SITE_CODES
from models.errors import (
    DuplicateAssessment,
    DuplicatePatient,
    InvalidDate,
    InvalidScore,
    NotFound,
    OverlappingPeriod,
    ReasonRequired,
    StaleRecord,
    UnknownPatient,
)
from tests import factories

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def with_patient(engine):
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="tester")
    return engine


def test_create_patient_writes_one_audit_row(engine):
    with write_session(engine) as session:
        patient = create_patient(session=session, data=factories.patient(), actor="tester")
    audit = load_audit(engine)
    assert len(audit) == 1
    row = audit.iloc[0]
    assert (row["actor"], row["action"], row["entity"], row["entity_id"]) == ("tester", "create", "patient",
                                                                               patient.patient_key)
    assert json.loads(row["after"])["patient_id"] == "P-001"
    frame = load_patients(engine)
    assert frame["patient_id"].tolist() == ["P-001"] and frame["birth_year"].tolist() == [1968]


def test_duplicate_patient_is_refused(with_patient):
    with pytest.raises(DuplicatePatient, match="P-001"), write_session(with_patient) as session:
        create_patient(session=session, data=factories.patient(), actor="tester")
    assert count(with_patient, Patient) == 1


def test_full_assessment_stores_the_17_scores_and_their_total(with_patient):
    with write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(), actor="tester")
    frame = load_assessments(with_patient)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert [row[c] for c in SITE_CODES] == [factories.FULL_SCORES[c] for c in SITE_CODES]
    assert row["total"] == 31 and not row["incomplete"]


def test_total_only_and_incomplete_assessments(with_patient):
    with write_session(with_patient) as session:
        record_assessment(session=session, data=factories.total_only(total=27.5), actor="tester")
        record_assessment(session=session, data=factories.assessment(visit_date="2018-07-09", foot_l=""),
                          actor="tester")
    frame = load_assessments(with_patient).set_index("visit_date")
    assert frame.loc["2018-04-12", "total"] == 27.5 and not frame.loc["2018-04-12", "incomplete"]
    assert frame.loc["2018-07-09", "incomplete"]
    assert pd.isna(frame.loc["2018-07-09", "total"])


@pytest.mark.parametrize("bad,error,field", [
    ({"hand_r": 4}, InvalidScore, "hand_r"),
    ({"visit_date": TOMORROW}, InvalidDate, "visit_date"),
    ({"visit_date": "1960-05-01"}, InvalidDate, "visit_date"),  # before the birth year 1968
    ({"patient_id": "NOPE"}, UnknownPatient, "patient_id"),
])
def test_invalid_assessment_raises_named_error_and_writes_nothing(with_patient, bad, error, field):
    audit_rows = count(with_patient, AuditEvent)
    with pytest.raises(error) as caught, write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(**bad), actor="tester")
    assert caught.value.field == field
    assert count(with_patient, Assessment) == 0
    assert count(with_patient, AuditEvent) == audit_rows


def test_duplicate_visit_names_the_existing_assessment_and_writes_nothing(with_patient):
    with write_session(with_patient) as session:
        first = record_assessment(session=session, data=factories.assessment(), actor="tester")
    with pytest.raises(DuplicateAssessment) as caught, write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(face=0), actor="tester")
    assert caught.value.existing_id == first.assessment_id and caught.value.field == "visit_date"
    assert count(with_patient, Assessment) == 1
    # Another rater on the same day is a second assessment, not a duplicate.
    with write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(rater="dr b"), actor="tester")
    assert count(with_patient, Assessment) == 2


def test_database_refuses_out_of_range_scores_even_outside_the_service(with_patient):
    with pytest.raises(Exception, match="(?i)check"), with_patient.begin() as connection:
        connection.execute(text("INSERT INTO assessment (patient_key, visit_date, rater, notes, face, incomplete) "
                                "VALUES (1, '2018-01-01', 'x', '', 4, true)"))


def test_correction_needs_a_reason_and_keeps_old_and_new(with_patient):
    with write_session(with_patient) as session:
        original = record_assessment(session=session, data=factories.assessment(), actor="tester")
    with pytest.raises(ReasonRequired), write_session(with_patient) as session:
        correct_assessment(session=session, assessment_id=original.assessment_id, expected_version=1,
                           data=factories.assessment(face=3), actor="tester", reason=" ")
    with write_session(with_patient) as session:
        correct_assessment(session=session, assessment_id=original.assessment_id, expected_version=1,
                           data=factories.assessment(face=3), actor="corrector", reason="typo: face was 3")
    frame = load_assessments(with_patient)
    assert frame.iloc[0]["face"] == 3 and frame.iloc[0]["total"] == 33
    update = load_audit(with_patient, action="update").iloc[0]
    assert update["actor"] == "corrector" and update["reason"] == "typo: face was 3"
    assert json.loads(update["before"])["face"] == 1 and json.loads(update["after"])["face"] == 3
    assert json.loads(update["before"])["total"] == 31 and json.loads(update["after"])["total"] == 33


def test_soft_delete_hides_and_restore_brings_back(with_patient):
    with write_session(with_patient) as session:
        row = record_assessment(session=session, data=factories.assessment(), actor="tester")
    with write_session(with_patient) as session:
        delete_assessment(session=session, assessment_id=row.assessment_id, expected_version=1, actor="tester",
                          reason="entered twice")
    assert load_assessments(with_patient).empty
    assert count(with_patient, Assessment) == 1  # still there, only hidden
    # The key is free again while the row is deleted ...
    with write_session(with_patient) as session:
        replacement = record_assessment(session=session, data=factories.assessment(face=0), actor="tester")
    # ... so restoring now would collide, and says so.
    with pytest.raises(DuplicateAssessment), write_session(with_patient) as session:
        restore_assessment(session=session, assessment_id=row.assessment_id, expected_version=2, actor="admin",
                           reason="deleted in error")
    with write_session(with_patient) as session:
        delete_assessment(session=session, assessment_id=replacement.assessment_id, expected_version=1,
                          actor="tester", reason="wrong")
        restore_assessment(session=session, assessment_id=row.assessment_id, expected_version=2, actor="admin",
                           reason="deleted in error")
    assert load_assessments(with_patient).iloc[0]["face"] == 1
    actions = load_audit(with_patient)["action"].tolist()
    assert actions[:4] == ["restore", "delete", "create", "delete"]
    with pytest.raises(StaleRecord), write_session(with_patient) as session:  # restored already: version 3
        restore_assessment(session=session, assessment_id=row.assessment_id, expected_version=2, actor="admin",
                           reason="again")
    with pytest.raises(NotFound), write_session(with_patient) as session:
        restore_assessment(session=session, assessment_id=10 ** 6, expected_version=1, actor="admin",
                           reason="again")


def test_deleted_patient_is_hidden_and_restorable(with_patient):
    with write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(), actor="tester")
        delete_patient(session=session, patient_id="P-001", expected_version=1, actor="admin", reason="test record")
    assert load_patients(with_patient).empty and load_assessments(with_patient).empty
    with pytest.raises(UnknownPatient), write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(visit_date="2019-01-01"), actor="tester")
    with write_session(with_patient) as session:
        restore_patient(session=session, patient_id="P-001", expected_version=2, actor="admin", reason="needed")
    assert len(load_assessments(with_patient)) == 1


def test_update_patient_is_audited_and_bumps_the_data_version(with_patient):
    version = patient_version(with_patient, "P-001")
    with write_session(with_patient) as session:
        update_patient(session=session, patient_id="P-001", expected_version=1,
                       data={**factories.patient(), "diagnosis": "lcSSc"}, actor="tester", reason="reclassified")
    assert load_patients(with_patient).iloc[0]["diagnosis"] == "lcSSc"
    assert patient_version(with_patient, "P-001") > version
    with write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(), actor="tester")
    assert patient_version(with_patient, "P-001") > version + 1


def test_medication_ending_before_it_starts_is_refused(with_patient):
    with pytest.raises(InvalidDate) as caught, write_session(with_patient) as session:
        start_medication(session=session, data=factories.medication(end_date="2018-01-01"), actor="tester")
    assert caught.value.field == "end_date"
    assert count(with_patient, MedicationPeriod) == 0


def test_overlapping_periods_of_one_drug_are_refused(with_patient):
    with write_session(with_patient) as session:
        start_medication(session=session, data=factories.medication(end_date="2018-06-30"), actor="tester")
    with pytest.raises(OverlappingPeriod), write_session(with_patient) as session:
        start_medication(session=session, data=factories.medication(start_date="2018-06-30", dose=400),
                         actor="tester")
    with write_session(with_patient) as session:  # the day after the end is fine (end dates inclusive)
        start_medication(session=session, data=factories.medication(start_date="2018-07-01", dose=400),
                         actor="tester")
        start_medication(session=session, data=factories.medication(drug="methotrexate", dose=15,
                                                                     frequency="weekly"), actor="tester")
    assert count(with_patient, MedicationPeriod) == 3


def test_change_dose_makes_two_contiguous_periods(with_patient):
    with write_session(with_patient) as session:
        period = start_medication(session=session, data=factories.medication(), actor="tester")
    with write_session(with_patient) as session:
        change_dose(session=session, period_id=period.period_id, expected_version=1, change_date=date(2018, 7, 1),
                    dose=400, actor="tester", reason="partial response")
    rows = load_medication_rows(with_patient, "P-001")
    assert rows["dose"].tolist() == [200, 400]
    assert rows["start_date"].dt.date.tolist() == [date(2018, 1, 20), date(2018, 7, 1)]
    assert rows["end_date"].iloc[0].date() == date(2018, 6, 30) and rows["end_date"].isna().iloc[1]
    assert rows.iloc[1]["reason"] == "partial response"
    with pytest.raises(InvalidDate), write_session(with_patient) as session:
        change_dose(session=session, period_id=int(rows.iloc[1]["period_id"]), expected_version=1,
                    change_date=date(2018, 7, 1), dose=600, actor="tester", reason="more")
    with write_session(with_patient) as session:
        stop_medication(session=session, period_id=int(rows.iloc[1]["period_id"]), expected_version=1,
                        end_date=date(2019, 1, 1), actor="tester", reason="remission")
    assert load_medications(with_patient)["end_date"].astype(str).tolist() == ["2018-06-30", "2019-01-01"]


def test_injection_stores_its_sites(with_patient):
    with write_session(with_patient) as session:
        record_event(session=session, data=factories.event(sites="fingers_l;hand_r"), actor="tester")
    events = load_events(with_patient)
    assert events.iloc[0]["sites"] == "hand_r;fingers_l" and events.iloc[0]["kind"] == "steroid_injection"


def test_measurement_round_trip(with_patient):
    with write_session(with_patient) as session:
        record_measurement(session=session, data=factories.measurement(), actor="tester")
    frame = load_measurements(with_patient)
    assert frame[["measure", "side", "value", "unit"]].values.tolist() == [["ftp_distance", "R", 4.0, "cm"]]


def test_audit_rows_cannot_be_changed_or_deleted(with_patient):
    for statement in ("UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), with_patient.begin() as connection:
            connection.execute(text(statement))
    assert load_audit(with_patient).iloc[0]["actor"] == "tester"


def test_a_failed_write_leaves_nothing_half_written(with_patient):
    """Two writes in one transaction, the second invalid: neither lands, nor any audit row."""
    audit_rows = count(with_patient, AuditEvent)
    with pytest.raises(InvalidScore), write_session(with_patient) as session:
        record_assessment(session=session, data=factories.assessment(), actor="tester")
        record_assessment(session=session, data=factories.assessment(visit_date="2018-02-01", face=7),
                          actor="tester")
    assert count(with_patient, Assessment) == 0 and count(with_patient, AuditEvent) == audit_rows
