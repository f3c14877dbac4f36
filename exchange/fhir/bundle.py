"""`GET /fhir/Patient/{id}/$everything`: one patient's resources as a searchset Bundle whose fullUrls are
`<base>/<type>/<id>`, so that every relative reference inside (`Patient/<id>`, `MedicationStatement/<id>`)
resolves to an entry of the same Bundle."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from exchange import deid
from exchange.fhir.codes import Installation, installation
from exchange.fhir.deidentify import Raters, deidentify_frames
from exchange.fhir.mapping import Context, as_model, patient_resource_id, resource_dicts
from exchange.fhir.source import live_patient_ids, load_frames


def bundle_of(resources: list[dict], inst: Installation, *, self_url: str | None = None,
              timestamp: datetime | None = None) -> dict:
    """A searchset Bundle (JSON-ready) of `resources`, each entry's fullUrl its RESTful URL under the base."""
    stamp = (timestamp or datetime.now(UTC)).isoformat(timespec="seconds")
    bundle = {"resourceType": "Bundle", "type": "searchset", "timestamp": stamp, "total": len(resources)}
    if self_url:
        bundle["link"] = [{"relation": "self", "url": self_url}]
    bundle["entry"] = [{"fullUrl": inst.full_url(r["resourceType"], r["id"]), "resource": r,
                        "search": {"mode": "match"}} for r in resources]
    return bundle


def everything_json(engine: Engine, patient_id: str, *, deidentify: bool = False,
                    inst: Installation | None = None) -> dict:
    """The $everything Bundle of the live patient `patient_id` as JSON-ready dict (the fast form for an HTTP
    response). With `deidentify`, the EXCHANGE.md rules apply (pseudonym, shifted dates, no identifying text,
    raters renumbered within this Bundle). Raises UnknownPatient (also for a patient outside the engine's scope);
    identified, NotPermitted when the patient's centre may not be exported identified. Not audited: the caller
    audits the read."""
    (patient_id,) = live_patient_ids(engine, [patient_id], deidentify=deidentify)
    inst = inst or installation(engine)
    frames = load_frames(engine, [patient_id])
    if deidentify:
        frames = deidentify_frames(frames, secret=deid.installation_secret(engine), raters=Raters())
    resources = list(resource_dicts(frames, Context(inst, deidentified=deidentify)))
    pid = patient_resource_id(frames.patients["patient_id"].iloc[0])
    return bundle_of(resources, inst, self_url=f"{inst.base}/Patient/{pid}/$everything")


def patient_everything(engine: Engine, patient_id: str, *, deidentify: bool = False,
                       inst: Installation | None = None):
    """`everything_json` as a `fhir.resources.R4B` Bundle model."""
    return as_model(everything_json(engine, patient_id, deidentify=deidentify, inst=inst))
