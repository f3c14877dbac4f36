"""Patients: the single write path (create, update, soft delete, restore) and the reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from analysis.frames import PATIENT_COLUMNS
from db.common import audit, bump_versions, open_row, require_reason, restore_row, snapshot, soft_delete, write_row
from db.frames import DATE, INT, TEXT, TIMESTAMP, code_point_order, read_frame
from models import Patient, PatientCreate, PatientUpdate
from models.errors import DuplicatePatient, UnknownPatient
from models.rules import unknown_patient_reason
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
    try:
        session.flush()
    except IntegrityError:  # the same patient_id committed by someone else since the check above
        raise DuplicatePatient(f"patient {data.patient_id!r} exists already (saved by someone else just now)",
                               field="patient_id") from None
    audit(session, actor=actor, action="create", entity="patient", entity_id=patient.patient_key,
          patient_key=patient.patient_key, after=patient, detail=f"import #{import_id}" if import_id else "")
    return patient


def update_patient(*, session: Session, patient_id: str, expected_version: int, data: PatientUpdate | dict,
                   actor: str, reason: str = "") -> Patient:
    """Change a patient's details (not the patient_id), audited with before and after. Raises StaleRecord when
    the patient changed since the form was opened on `expected_version`."""
    data = data if isinstance(data, PatientUpdate) else parse(PatientUpdate, data)
    patient = open_row(session, Patient, _key(session, patient_id), expected_version=expected_version)
    before = snapshot(patient)
    if all(before.get(name) == value for name, value in snapshot(data.model_dump()).items()):
        return patient
    write_row(session, patient, data.model_dump())
    audit(session, actor=actor, action="update", entity="patient", entity_id=patient.patient_key,
          patient_key=patient.patient_key, before=before, after=patient, reason=reason)
    bump_versions(session, [patient.patient_key])
    return patient


def delete_patient(*, session: Session, patient_id: str, expected_version: int, actor: str,
                   reason: str) -> Patient:
    """Soft-delete a patient (hidden everywhere, restorable by an administrator). Raises StaleRecord."""
    require_reason(reason, "deletion")
    return soft_delete(session, Patient, _key(session, patient_id), expected_version=expected_version,
                       actor=actor, reason=reason)


def restore_patient(*, session: Session, patient_id: str, expected_version: int, actor: str,
                    reason: str) -> Patient:
    """Bring a deleted patient back. Raises StaleRecord, NotFound."""
    row = open_row(session, Patient, _key(session, patient_id), expected_version=expected_version, deleted=True)
    return restore_row(session, row, actor=actor, reason=reason)


def _key(session: Session, patient_id: str) -> int:
    key = session.exec(select(Patient.patient_key).where(Patient.patient_id == patient_id)).first()
    if key is None:
        raise UnknownPatient(unknown_patient_reason(patient_id, deleted=False), field="patient_id")
    return key


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

