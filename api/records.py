"""Patients and their records: list (cursor pages, by patient and date range), read one, create, correct (PUT the
whole record, PATCH some fields; both with the record's `expected_version` and a `reason`), delete (soft).

Every write is one call of the existing write path of db/ (db/patients.py, db/visits.py, db/measures.py,
db/treatments.py: validated by the same schemas, the patient locked, the rules of models.rules, audited with the
account and the token's name). Every read is audited (every record names its patient: identified data).
"""

# No `from __future__ import annotations`: the endpoints' annotations name per-resource aliases made inside
# _add_routes, which FastAPI can only see evaluated.
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.auth import Caller, engine_for, may_edit, may_read, scope_of_request
from db import measures, patients, treatments, visits
from db.api_reads import (
    ASSESSMENTS,
    EVENTS,
    MEASUREMENTS,
    MEDICATIONS,
    PATIENTS,
    Resource,
    audit_read,
    read_one,
    read_page,
)
from db.centres import centre_codes_by_key, centre_keys
from db.engine import write_session
from models import (
    AssessmentCreate,
    MeasurementCreate,
    MedicationPeriodCreate,
    PatientCreate,
    PatientUpdate,
    TreatmentEventCreate,
)
from models.catalog import SITE_CODES
from models.errors import InvalidValue, MissingValue, NotFound

router = APIRouter(tags=["records"])
CONTROL = ("expected_version", "reason")


@dataclass(frozen=True)
class Kind:
    resource: Resource
    singular: str
    create_schema: type
    update_schema: type
    create: Any  # db write path: (session=, data=, actor=)
    correct: Any  # (session=, <id_arg>=, expected_version=, data=, actor=, reason=)
    delete: Any  # (session=, <id_arg>=, expected_version=, actor=, reason=)
    id_arg: str
    example: dict


SCORES = dict(zip(SITE_CODES, (1, 2, 1, 1, 1, 2, 2, 2, 2, 3, 3, 0, 0, 1, 1, 0, 0), strict=True))
KINDS = {
    "patients": Kind(PATIENTS, "patient", PatientCreate, PatientUpdate, patients.create_patient,
                     patients.update_patient, patients.delete_patient, "patient_id",
                     {"patient_id": "P-0042", "centre": "MAIN", "diagnosis": "dcSSc", "sex": "F", "birth_year": 1968,
                      "diagnosis_date": "2022-06-01", "name": "Ana Example", "mrn": "H-100042", "notes": ""}),
    "assessments": Kind(ASSESSMENTS, "assessment", AssessmentCreate, AssessmentCreate, visits.record_assessment,
                        visits.correct_assessment, visits.delete_assessment, "assessment_id",
                        {"patient_id": "P-0042", "visit_date": "2024-03-14", "rater": "Dr Lee", **SCORES,
                         "notes": ""}),
    "measurements": Kind(MEASUREMENTS, "measurement", MeasurementCreate, MeasurementCreate,
                         measures.record_measurement, measures.correct_measurement, measures.delete_measurement,
                         "measurement_id",
                         {"patient_id": "P-0042", "date": "2024-03-14", "measure": "fvc_pct", "side": "",
                          "value": 78.0, "rater": "Dr Lee"}),
    "medication_periods": Kind(MEDICATIONS, "medication period", MedicationPeriodCreate, MedicationPeriodCreate,
                               treatments.start_medication, treatments.update_medication,
                               treatments.delete_medication, "period_id",
                               {"patient_id": "P-0042", "drug": "mycophenolate mofetil", "dose": 1000,
                                "dose_unit": "mg", "frequency": "twice daily", "route": "oral",
                                "start_date": "2023-01-10", "end_date": None, "reason": "skin progression"}),
    "events": Kind(EVENTS, "event", TreatmentEventCreate, TreatmentEventCreate, treatments.record_event,
                   treatments.update_event, treatments.delete_event, "event_id",
                   {"patient_id": "P-0042", "date": "2024-02-01", "kind": "steroid_injection",
                    "sites": "hand_r;fingers_r", "agent": "triamcinolone", "dose": 10, "dose_unit": "mg"}),
}


def page_example(kind: Kind) -> dict:
    record = {"id": 17, **kind.example, "version": 1}
    if kind.resource is PATIENTS:
        record["id"] = 42
    return {"items": [record], "next_cursor": "17"}


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidValue(f"{value[:40]!r} is not a cursor of this list; pass next_cursor as it was given",
                           field="cursor")
    return int(value)


