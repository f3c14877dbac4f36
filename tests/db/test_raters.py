"""The clinic's raters for the visit entry's rater choice: everyone who scored a live visit, most recent first."""

from __future__ import annotations

from db.engine import write_session
from db.patients import create_patient, delete_patient
from db.raters import clinic_raters
from db.visits import delete_assessment, record_assessment
from tests import factories


def test_raters_most_recent_first_without_deleted_or_blank(engine):
    assert clinic_raters(engine) == []
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        create_patient(session=session, actor="t", data=factories.patient(patient_id="P-002"))
        for day, rater in (("2019-01-10", "Dr Old"), ("2024-05-01", "Dr Recent"), ("2021-03-03", "Dr Middle"),
                           ("2021-03-03", "Dr Alpha"), ("2020-01-01", ""), ("2018-01-01", "Dr Recent")):
            record_assessment(session=session, actor="t", data=factories.assessment(visit_date=day, rater=rater))
        gone = record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2025-01-01", rater="Dr Deleted Visit"))
        record_assessment(session=session, actor="t", data=factories.assessment(
            patient_id="P-002", visit_date="2025-02-02", rater="Dr Deleted Patient"))
    with write_session(engine) as session:
        delete_assessment(session=session, assessment_id=gone.assessment_id, expected_version=1, actor="t",
                          reason="wrong")
        delete_patient(session=session, patient_id="P-002", expected_version=1, actor="t", reason="duplicate")
    assert clinic_raters(engine) == ["Dr Recent", "Dr Alpha", "Dr Middle", "Dr Old"]
