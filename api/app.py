"""The API application: `create_app(engine)` (uvicorn runs it: `python cli.py serve-api`).

Errors are JSON `{"detail": [{"field": ..., "msg": ...}, ...]}`, each naming the field it is about: 422 for a value
the rules refuse (the same words as the forms and the importer), 409 for a stale version (StaleRecord) or a record
that exists already, 404 for a record that is not there, 401/403/429 from api.auth. Never a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.bodies import BoundedBodies
from models.errors import (
    AuthenticationFailed,
    DuplicateAssessment,
    DuplicatePatient,
    DuplicateRecord,
    NotFound,
    NotPermitted,
    OverlappingPeriod,
    SkintrackError,
    StaleRecord,
)

log = logging.getLogger("skintrack.api")

DESCRIPTION = """\
The Skintrack registry over HTTP: patients and their records (read, create, correct with the record's version and
a reason, delete), bundle imports and exports, the derived tables, and FHIR R4 (docs/FHIR.md).

**Auth**: a personal API token (*My account* in the app, or `python cli.py token create`) as
`Authorization: Bearer skt_...`. The token acts with its account's role: 401 without a valid token, 403 when the
role may not, 429 after repeated failures (`Retry-After`). Every read of identified data and every write is
audited with the account and the token's name.

**Pages**: lists return `{"items": [...], "next_cursor": "..."}`; pass `cursor` to get the next page.

**Centres**: a token acts within its account's centres. Lists, exports, derived tables and FHIR hold only their
patients; another centre's patient or record answers as one that does not exist (404, or the same 422 of an unknown
patient_id). An identified export needs the permission for every centre of the account.
"""

STATUS = ((StaleRecord, 409), (DuplicatePatient, 409), (DuplicateAssessment, 409), (DuplicateRecord, 409),
          (OverlappingPeriod, 409), (NotFound, 404), (NotPermitted, 403), (AuthenticationFailed, 401))


def problems(error: SkintrackError) -> list[dict]:
    return [{"field": p.field, "msg": p.reason, "type": type(p).__name__} for p in (error.problems or [error])]


def status_of(error: SkintrackError) -> int:
    return next((code for kind, code in STATUS if isinstance(error, kind)), 422)


PROBLEM = {"title": "Problem", "type": "object", "required": ["field", "msg"],
           "properties": {"field": {"type": "string", "description": "the field it is about (\"\" for the request)"},
                          "msg": {"type": "string"}, "type": {"type": "string"},
                          "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}
ERRORS = {"title": "Errors", "type": "object", "required": ["detail"],
          "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}}
COMMON = {"400": "the body could not be read (not JSON, not UTF-8, not a form)",
          "401": "no token, or a revoked, expired or unknown one", "403": "the token's role may not",
          "404": "no such record", "422": "a value refused by the rules; `field` names it",
          "429": "too many failed tokens from this address: wait `Retry-After` seconds"}


def _spec(app: FastAPI) -> dict:
    """FastAPI's spec, with the errors as the handlers below send them ({"detail": [{"field", "msg"}]}), on every
    operation (every one checks the token), so that clients and the contract fuzzing see the responses there are."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                           tags=app.openapi_tags)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("ValidationError", None)
        schemas.pop("HTTPValidationError", None)
        schemas["Problem"], schemas["Errors"] = PROBLEM, ERRORS
        errors = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in COMMON.items():
                    response = responses.setdefault(code, {"description": description})
                    content = response.setdefault("content", {})
                    if not content or set(content) == {"application/json"}:
                        example = content.get("application/json", {}).get("example")  # an operation's own
                        response["content"] = errors if example is None else {"application/json": {
                            **errors["application/json"], "example": example}}
        app.openapi_schema = spec
    return app.openapi_schema


def create_app(engine: Engine | None = None) -> FastAPI:
    """The API on `engine` (default: the configured database, SKINTRACK_DATABASE_URL)."""
    from api import fhir, records, transfer

    if engine is None:
        from db.engine import ensure_schema, make_engine

        engine = make_engine()
        ensure_schema(engine)
    app = FastAPI(title="Skintrack API", version="1", description=DESCRIPTION,
                  openapi_tags=[{"name": "records", "description": "patients and their records"},
                                {"name": "exchange", "description": "bundle imports, exports, derived tables"},
                                {"name": "FHIR", "description": "FHIR R4 (docs/FHIR.md)"}])
    app.state.engine = engine
    app.state.jobs = fhir.Jobs()

    @app.exception_handler(SkintrackError)
    def _refused(_request: Request, error: SkintrackError) -> JSONResponse:
        return JSONResponse({"detail": problems(error)}, status_code=status_of(error))

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        detail = []
        for item in error.errors():
            location = [str(part) for part in item.get("loc", ())]
            field = location[-1] if location and location[0] in ("query", "path", "body") and len(location) > 1 \
                else ".".join(location)
            detail.append({"field": field, "msg": item.get("msg", "is not valid"), "type": item.get("type", ""),
                           "loc": location})
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, list) else [{"field": "", "msg": str(error.detail)}]
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    def _failed(_request: Request, error: Exception) -> JSONResponse:
        log.exception("API request failed", exc_info=error)
        return JSONResponse({"detail": [{"field": "", "msg": "the server could not complete the request; "
                                         "it is logged"}]}, status_code=500)

    app.include_router(records.router)
    app.include_router(transfer.router)
    app.include_router(fhir.router)
    app.add_middleware(BoundedBodies)  # no body read without a token, none beyond its bound (api/bodies.py)
    app.openapi = lambda: _spec(app)
    return app
