"""Security review, SQL injection: hostile text through every free-text field of every write path and through
every read filter is stored and matched literally (all SQL is built by SQLAlchemy with bound parameters), on
SQLite and PostgreSQL. The tables are intact afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from db.audit import load_audit
from db.engine import write_session
from db.measures import load_measurements, record_measurement
from db.patients import create_patient, get_patient, load_patients
from db.treatments import load_events, load_medications, record_event, start_medication
from db.visits import load_assessments, record_assessment
from tests import factories

HOSTILE = [
    "x'); DROP TABLE patient; --",
    "' OR '1'='1",
    "Robert\"; DELETE FROM assessment; --",
    "%' UNION SELECT password_hash FROM app_user --",
    "\\'; TRUNCATE audit_event; --",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_literally_and_harms_nothing(engine, text):
    tables_before = set(inspect(engine).get_table_names())
    with write_session(engine) as session:
        create_patient(session=session, actor=text, data=factories.patient(name=text, mrn="M1", notes=text))
        record_assessment(session=session, actor=text, data=factories.assessment(rater=text, notes=text))
        record_measurement(session=session, actor=text, data=factories.measurement(rater=text))
        start_medication(session=session, actor=text, data=factories.medication(drug=text.lower()))
        record_event(session=session, actor=text, data=factories.event(description=text))

    assert set(inspect(engine).get_table_names()) == tables_before
    assert get_patient(engine, "P-001")["notes"] == text
    assert load_assessments(engine)["rater"].tolist() == [text]
    assert load_measurements(engine)["rater"].tolist() == [text]
    assert load_medications(engine)["drug"].tolist() == [text.lower()]
    assert load_events(engine)["description"].tolist() == [text]
    assert len(load_audit(engine, actor=text)) == 5
    # Hostile values used as read filters match nothing (or exactly the literal), never everything.
    assert load_patients(engine, [text]).empty
    assert load_assessments(engine, [text]).empty
    assert load_audit(engine, patient=text).empty
    assert load_audit(engine, entity=text).empty
    assert len(load_patients(engine)) == 1
