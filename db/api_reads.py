"""The API's reads of records (issue 17): pages of live records with their ids and versions, in id order, after a
cursor, filtered by patient and date range; one record by id; and the audit row of a read of identified data.

Only reads (and the read's audit row, through db.common.audit): every write of the API goes through the write
paths of db/patients.py, db/visits.py, db/measures.py and db/treatments.py.

Centres (issue 16): the engine's scope (the token's account's, `db.scope.scoped`) filters every read on the
patient's centre, in `_statement`; another centre's record answers exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from db.common import audit
from db.engine import write_session
from db.frames import matchable
from db.scope import patient_filter
from models import Assessment, Measurement, MedicationPeriod, Patient, TreatmentEvent
from models.catalog import SITE_CODES
from models.centre import Centre
from models.treatment import AE_FIELDS


@dataclass(frozen=True)
class Resource:
    name: str  # the URL path segment and the audit trail's entity
    model: type
    id_column: str
    date_column: str | None
    fields: tuple[str, ...]


PATIENTS = Resource("patients", Patient, "patient_key", "diagnosis_date",
                    ("diagnosis", "sex", "birth_year", "age_at_baseline", "diagnosis_date", "name", "mrn", "notes"))
ASSESSMENTS = Resource("assessments", Assessment, "assessment_id", "visit_date",
                       ("visit_date", "rater", *SITE_CODES, "total", "incomplete", "notes"))
MEASUREMENTS = Resource("measurements", Measurement, "measurement_id", "date",
                        ("date", "measure", "side", "value", "unit", "rater"))
MEDICATIONS = Resource("medication_periods", MedicationPeriod, "period_id", "start_date",
                       ("drug", "dose", "dose_unit", "frequency", "route", "start_date", "end_date", "reason"))
EVENTS = Resource("events", TreatmentEvent, "event_id", "date",
                  ("date", "kind", "description", "sites", "agent", "dose", "dose_unit", "grade", "serious",
                   "end_date", *(name for name in AE_FIELDS if name not in ("grade", "serious", "end_date"))))
RESOURCES = {r.name: r for r in (PATIENTS, ASSESSMENTS, MEASUREMENTS, MEDICATIONS, EVENTS)}


def _statement(engine: Engine, resource: Resource):
    model = resource.model
    columns = [getattr(model, name) for name in resource.fields]
    if model is Patient:  # with its centre's code
        statement = (select(Patient.patient_key.label("id"), Patient.patient_id, Centre.code.label("centre"),
                            *columns, Patient.version).join(Centre, Centre.centre_key == Patient.centre_key))
        return statement.where(Patient.deleted_at.is_(None), patient_filter(engine))
    statement = (select(getattr(model, resource.id_column).label("id"), Patient.patient_id, *columns, model.version)
                 .join(Patient, Patient.patient_key == model.patient_key))
    return statement.where(model.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))


def read_page(engine: Engine, resource: Resource, *, patient_id: str | None = None, since: date | None = None,
              until: date | None = None, after: int | None = None, limit: int = 100) -> tuple[list[dict], int | None]:
    """Up to `limit` live records of the engine's scope in id order after the id `after`, of `patient_id` only and
    dated within [since, until] when given (both inclusive); and the id to continue after, None at the end."""
    model = resource.model
    id_column = getattr(model, resource.id_column)
    statement = _statement(engine, resource)
    if patient_id is not None:
        statement = statement.where(Patient.patient_id.in_(matchable([patient_id])))
    if resource.date_column is not None:
        when = getattr(model, resource.date_column)
        if since is not None:
            statement = statement.where(when >= since)
        if until is not None:
            statement = statement.where(when <= until)
    if after is not None:
        statement = statement.where(id_column > after)
    statement = statement.order_by(id_column).limit(limit + 1)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(statement).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)


def read_one(engine: Engine, resource: Resource, record_id: int | None = None, *,
             patient_id: str | None = None) -> dict | None:
    """One live record of the engine's scope by its id (or, for patients, by patient_id), or None (another
    centre's record too)."""
    statement = _statement(engine, resource)
    if patient_id is not None:
        statement = statement.where(Patient.patient_id.in_(matchable([patient_id])))
    if record_id is not None:
        statement = statement.where(getattr(resource.model, resource.id_column) == record_id)
    with engine.connect() as connection:
        row = connection.execute(statement.limit(1)).mappings().first()
    return dict(row) if row is not None else None


def audit_read(engine: Engine, *, actor: str, entity: str, detail: str, patient_id: str | None = None) -> None:
    """The audit row of a read of identified data over the API (who, with which token, what was asked). A patient
    outside the engine's scope is no patient: the row names none (as for an identifier never used)."""
    with write_session(engine) as session:
        key = None
        if patient_id is not None:
            key = session.execute(select(Patient.patient_key).where(
                Patient.patient_id.in_(matchable([patient_id])), patient_filter(session))).scalar()
        audit(session, actor=actor, action="api_read", entity=entity, patient_key=key, detail=detail[:2000])
