"""Patients: the single write path (create, update, soft delete, restore) and the reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from analysis.frames import PATIENT_COLUMNS
from db.common import audit, bump_versions, live_patient, require_reason, restore_row, snapshot, soft_delete
from db.frames import DATE, INT, TEXT, TIMESTAMP, code_point_order, read_frame
from models import Patient, PatientCreate, PatientUpdate
from models.errors import DuplicatePatient
from models.validation import parse

PATIENT_TYPES = {
    "patient_id": TEXT, "diagnosis": TEXT, "sex": TEXT, "birth_year": INT, "age_at_baseline": INT,
    "diagnosis_date": DATE, "name": TEXT, "mrn": TEXT, "notes": TEXT,
}


def create_patient(*, session: Session, data: PatientCreate | dict, actor: str,
                   import_id: int | None = None) -> Patient:
    """Add a patient, audited. Raises DuplicatePatient, or the validation error of a bad field."""
    data = data if isinstance(data, PatientCreate) else parse(PatientCreate, data)
    existing = session.exec(select(Patient).where(Patient.patient_id == data.patient_id)).first()
    if existing is not None:
        hint = " (deleted: an administrator can restore it)" if existing.deleted_at else ""
        raise DuplicatePatient(f"patient {data.patient_id!r} exists already{hint}", field="patient_id")
    patient = Patient(import_id=import_id, **data.model_dump())
    session.add(patient)
    session.flush()
    audit(session, actor=actor, action="create", entity="patient", entity_id=patient.patient_key,
          patient_key=patient.patient_key, after=patient, detail=f"import #{import_id}" if import_id else "")
    return patient


def update_patient(*, session: Session, patient_id: str, data: PatientUpdate | dict, actor: str,
                   reason: str = "") -> Patient:
    """Change a patient's details (not the patient_id), audited with before and after."""
    data = data if isinstance(data, PatientUpdate) else parse(PatientUpdate, data)
    patient = live_patient(session, patient_id)
    before = snapshot(patient)
    for field, value in data.model_dump().items():
        setattr(patient, field, value)
    if snapshot(patient) != before:
        patient.version += 1
    session.add(patient)
    session.flush()
    if snapshot(patient) != before:
        audit(session, actor=actor, action="update", entity="patient", entity_id=patient.patient_key,
              patient_key=patient.patient_key, before=before, after=patient, reason=reason)
        bump_versions(session, [patient.patient_key])
    return patient


def delete_patient(*, session: Session, patient_id: str, actor: str, reason: str) -> Patient:
    """Soft-delete a patient (hidden everywhere, restorable by an administrator)."""
    require_reason(reason, "deletion")
    return soft_delete(session, Patient, live_patient(session, patient_id).patient_key, actor=actor, reason=reason)


def restore_patient(*, session: Session, patient_id: str, actor: str, reason: str) -> Patient:
    patient = session.exec(select(Patient).where(Patient.patient_id == patient_id)).first()
    row_id = patient.patient_key if patient is not None else -1
    return restore_row(session, Patient, row_id, actor=actor, reason=reason)


# --- reads ----------------------------------------------------------------------------------------


def load_patients(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live patients as a PATIENT_COLUMNS frame, ordered by identifier."""
    statement = select(
        Patient.patient_id, Patient.diagnosis, Patient.sex, Patient.birth_year, Patient.age_at_baseline,
        Patient.diagnosis_date, Patient.name, Patient.mrn, Patient.notes,
    ).where(Patient.deleted_at.is_(None)).order_by(code_point_order(Patient.patient_id))
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(list(identifiers)))
    frame = read_frame(engine, statement, PATIENT_TYPES)
    return frame[PATIENT_COLUMNS]


def load_deleted_patients(engine: Engine) -> pd.DataFrame:
    statement = select(Patient.patient_id, Patient.diagnosis, Patient.deleted_at, Patient.version).where(
        Patient.deleted_at.is_not(None)).order_by(Patient.patient_id)
    return read_frame(engine, statement, {"patient_id": TEXT, "diagnosis": TEXT, "deleted_at": TIMESTAMP,
                                          "version": INT})


def patient_version(engine: Engine, identifier: str) -> int | None:
    """The patient's data version (None when there is no live patient): part of every chart cache key."""
    with Session(engine) as session:
        return session.exec(select(Patient.data_version).where(
            Patient.patient_id == identifier, Patient.deleted_at.is_(None))).first()


def patient_keys(session: Session, identifiers: Iterable[str]) -> dict[str, int]:
    """identifier -> database key for the live patients among `identifiers`."""
    wanted = list(dict.fromkeys(identifiers))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        rows = session.exec(select(Patient.patient_id, Patient.patient_key).where(
            Patient.patient_id.in_(chunk), Patient.deleted_at.is_(None))).all()
        found.update({identifier: key for identifier, key in rows})
    return found


def count_patients(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Patient).where(Patient.deleted_at.is_(None))).one()


def get_patient(engine: Engine, identifier: str) -> dict | None:
    """The live patient's fields as a dict (for forms), or None."""
    with Session(engine) as session:
        patient = session.exec(select(Patient).where(
            Patient.patient_id == identifier, Patient.deleted_at.is_(None))).first()
        if patient is None:
            return None
        return patient.model_dump()

