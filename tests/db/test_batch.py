"""The batch write path (db.batch) and the services built on it: a form's save is a batch of one, a visit is one
transaction, an import is a batch of many. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from db.audit import load_audit
from db.batch import Row, write_batch
from db.engine import write_session
from db.measures import load_measurement_rows, record_measurement
from db.patients import create_patient, load_patients
from db.treatments import change_dose, load_medication_rows, record_event, start_medication
from db.visits import VisitMeasure, load_assessment_rows, save_visit
from models.catalog import SITE_CODES
from models.errors import (
    DuplicateAssessment,
    InvalidValue,
    OverlappingPeriod,
    ReasonRequired,
    StaleRecord,
    UnknownPatient,
)
from models.records import ASSESSMENT, PATIENT, PATIENT_VALUES
from tests import factories
from tests.exchange.conftest import snapshot

SCORES = {code: factories.FULL_SCORES[code] for code in SITE_CODES}


@pytest.fixture
def patient(engine):
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="setup")
    return engine


def test_a_new_visit_with_its_measures_in_one_transaction(patient):
    with write_session(patient) as session:
        saved = save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a",
                           actor="nurse", scores=SCORES, notes="first visit", measures=[
                               VisitMeasure("ftp_distance", "R", 4.0), VisitMeasure("haq_di", "", 1.25),
                               VisitMeasure("oral_aperture", "", None)])  # left blank: nothing
    assert saved.assessment.total == 31 and len(saved.created) == 2
    visit = load_assessment_rows(patient, "P-001").iloc[0]
    assert (visit["total"], visit["notes"], visit["version"]) == (31, "first visit", 1)
    measures = load_measurement_rows(patient, "P-001")
    assert sorted(measures["measure"]) == ["ftp_distance", "haq_di"]
    assert set(measures["rater"]) == {"dr a"} and set(measures["date"].dt.date) == {date(2018, 1, 10)}
    assert set(load_audit(patient, actor="nurse")["action"]) == {"create"}


def test_a_visit_correction_moves_the_rater_corrects_and_clears_measures(patient):
    with write_session(patient) as session:
        saved = save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a",
                           actor="nurse", scores=SCORES, measures=[VisitMeasure("ftp_distance", "R", 4.0),
                                                                   VisitMeasure("haq_di", "", 1.25)])
    ftp, haq = saved.created
    with write_session(patient) as session:
        save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr b", actor="nurse",
                   scores={**SCORES, "face": 3}, assessment_id=saved.assessment.assessment_id, expected_version=1,
                   reason="scored by dr b, face misread", measures=[
                       VisitMeasure("ftp_distance", "R", 5.0, ftp, 1), VisitMeasure("haq_di", "", None, haq, 1)])
    visits = load_assessment_rows(patient, "P-001")
    assert len(visits) == 1, "changing the rater of an opened visit corrects it, it opens no new visit"
    assert (visits.iloc[0]["rater"], visits.iloc[0]["total"], visits.iloc[0]["version"]) == ("dr b", 33, 2)
    measures = load_measurement_rows(patient, "P-001")
    assert measures[["measure", "value", "rater", "version"]].values.tolist() == [["ftp_distance", 5.0, "dr b", 2]]
    audit = load_audit(patient, actor="nurse")
    assert sorted(audit["action"])[-3:] == ["delete", "update", "update"]
    assert set(audit[audit["action"] != "create"]["reason"]) == {"scored by dr b, face misread"}


def test_a_stale_measure_rolls_back_the_whole_visit(patient):
    with write_session(patient) as session:
        saved = save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a",
                           actor="nurse", scores=SCORES, measures=[VisitMeasure("ftp_distance", "R", 4.0)])
    with write_session(patient) as session:  # someone else corrects the measure meanwhile
        save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a", actor="other",
                   measures=[VisitMeasure("ftp_distance", "R", 6.0, saved.created[0], 1)], reason="remeasured")
    before = snapshot(patient)
    with pytest.raises(StaleRecord), write_session(patient) as session:
        save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a", actor="nurse",
                   scores={**SCORES, "face": 0}, assessment_id=saved.assessment.assessment_id, expected_version=1,
                   reason="face", measures=[VisitMeasure("ftp_distance", "R", 5.0, saved.created[0], 1)])
    assert snapshot(patient) == before, "the assessment's correction went back with the stale measure"


def test_a_visit_correction_needs_a_reason_and_both_halves_of_the_opened_visit(patient):
    with write_session(patient) as session:
        saved = save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a",
                           actor="nurse", total=27)
    with pytest.raises(ReasonRequired), write_session(patient) as session:
        save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a", actor="nurse",
                   total=28, assessment_id=saved.assessment.assessment_id, expected_version=1)
    with pytest.raises(TypeError), write_session(patient) as session:
        save_visit(session=session, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a", actor="nurse",
                   total=28, assessment_id=saved.assessment.assessment_id, reason="x")


def test_a_form_batch_raises_the_first_refusal_with_every_problem(patient):
    rows = [Row(0, "P-001", (date(2018, 1, 10), "dr a"), (*[1] * 17, 17.0, False)),
            Row(0, "P-001", (date(2018, 1, 10), "dr a"), (*[2] * 17, 34.0, False)),
            Row(0, "P-404", (date(2018, 1, 11), "dr a"), (*[2] * 17, 34.0, False))]
    with write_session(patient) as session:
        result = write_batch(session, {ASSESSMENT.name: rows}, actor="nurse")
        assert result.ids == {}, "refused: nothing written"
        with pytest.raises(UnknownPatient) as caught:
            result.raise_first()
    assert [type(p) for p in caught.value.problems] == [UnknownPatient, DuplicateAssessment]
    assert load_assessment_rows(patient, "P-001").empty


def test_a_dose_change_is_one_batch_and_the_database_agrees(patient):
    with write_session(patient) as session:
        period = start_medication(session=session, data=factories.medication(), actor="nurse")
        following = change_dose(session=session, period_id=period.period_id, expected_version=1,
                                change_date=date(2018, 7, 1), dose=400, actor="nurse", reason="partial response")
    rows = load_medication_rows(patient, "P-001")
    assert rows[["dose", "version"]].values.tolist() == [[200, 2], [400, 1]]
    assert following.start_date == date(2018, 7, 1)
    with pytest.raises(OverlappingPeriod), write_session(patient) as session:
        start_medication(session=session, data=factories.medication(start_date="2019-01-01"), actor="nurse")


def test_an_adverse_events_suspected_drug_is_one_of_the_patients_medications(patient):
    with pytest.raises(InvalidValue) as caught, write_session(patient) as session:
        record_event(session=session, actor="nurse", data=factories.adverse_event(suspected_drug="imatinib"))
    assert caught.value.field == "suspected_drug"
    with write_session(patient) as session:
        start_medication(session=session, data=factories.medication(), actor="nurse")
        record_event(session=session, actor="nurse", data=factories.adverse_event(
            suspected_drug="imatinib", relatedness="probable", action_taken="dose reduced", outcome="recovering"))


def test_an_import_batch_updates_with_the_version_and_audits_each_change(patient):
    with write_session(patient) as session:
        record_measurement(session=session, data=factories.measurement(), actor="nurse")
    values = ("lcSSc", "F", 1968, None, date(2017, 2, 1), "Test Person", "000101", "")
    assert len(values) == len(PATIENT_VALUES)
    rows = [Row(2, "P-001", (), values)]
    with write_session(patient) as session:
        result = write_batch(session, {PATIENT.name: rows}, actor="importer", merge=True, update_existing=True,
                             bundle="b.zip", import_detail=lambda r: "b.zip")
    assert result.updated == {"patient": 1, "assessment": 0, "measurement": 0, "medication": 0, "event": 0}
    assert load_patients(patient).iloc[0]["diagnosis"] == "lcSSc"
    update = load_audit(patient, action="update").iloc[0]
    assert (update["actor"], update["reason"]) == ("importer", "import of b.zip")
    assert json.loads(update["after"])["version"] == 2
    with patient.connect() as connection:
        assert connection.execute(text("SELECT version FROM patient")).scalar_one() == 2
