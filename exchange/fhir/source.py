"""What the FHIR output reads: the live patients and their rows, only through the public reads of `db/`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from db.measures import load_measurements
from db.patients import load_patients
from db.treatments import load_events, load_medications
from db.visits import load_assessments
from exchange.fhir.mapping import HASHED_PREFIX, Frames, patient_resource_id
from models.errors import UnknownPatient

FEW = 500


def live_patient_ids(engine: Engine, patients: Iterable[str] | None = None) -> list[str]:
    """Every live patient's patient_id (code-point order), or those of `patients` after checking each is a live
    patient. Raises UnknownPatient naming the ones that are not."""
    if patients is None:
        return sorted(load_patients(engine)["patient_id"])
    wanted = list(dict.fromkeys(str(p).strip() for p in patients if str(p).strip()))
    # a few ids (a $everything, a selection) are looked up by themselves; many, against the whole list
    live = set(load_patients(engine, wanted if len(wanted) <= FEW else None)["patient_id"])
    missing = [p for p in wanted if p not in live]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UnknownPatient(f"no live patient {', '.join(map(repr, missing[:10]))}{more}", field="patients")
    return sorted(wanted)


def load_frames(engine: Engine, patient_ids: list[str]) -> Frames:
    """Every live row of these patients."""
    return Frames(
        patients=load_patients(engine, patient_ids),
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
