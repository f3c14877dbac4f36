"""Measurements (range of motion, function, lungs, labs): the write paths (through db.batch) and the reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select

from analysis.frames import MEASUREMENT_COLUMNS
from db.batch import check_restorable, save_one
from db.common import open_row, require_reason, restore_row, soft_delete
from db.frames import DATE, FLOAT, INT, TEXT, TIMESTAMP, code_point_order, matchable, read_frame, read_many
from db.scope import patient_filter
from models import Measurement, MeasurementCreate, MeasurementUpdate, Patient
from models.records import MEASUREMENT
from models.validation import parse

MEASUREMENT_TYPES = {"patient_id": TEXT, "date": DATE, "measure": TEXT, "side": TEXT, "value": FLOAT,
                     "unit": TEXT, "rater": TEXT}


def record_measurement(*, session: Session, data: MeasurementCreate | dict, actor: str) -> Measurement:
    """Add one measured value, audited. Raises UnknownMeasure, ImplausibleValue, DuplicateRecord, ..."""
    data = data if isinstance(data, MeasurementCreate) else parse(MeasurementCreate, data)
    return save_one(session, MEASUREMENT, data, actor=actor)


def correct_measurement(*, session: Session, measurement_id: int, expected_version: int,
                        data: MeasurementUpdate | dict, actor: str, reason: str) -> Measurement:
    """Replace a measurement's content, audited with before, after and the reason. Raises StaleRecord when it
    changed since the form was opened on `expected_version`, DuplicateRecord, ..."""
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, MeasurementUpdate) else parse(MeasurementUpdate, data)
    return save_one(session, MEASUREMENT, data, actor=actor, target=measurement_id,
                    expected_version=expected_version, reason=reason)


def delete_measurement(*, session: Session, measurement_id: int, expected_version: int, actor: str,
                       reason: str) -> Measurement:
    """Soft-delete a measurement (restorable), audited with the reason. Raises StaleRecord."""
    return soft_delete(session, Measurement, measurement_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_measurement(*, session: Session, measurement_id: int, expected_version: int, actor: str,
                        reason: str) -> Measurement:
    """Restore a deleted measurement. Raises DuplicateRecord when its key was reused meanwhile, StaleRecord."""
    row = open_row(session, Measurement, measurement_id, expected_version=expected_version, deleted=True)
    check_restorable(session, MEASUREMENT, row)
    return restore_row(session, row, actor=actor, reason=reason)


def load_measurements(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live measurements of the scope's live patients as a MEASUREMENT_COLUMNS frame."""
    statement = (
        select(Patient.patient_id, Measurement.date, Measurement.measure, Measurement.side, Measurement.value,
               Measurement.unit, Measurement.rater)
        .join(Patient, Patient.patient_key == Measurement.patient_key)
        .where(Measurement.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
        .order_by(code_point_order(Patient.patient_id), Measurement.date, code_point_order(Measurement.measure),
                  code_point_order(Measurement.side), code_point_order(Measurement.rater))
    )
    if identifiers is not None:
        identifiers = matchable(identifiers)
        statement = statement.where(Patient.patient_id.in_(identifiers))
    return read_many(engine, statement, MEASUREMENT_TYPES, identifiers)[MEASUREMENT_COLUMNS]


def load_measurement_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's measurements with their ids and versions (for corrections); empty for another centre's."""
    statement = (
        select(Measurement.measurement_id, Measurement.date, Measurement.measure, Measurement.side,
               Measurement.value, Measurement.unit, Measurement.rater, Measurement.version)
        .join(Patient, Patient.patient_key == Measurement.patient_key)
        .where(Patient.patient_id.in_(matchable([patient_id])), Measurement.deleted_at.is_(None),
               patient_filter(engine))
        .order_by(Measurement.date, Measurement.measure, Measurement.side)
    )
    return read_frame(engine, statement, {"measurement_id": INT, "date": DATE, "measure": TEXT, "side": TEXT,
                                          "value": FLOAT, "unit": TEXT, "rater": TEXT, "version": INT})


def load_deleted_measurements(engine: Engine) -> pd.DataFrame:
    """The scope's soft-deleted measurements (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(Measurement.measurement_id, Patient.patient_id, Measurement.date, Measurement.measure,
               Measurement.side, Measurement.value, Measurement.unit, Measurement.deleted_at, Measurement.version)
        .join(Patient, Patient.patient_key == Measurement.patient_key)
        .where(Measurement.deleted_at.is_not(None), patient_filter(engine)).order_by(Measurement.deleted_at.desc())
    )
    return read_frame(engine, statement, {"measurement_id": INT, "patient_id": TEXT, "date": DATE, "measure": TEXT,
                                          "side": TEXT, "value": FLOAT, "unit": TEXT, "deleted_at": TIMESTAMP,
                                          "version": INT})
