"""The kinds of record the write path takes, and a validated record as the write path holds it.

A record of a batch is a plain tuple (a million of them may be held at once): the patient's patient_id, the key
columns after patient_id (the record's identity: rows with the same key are the same record), the value columns a
bundle carries, and the columns only a form carries (`extra`: an assessment's notes). `extract` gives them from a
validated schema object; `models.fastparse` gives the same from plain bundle cells without pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from models.assessment import Assessment, AssessmentCreate, AssessmentUpdate
from models.catalog import SITE_CODES
from models.errors import DuplicateAssessment, DuplicatePatient, DuplicateRecord, OverlappingPeriod, SkintrackError
from models.fastparse import fast_assessment, fast_measurement
from models.measurement import Measurement, MeasurementCreate, MeasurementUpdate
from models.patient import Patient, PatientCreate, PatientUpdate
from models.rules import stored_total
from models.treatment import (
    AE_FIELDS,
    FROM_A_BUNDLE,
    MedicationPeriod,
    MedicationPeriodCreate,
    MedicationPeriodUpdate,
    TreatmentEvent,
    TreatmentEventCreate,
    TreatmentEventUpdate,
)
from models.validation import parse


@dataclass(frozen=True)
class Kind:
    """One kind of record: its schemas, its table and how its columns divide."""

    name: str  # "patient", "assessment", "measurement", "medication", "event"
    schema: type  # the input schema of a new record
    update_schema: type  # the input schema of a correction
    table: type  # the table model
    key: tuple[str, ...]  # key columns after the patient (table column names)
    values: tuple[str, ...]  # the other columns a bundle carries
    extra: tuple[str, ...]  # columns only a form carries, with their defaults
    extra_defaults: tuple
    date_field: str | None  # checked against the patient's birth year
    duplicate: type[SkintrackError]  # the error of a key taken by another record
    label: str  # for people: "skin score assessments"

    @property
    def pk(self) -> str:
        """The table's primary key column (patient_key, assessment_id, period_id ...)."""
        return self.table.__table__.primary_key.columns[0].name

    @property
    def entity(self) -> str:
        """The table's name, as the audit trail names it."""
        return self.table.__tablename__


PATIENT_VALUES = ("diagnosis", "sex", "birth_year", "age_at_baseline", "diagnosis_date", "name", "mrn", "notes")

PATIENT = Kind("patient", PatientCreate, PatientUpdate, Patient, (), PATIENT_VALUES, (), (), None,
               DuplicatePatient, "patients")
ASSESSMENT = Kind("assessment", AssessmentCreate, AssessmentUpdate, Assessment, ("visit_date", "rater"),
                  (*SITE_CODES, "total", "incomplete"), ("notes",), ("",), "visit_date", DuplicateAssessment,
                  "skin score assessments")
MEASUREMENT = Kind("measurement", MeasurementCreate, MeasurementUpdate, Measurement,
                   ("date", "measure", "side", "rater"), ("value", "unit"), (), (), "date", DuplicateRecord,
                   "measurements")
MEDICATION = Kind("medication", MedicationPeriodCreate, MedicationPeriodUpdate, MedicationPeriod,
                  ("drug", "start_date"), ("dose", "dose_unit", "frequency", "route", "end_date", "reason"), (), (),
                  "start_date", OverlappingPeriod, "medication periods")
EVENT = Kind("event", TreatmentEventCreate, TreatmentEventUpdate, TreatmentEvent,
             ("date", "kind", "sites", "agent", "description"),
             ("dose", "dose_unit", "grade", "serious", "end_date", *AE_FIELDS), (), (), "date", DuplicateRecord,
             "treatment events")

KINDS: tuple[Kind, ...] = (PATIENT, ASSESSMENT, MEASUREMENT, MEDICATION, EVENT)  # the order a batch is applied in


def extract(kind: Kind, obj, *, patient_id: str | None = None) -> tuple[str, tuple, tuple, tuple | None]:
    """(patient_id, key, values, extra) of a validated schema object, as the table stores them (an assessment's
    total is the stored rater total, `models.rules.stored_total`). `patient_id` for a schema without one (a
    patient's correction, PatientUpdate)."""
    if kind is ASSESSMENT:
        scores = tuple(getattr(obj, c) for c in SITE_CODES)
        total = stored_total(scores, obj.total)
        values = (*scores, total, total is None)
    else:
        values = tuple(getattr(obj, c) for c in kind.values)
    extra = tuple(getattr(obj, c) for c in kind.extra)
    if kind is PATIENT:  # a new patient's centre (None: the only one); a correction leaves the centre as it is
        extra = (obj.centre_key,) if isinstance(obj, PatientCreate) else None
    return (patient_id if patient_id is not None else obj.patient_id, tuple(getattr(obj, c) for c in kind.key),
            values, extra)


def reader(kind: Kind, today: date) -> Callable[[dict], tuple[str, tuple, tuple]]:
    """record (column -> cell) -> (patient_id, key, values) of a bundle-shaped record (a bundle's row, or a demo
    registry's): the fast parse when it recognises the record (models.fastparse), else the schema, which raises
    the SkintrackError of a bad record. `today`: the day "not in the future" is judged against, once per batch.

    The schema runs with FROM_A_BUNDLE: such records may hold adverse events recorded before terms were coded."""
    fast = {ASSESSMENT.name: fast_assessment, MEASUREMENT.name: fast_measurement}.get(kind.name)
    schema, context = kind.schema, {FROM_A_BUNDLE: True}

    def slow(record: dict) -> tuple[str, tuple, tuple]:
        return extract(kind, parse(schema, record, context=context))[:3]

    if fast is None:
        return slow

    def read(record: dict) -> tuple[str, tuple, tuple]:
        return fast(record, today) or slow(record)

    return read
