"""FHIR R4 over HTTP (docs/FHIR.md): a patient's `$everything` Bundle, and the asynchronous bulk export of the FHIR
Bulk Data specification: `GET /fhir/$export` answers 202 with a status URL in Content-Location; the status URL
answers 202 (with X-Progress) while the export runs, then 200 with the manifest of NDJSON file URLs; DELETE on it
cancels the job and removes its files.

The export runs in a background thread of this process (exchange.fhir.export_fhir_bulk, audited as every export)
and its files stay in a temporary folder until deleted or the process ends. Jobs are per process: behind a load
balancer with several API replicas, the status and file URLs must reach the replica that started the job (sticky
sessions), or the replicas share SKINTRACK_API_EXPORT_DIR (not built: jobs are kept in memory).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from api.auth import Caller, engine_for, may_export, may_read
from db.api_reads import audit_read
from exchange.fhir import everything_json, export_fhir_bulk, patient_id_of_resource
from exchange.fhir.bulk import FILE_TYPES, NDJSON_MEDIA_TYPE
from exchange.fhir.source import live_patient_ids
from models.errors import InvalidValue, NotPermitted, SkintrackError

router = APIRouter(prefix="/fhir", tags=["FHIR"])
FHIR_JSON = "application/fhir+json"


def outcome(message: str, code: str = "processing") -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": message}]}


@router.get("/Patient/{resource_id}/$everything", summary="A patient's resources as a FHIR searchset Bundle",
            response_class=JSONResponse,
            responses={200: {"content": {FHIR_JSON: {"example": {
                "resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{
                    "fullUrl": "https://skintrack.example.org/fhir/Patient/P-0042",
                    "resource": {"resourceType": "Patient", "id": "P-0042", "gender": "female",
                                 "birthDate": "1968"}, "search": {"mode": "match"}}]}}}},
                       404: {"description": "no live patient with this resource id (OperationOutcome)",
                            "content": {FHIR_JSON: {}}}})
def everything(request: Request, who: Caller, resource_id: str):
    may_read(who)
    engine = engine_for(request)
    patient_id = patient_id_of_resource(engine, resource_id) if len(resource_id) <= 64 else None
    if patient_id is None:
        return JSONResponse(outcome(f"no patient with the resource id {resource_id[:64]!r}", "not-found"),
                            status_code=404, media_type=FHIR_JSON)
    deidentified = False
    try:
        bundle = everything_json(engine, patient_id)
    except NotPermitted:  # an account without the identified right for this patient's centre (issue 16): the
        bundle = everything_json(engine, patient_id, deidentify=True)  # EXCHANGE.md's de-identified Bundle
        deidentified = True
    audit_read(engine, actor=who.actor, entity="patient", patient_id=patient_id,
               detail=f"API GET /fhir/Patient/{resource_id}/$everything: {bundle['total']} resources"
                      + (", de-identified" if deidentified else ""))
    return JSONResponse(bundle, media_type=FHIR_JSON)


# --- bulk export --------------------------------------------------------------------------------------------


@dataclass
class Job:
    job_id: str
    user_id: int
    request: str
    folder: Path
    started: datetime
    done: int = 0
    total: int = 0
    manifest_of: object = None  # the FhirExportResult once complete
    error: str | None = None
    finished: datetime | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


class Jobs:
    """The bulk export jobs of this process, by id (a random id: knowing it is not enough, the caller's account
    must be the one that started it)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.root = Path(tempfile.mkdtemp(prefix="skintrack-fhir-export-"))

    def add(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.job_id] = job

    def get(self, job_id: str, user_id: int) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.user_id != user_id:
            raise HTTPException(404, detail=[{"field": "job_id", "msg": "no export job with this id of yours"}])
        return job

    def remove(self, job: Job) -> None:
        with self.lock:
            self.jobs.pop(job.job_id, None)
        shutil.rmtree(job.folder, ignore_errors=True)


def _run(engine, job: Job, *, deidentify: bool, patients, actor: str) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        job.manifest_of = export_fhir_bulk(engine, job.folder, deidentify=deidentify, patients=patients, actor=actor,
                                           progress=progress)
    except SkintrackError as error:
        job.error = error.reason
    except Exception as error:  # noqa: BLE001 - reported on the status URL, never lost in a thread
        job.error = f"the export failed: {type(error).__name__}"
    job.finished = datetime.now(UTC)


# The FHIR Bulk Data parameters this export does not implement: refused by name rather than silently ignored.
UNSUPPORTED_BULK_PARAMETERS = frozenset({"_since", "_until", "_typeFilter", "_elements", "includeAssociatedData",
                                         "patient", "organizeOutputBy", "allowPartialManifests"})
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


@router.get("/$export", status_code=202, response_class=Response,
            summary="Start a FHIR bulk export (NDJSON); poll the Content-Location URL",
            responses={202: {"description": "accepted: the status URL in Content-Location"},
                       403: {"description": "the role may not export, or identified without the permission"}})
