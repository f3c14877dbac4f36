"""Bulk export as FHIR NDJSON (the FHIR Bulk Data format): one `<ResourceType>.ndjson` file per resource type,
one resource per line, UTF-8; a type without resources has no file.

Patients are read and mapped CHUNK at a time and each resource is written to its type's file as it is made, so
memory stays bounded by one chunk whatever the registry's size. Files are written aside and moved into OUT
at the end: a failed export leaves no half-written files. Audited like every other export format.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from exchange import deid
from exchange.coverage import export_coverage
from exchange.exporter import audit_export
from exchange.fhir.codes import installation, local_code_systems
from exchange.fhir.deidentify import Raters, deidentify_frames
from exchange.fhir.mapping import RESOURCE_TYPES, Context, resource_dicts
from exchange.fhir.source import load_frames
from models.errors import InvalidValue

CHUNK = 1000
FORMAT = "fhir"
FILE_TYPES = ("CodeSystem", *RESOURCE_TYPES)
NDJSON_MEDIA_TYPE = "application/fhir+ndjson"
# One encoder for every line; the resources are trees, so the circular-reference check only costs time.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False).encode


@dataclass
class FhirExportResult:
    """What a bulk export wrote: the folder, resources per type, the number of patients."""

    path: Path
    deidentified: bool
    counts: dict[str, int] = field(default_factory=dict)
    patients: int = 0
    seconds: float = 0.0

    def files(self) -> dict[str, Path]:
        return {kind: self.path / f"{kind}.ndjson" for kind in self.counts}

    def lines(self) -> list[str]:
        kind = "de-identified" if self.deidentified else "identified"
        head = (f"exported {self.patients:,} patients ({kind}, FHIR NDJSON) to {self.path} in "
                f"{self.seconds:.1f} s")
        return [head, *(f"{name}.ndjson: {n:,} resources" for name, n in self.counts.items())]

    def manifest(self, *, request: str, url_for, transaction_time: str) -> dict:
        """The Bulk Data status response (`GET` on the status URL once complete) for this export; `url_for(path)`
        gives the download URL of each file."""
        return {"transactionTime": transaction_time, "request": request, "requiresAccessToken": True,
                "output": [{"type": kind, "url": url_for(path), "count": self.counts[kind]}
                           for kind, path in self.files().items()],
                "error": []}


class _Files:
    """One NDJSON file per resource type, each opened when its first resource arrives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.handles: dict[str, object] = {}
        self.counts: dict[str, int] = {}

    def write(self, resource: dict) -> None:
        kind = resource["resourceType"]
        handle = self.handles.get(kind)
        if handle is None:
            handle = self.handles[kind] = open(self.folder / f"{kind}.ndjson", "w", encoding="utf-8",  # noqa: SIM115
                                               newline="\n")
            self.counts[kind] = 0
        handle.write(_ENCODE(resource) + "\n")
        self.counts[kind] += 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def write_bulk(engine: Engine, folder: Path, *, deidentify: bool, patient_ids: list[str], progress=None,
               actor: str | None = None, centre_of: dict[str, str] | None = None) -> dict:
    """Write the NDJSON files of these (live) patients into `folder`; returns resources per type. `actor` is named
    by the audit row of the installation secret if this export creates it; `centre_of` (patient_id -> centre code,
    from exchange.coverage) saves reading the centres chunk by chunk."""
    inst = installation(engine, actor=actor)
    ctx = Context(inst, deidentified=deidentify)
    secret = deid.installation_secret(engine, actor=actor or deid.INSTALLATION_ACTOR) if deidentify else None
    if deidentify:
        names = {p: deid.pseudonym(secret, p) for p in patient_ids}
        if len(set(names.values())) != len(names):
            raise InvalidValue("two patients share a pseudonym; set another SKINTRACK_SECRET", field="patients")
        patient_ids = sorted(patient_ids, key=names.__getitem__)  # output order must not reveal the identifiers'
    raters = Raters()
    files = _Files(folder)
    try:
        for system in local_code_systems(inst):
            files.write(system)
        for start in range(0, len(patient_ids), CHUNK):
            frames = load_frames(engine, patient_ids[start:start + CHUNK], centre_of)
            if deidentify:
                frames = deidentify_frames(frames, secret=secret, raters=raters)
            for resource in resource_dicts(frames, ctx):
                files.write(resource)
            if progress is not None:
                progress(min(start + CHUNK, len(patient_ids)), len(patient_ids))
    finally:
        files.close()
    return {kind: files.counts[kind] for kind in FILE_TYPES if kind in files.counts}


def export_fhir_bulk(engine: Engine, out_dir, *, deidentify: bool = False, patients=None, centres=None, actor: str,
                     progress=None) -> FhirExportResult:
    """Write the FHIR NDJSON bulk export of the live patients of the engine's scope (limited to `centres`, centre
    codes, and to `patients`, patient_ids) into the folder `out_dir` (created if missing): `CodeSystem.ndjson` (the
    installation's local CodeSystems), `Patient.ndjson`, `Condition.ndjson`, `Observation.ndjson`, ... Earlier
    `<type>.ndjson` files of this export in the folder are replaced or removed. With `deidentify`, the rules of
    EXCHANGE.md apply. Audited as one `export` row.

    Raises UnknownPatient (a patient_id that is not a live patient of the scope and centres), InvalidValue (a
    pseudonym collision, a malformed SKINTRACK_FHIR_BASE, an unknown centre) or NotPermitted (a centre outside the
    scope; identified, a centre the account may not export identified: exchange.coverage).
    """
    started = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidValue(f"{str(out)!r} is a file; the FHIR export writes a folder", field="out")
    coverage = export_coverage(engine, patients=patients, centres=centres, deidentify=deidentify)
    patient_ids = coverage.identifiers
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        counts = write_bulk(engine, staging, deidentify=deidentify, patient_ids=patient_ids, progress=progress,
                            actor=actor, centre_of=coverage.centre_of)
        out.mkdir(exist_ok=True)
        for kind in FILE_TYPES:
            target = out / f"{kind}.ndjson"
            if kind in counts:
                os.replace(staging / f"{kind}.ndjson", target)
            else:
                target.unlink(missing_ok=True)  # left by an earlier export: not part of this one
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    audit_export(engine, actor=actor, fmt=FORMAT, deidentified=deidentify, patients=len(patient_ids),
                 restricted=patients is not None, target=str(out),
                 options=f", centres {','.join(coverage.centres)}" if coverage.centres else "")
    return FhirExportResult(path=out, deidentified=deidentify, counts=counts, patients=len(patient_ids),
                            seconds=time.perf_counter() - started)
