"""Chart data: only the chosen patient's live rows, on SQLite and PostgreSQL; an unknown patient is empty."""

from __future__ import annotations

from db.chart_data import load_chart_data
from db.engine import write_session
from db.measures import record_measurement
from db.patients import create_patient
from db.treatments import record_event, start_medication
from db.visits import delete_assessment, record_assessment
from tests import factories


def test_only_that_patients_live_rows(engine):
    with write_session(engine) as session:
        for pid in ("P-001", "P-002"):
            create_patient(session=session, actor="t", data=factories.patient(patient_id=pid))
            record_assessment(session=session, actor="t", data=factories.assessment(patient_id=pid))
            record_measurement(session=session, actor="t", data=factories.measurement(patient_id=pid))
            start_medication(session=session, actor="t", data=factories.medication(patient_id=pid))
            record_event(session=session, actor="t", data=factories.event(patient_id=pid))
        gone = record_assessment(session=session, actor="t", data=factories.total_only(patient_id="P-001"))
    with write_session(engine) as session:
        delete_assessment(session=session, expected_version=1,
                          assessment_id=gone.assessment_id, actor="t", reason="entered twice")

    data = load_chart_data(engine, "P-001")
    assert data.exists and data.patient["diagnosis"] == "dcSSc"
    assert data.assessments["patient_id"].tolist() == ["P-001"] and data.assessments["total"].tolist() == [31.0]
    for frame in (data.measurements, data.medications, data.events):
        assert frame["patient_id"].tolist() == ["P-001"]
    assert data.events["sites"].tolist() == ["hand_r;hand_l"]

    unknown = load_chart_data(engine, "NOPE")
    assert not unknown.exists
    assert all(frame.empty for frame in (unknown.assessments, unknown.measurements, unknown.medications,
                                         unknown.events))