def start_export(request: Request, who: Caller,
                 deidentify: Annotated[bool, Query(description="EXCHANGE.md's de-identification; false needs the "
                                                               "identified-export permission")] = True,
                 patients: Annotated[str | None, Query(max_length=100_000,
                                                       description="only these patient_ids, comma-separated")] = None,
                 _type: Annotated[str | None, Query(alias="_type", max_length=1000,
                                                    description="resource types wanted, comma-separated (all when "
                                                                "absent); only the full set is supported")] = None,
                 ) -> Response:
    may_export(who, request, deidentify=deidentify)
    unsupported = sorted(UNSUPPORTED_BULK_PARAMETERS & set(request.query_params))
    if unsupported:  # ignored, _since would hand an incremental client the whole registry as if it were the changes
        raise InvalidValue(f"{', '.join(unsupported)}: not supported; only the whole export is offered (leave "
                           f"{'it' if len(unsupported) == 1 else 'them'} out)", field=unsupported[0])
    output_format = request.query_params.get("_outputFormat")
    if output_format is not None and output_format not in NDJSON_FORMATS:
        raise InvalidValue(f"{output_format[:60]!r}: the export is NDJSON only ({', '.join(NDJSON_FORMATS)})",
                           field="_outputFormat")
    if _type is not None:
        wanted = {t.strip() for t in _type.split(",") if t.strip()}
        unknown = sorted(wanted - set(FILE_TYPES))
        if unknown or wanted not in (set(FILE_TYPES), set(FILE_TYPES) - {"CodeSystem"}):
            raise InvalidValue(f"only the whole export is offered (leave _type out); not {', '.join(unknown) or _type}",
                               field="_type")
    selected = None  # every patient of the account's centres: the job's engine is scoped to them
    if patients is not None:
        selected = [p.strip() for p in patients.split(",") if p.strip()]
        live_patient_ids(engine_for(request), selected)  # an unknown patient: refused now, not in the job
    jobs: Jobs = request.app.state.jobs
    job_id = secrets.token_urlsafe(16)
    job = Job(job_id=job_id, user_id=who.user_id, request=str(request.url), folder=jobs.root / job_id,
              started=datetime.now(UTC))
    job.thread = threading.Thread(target=_run, args=(engine_for(request), job), daemon=True,
                                  kwargs={"deidentify": deidentify, "patients": selected, "actor": who.actor})
    jobs.add(job)
    job.thread.start()
    status = str(request.url_for("export_status", job_id=job_id))
    return Response(status_code=202, headers={"Content-Location": status})


@router.get("/$export-status/{job_id}", name="export_status", summary="The state of a bulk export",
            responses={200: {"content": {"application/json": {"example": {
                "transactionTime": "2026-01-01T10:00:00+00:00", "request": "https://api.example/fhir/$export",
                "requiresAccessToken": True, "output": [{"type": "Patient", "url": "https://api.example/fhir/"
                                                         "$export-file/abc/Patient.ndjson", "count": 60}],
                "error": []}}}},
                       202: {"description": "in progress (X-Progress)"}})
def export_status(request: Request, who: Caller, job_id: str):
    job = request.app.state.jobs.get(job_id, who.user_id)
    if job.finished is None:
        return Response(status_code=202, headers={"X-Progress": f"{job.done} of {job.total or '?'} patients",
                                                  "Retry-After": "2"})
    if job.error is not None:
        return JSONResponse(outcome(job.error), status_code=500, media_type=FHIR_JSON)
    manifest = job.manifest_of.manifest(
        request=job.request, transaction_time=job.started.isoformat(timespec="seconds"),
        url_for=lambda path: str(request.url_for("export_file", job_id=job_id, file_name=path.name)))
    return JSONResponse(manifest)


@router.delete("/$export-status/{job_id}", status_code=202, response_class=Response,
               summary="Cancel a bulk export or delete its files")
def delete_export(request: Request, who: Caller, job_id: str) -> Response:
    jobs: Jobs = request.app.state.jobs
    job = jobs.get(job_id, who.user_id)
    if job.finished is None and job.thread is not None:
        job.thread.join()  # export_fhir_bulk cannot be interrupted half-way; it ends, then its files go
    jobs.remove(job)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{file_name}", name="export_file", summary="One NDJSON file of a bulk export",
            response_class=FileResponse, responses={200: {"content": {NDJSON_MEDIA_TYPE: {}}}})
def export_file(request: Request, who: Caller, job_id: str, file_name: str):
    job = request.app.state.jobs.get(job_id, who.user_id)
    names = {f"{kind}.ndjson" for kind in FILE_TYPES}
    if job.finished is None or job.error is not None or file_name not in names or not (job.folder / file_name).exists():
        raise HTTPException(404, detail=[{"field": "file_name", "msg": "no such file in this export"}])
    return FileResponse(job.folder / file_name, media_type=NDJSON_MEDIA_TYPE)