def _body_fields(kind: Kind, body: dict, schema: type, *, with_control: bool) -> dict:
    allowed = set(schema.model_fields) | (set(CONTROL) if with_control else set())
    unknown = sorted(str(name) for name in body if name not in allowed)
    if unknown:
        raise InvalidValue(f"is not a field of a {kind.singular}; the fields are {', '.join(sorted(allowed))}",
                           field=unknown[0])
    return {name: value for name, value in body.items() if name not in CONTROL}


def _centre(request: Request, kind: Kind, body: dict) -> dict:
    """A new patient's `centre` (its code, as the app and bundles show it) as the centre_key of the write path.
    Which centres the account may add patients to is the write path's to say (403 outside the account's)."""
    if kind.resource is not PATIENTS or "centre" not in body:
        return body
    body = dict(body)
    code = body.pop("centre")
    if body.get("centre_key") is not None:
        raise InvalidValue("give the centre's code or its centre_key, not both", field="centre")
    if code is not None:
        if not isinstance(code, str):
            raise InvalidValue("must be a centre's code, e.g. MAIN", field="centre")
        body["centre_key"] = next(iter(centre_keys(engine_for(request), [code]).values()))
    return body


def _control(body: dict) -> tuple[int, str]:
    version = body.get("expected_version")
    if version is None:
        raise MissingValue("is required: the record's version you read (its `version`)", field="expected_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidValue("must be a whole number: the record's version you read", field="expected_version")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidValue("must be text", field="reason")
    return version, reason or ""


def _audit(request: Request, who, kind: Kind, detail: str, patient_id: str | None = None) -> None:
    audit_read(engine_for(request), actor=who.actor, entity=kind.resource.model.__tablename__,
               detail=f"API {request.method} {request.url.path}: {detail}", patient_id=patient_id)


IDENTIFYING = ("name", "mrn", "notes")  # a patient's fields that name or may name the person


def _shield(request: Request, who, kind: Kind, rows: list[dict]) -> list[dict]:
    """Issue 16: a coordinator reads the patients of a centre whose identified export it does not hold without their
    identifying fields (blank); staff, physicians and administrators read their centres' patients as they are."""
    scope = scope_of_request(request)
    if kind.resource is not PATIENTS or who.role != "coordinator" or scope.identified is None:
        return rows
    keys = {code: key for key, code in centre_codes_by_key(engine_for(request)).items()}
    for row in rows:
        if not scope.may_identify(keys.get(row.get("centre"))):
            row.update(dict.fromkeys(IDENTIFYING, ""))
    return rows


def _found(request: Request, kind: Kind, record_id) -> dict:
    engine = engine_for(request)
    row = (read_one(engine, kind.resource, patient_id=record_id) if kind.resource is PATIENTS
           else read_one(engine, kind.resource, int(record_id)))
    if row is None:
        raise NotFound(f"no {kind.singular} {record_id}", field=kind.id_arg)
    return row


def _add_routes(name: str, kind: Kind) -> None:
    id_name = "patient_id" if kind.resource is PATIENTS else "record_id"
    path_id = "{" + id_name + "}"
    RecordId = (Annotated[str, Path(alias=id_name, description="the patient's patient_id", max_length=64)]  # noqa: N806
                if kind.resource is PATIENTS else
                Annotated[int, Path(alias=id_name, description=f"the {kind.singular}'s id", ge=1, le=2**62)])
    dated = kind.resource.date_column
    ok = {200: {"content": {"application/json": {"example": page_example(kind)}}}}
    one = {"content": {"application/json": {"example": page_example(kind)["items"][0]}}}
    write_errors = {409: {"description": "StaleRecord (another version), or the record exists already"},
                    422: {"description": "a value refused by the rules; `field` names it"}}

    @router.get(f"/{name}", name=f"list {name}", responses=ok,
                summary=f"List {name} (cursor pages; by patient and by {dated} range)")
    def list_records(request: Request, who: Caller,
                     patient_id: Annotated[str | None, Query(description="only this patient's records")] = None,
                     since: Annotated[date | None, Query(description=f"{dated} on or after")] = None,
                     until: Annotated[date | None, Query(description=f"{dated} on or before")] = None,
                     cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
        may_read(who)
        rows, more = read_page(engine_for(request), kind.resource, patient_id=patient_id, since=since,
                               until=until, after=_cursor(cursor), limit=limit)
        filters = ", ".join(f"{k}={v}" for k, v in (("patient_id", patient_id), ("since", since), ("until", until))
                            if v is not None)
        _audit(request, who, kind, f"{len(rows)} records{f' ({filters})' if filters else ''}", patient_id)
        return {"items": _shield(request, who, kind, rows), "next_cursor": None if more is None else str(more)}

    @router.get(f"/{name}/{path_id}", name=f"read {kind.singular}", responses={200: one, 404: {}},
                summary=f"Read one {kind.singular} (with its version)")
    def read_record(request: Request, who: Caller, record_id: RecordId) -> dict:
        may_read(who)
        row = _found(request, kind, record_id)
        _audit(request, who, kind, f"{kind.singular} {record_id}", row["patient_id"])
        return _shield(request, who, kind, [row])[0]

    example = {"new": {"summary": f"a new {kind.singular}", "value": kind.example}}

    @router.post(f"/{name}", name=f"create {kind.singular}", status_code=201, responses={201: one, **write_errors},
                 summary=f"Create a {kind.singular} (the app's rules and audit)")
    def create_record(request: Request, who: Caller,
                      body: Annotated[dict[str, Any], Body(openapi_examples=example,
                                                           description=f"the fields of a {kind.singular}")]):
        may_edit(who)
        data = _body_fields(kind, _centre(request, kind, body), kind.create_schema, with_control=False)
        with write_session(engine_for(request)) as session:
            row = kind.create(session=session, data=data, actor=who.actor)
            record_id = row.patient_id if kind.resource is PATIENTS else getattr(row, kind.id_arg)
        created = _found(request, kind, record_id)
        return JSONResponse(_jsonable(created), status_code=201,
                            headers={"Location": f"/{name}/{record_id}"})

    correction = {"correct": {"summary": "a correction, naming the version read and why",
                              "value": {**kind.example, "expected_version": 1, "reason": "typed into the wrong "
                                        "field"}}}
    partial = {"correct one field": {"summary": "change some fields, naming the version read and why",
                                     "value": {"rater": "Dr Lee", "expected_version": 1, "reason": "rater corrected"}
                                     if kind.resource is not PATIENTS else
                                     {"diagnosis": "lcSSc", "expected_version": 1, "reason": "reclassified"}}}

    def _correct(request: Request, who, record_id, body: dict, *, whole: bool):
        may_edit(who)
        version, reason = _control(body)
        fields = _body_fields(kind, body, kind.update_schema, with_control=True)
        if not whole:
            current = _found(request, kind, record_id)
            merged = {k: current[k] for k in kind.update_schema.model_fields if k in current}
            if kind.resource is ASSESSMENTS and any(current[c] is not None for c in SITE_CODES) \
                    and "total" not in fields:
                merged.pop("total", None)  # the stored total of scored sites is derived, not entered
            fields = {**merged, **fields}
        with write_session(engine_for(request)) as session:
            kind.correct(session=session, **{kind.id_arg: record_id}, expected_version=version, data=fields,
                         actor=who.actor, reason=reason)
        return _found(request, kind, record_id)

    @router.put(f"/{name}/{path_id}", name=f"replace {kind.singular}", responses={200: one, **write_errors},
                summary=f"Correct a {kind.singular}: its whole new content, expected_version and reason")
    def put_record(request: Request, who: Caller, record_id: RecordId,
                   body: Annotated[dict[str, Any], Body(openapi_examples=correction)]) -> dict:
        return _correct(request, who, record_id, body, whole=True)

    @router.patch(f"/{name}/{path_id}", name=f"correct {kind.singular}", responses={200: one, **write_errors},
                  summary=f"Correct some fields of a {kind.singular}, with expected_version and reason")
    def patch_record(request: Request, who: Caller, record_id: RecordId,
                     body: Annotated[dict[str, Any], Body(openapi_examples=partial)]) -> dict:
        return _correct(request, who, record_id, body, whole=False)

    @router.delete(f"/{name}/{path_id}", name=f"delete {kind.singular}", status_code=204,
                   responses={409: write_errors[409]},
                   summary=f"Delete a {kind.singular} (soft: an administrator can restore it)")
    def delete_record(request: Request, who: Caller,
                      expected_version: Annotated[int, Query(description="the version you read")],
                      reason: Annotated[str, Query(description="why (kept in the audit trail)")],
                      record_id: RecordId) -> Response:
        may_edit(who)
        with write_session(engine_for(request)) as session:
            kind.delete(session=session, **{kind.id_arg: record_id}, expected_version=expected_version,
                        actor=who.actor, reason=reason)
        return Response(status_code=204)



def _jsonable(row: dict) -> dict:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(row)


for _name, _kind in KINDS.items():
    _add_routes(_name, _kind)
