"""Patients: the single write path (create, update, soft delete, restore) and the reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from analysis.frames import PATIENT_COLUMNS
from db.batch import save_one
from db.common import open_row, require_reason, restore_row, soft_delete
from db.frames import DATE, INT, TEXT, TIMESTAMP, code_point_order, matchable, read_frame
from db.scope import patient_filter
from models import Patient, PatientCreate, PatientUpdate
from models.errors import UnknownPatient
from models.records import PATIENT
from models.rules import unknown_patient_reason
from models.validation import parse

PATIENT_TYPES = {
    "patient_id": TEXT, "diagnosis": TEXT, "sex": TEXT, "birth_year": INT, "age_at_baseline": INT,
    "diagnosis_date": DATE, "name": TEXT, "mrn": TEXT, "notes": TEXT,
}


def create_patient(*, session: Session, data: PatientCreate | dict, actor: str) -> Patient:
    """Add a patient, audited. Raises DuplicatePatient, or the validation error of a bad field."""
    data = data if isinstance(data, PatientCreate) else parse(PatientCreate, data)
    return save_one(session, PATIENT, data, actor=actor)


def update_patient(*, session: Session, patient_id: str, expected_version: int, data: PatientUpdate | dict,
                   actor: str, reason: str = "") -> Patient:
    """Change a patient's details (not the patient_id), audited with before and after. Raises StaleRecord when
    the patient changed since the form was opened on `expected_version`."""
    data = data if isinstance(data, PatientUpdate) else parse(PatientUpdate, data)
    return save_one(session, PATIENT, data, actor=actor, target=_key(session, patient_id),
                    expected_version=expected_version, reason=reason, patient_id=patient_id)


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
    key = session.exec(select(Patient.patient_key).where(Patient.patient_id.in_(matchable([patient_id])),
                                                         patient_filter(session))).first()
    if key is None:  # another centre's patient too: as one that does not exist
        raise UnknownPatient(unknown_patient_reason(patient_id, deleted=False), field="patient_id")
    return key


# --- reads ----------------------------------------------------------------------------------------


def load_patients(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live patients as a PATIENT_COLUMNS frame, ordered by identifier."""
    statement = select(
        Patient.patient_id, Patient.diagnosis, Patient.sex, Patient.birth_year, Patient.age_at_baseline,
        Patient.diagnosis_date, Patient.name, Patient.mrn, Patient.notes,
    ).where(Patient.deleted_at.is_(None), patient_filter(engine)).order_by(code_point_order(Patient.patient_id))
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(matchable(identifiers)))
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
            Patient.patient_id.in_(matchable([identifier])), Patient.deleted_at.is_(None))).first()


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
            Patient.patient_id.in_(matchable([identifier])), Patient.deleted_at.is_(None),
            patient_filter(engine))).first()
        if patient is None:
            return None
        return patient.model_dump()

