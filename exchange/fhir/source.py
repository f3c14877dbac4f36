"""What the FHIR output reads: the live patients of the engine's scope and their rows, only through the public reads
of `db/` and `exchange.coverage` (the patients an export covers)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from db.measures import load_measurements
from db.patients import load_patients
from db.treatments import load_events, load_medications
from db.visits import load_assessments
from exchange.coverage import export_coverage
from exchange.fhir.mapping import HASHED_PREFIX, Frames, patient_resource_id


def live_patient_ids(engine: Engine, patients: Iterable[str] | None = None, *, centres=None,
                     deidentify: bool = True) -> list[str]:
    """Every live patient's patient_id of the engine's scope (code-point order), limited to `centres` (codes) and to
    `patients` after checking each is a live patient of the scope. Raises UnknownPatient naming the ones that are
    not; with `deidentify` False, NotPermitted when a centre covered may not be exported identified
    (exchange.coverage)."""
    return export_coverage(engine, patients=patients, centres=centres, deidentify=deidentify).identifiers


def load_frames(engine: Engine, patient_ids: list[str], centre_of: dict[str, str] | None = None) -> Frames:
    """Every live row of these patients, the patients with their centre's code in `centre` (`centre_of`:
    patient_id -> code, as exchange.coverage gave it; read here when not given)."""
    patients = load_patients(engine, patient_ids)
    if centre_of is None:
        centre_of = export_coverage(engine, patients=patients["patient_id"]).centre_of if len(patients) else {}
    return Frames(
        patients=patients.assign(centre=[centre_of.get(p, "") for p in patients["patient_id"]]),
        assessments=load_assessments(engine, patient_ids),
        measurements=load_measurements(engine, patient_ids),
        medications=load_medications(engine, patient_ids),
        events=load_events(engine, patient_ids),
    )


def patient_id_of_resource(engine: Engine, resource_id: str) -> str | None:
    """The patient_id behind a Patient resource id of identified output (see `patient_resource_id`), or None."""
    if not resource_id.startswith(HASHED_PREFIX):
        found = load_patients(engine, [resource_id])
        return resource_id if len(found) else None
    for patient_id in load_patients(engine)["patient_id"]:
        if patient_resource_id(patient_id) == resource_id:
            return patient_id
    return None
