"""Bundles and derived tables over HTTP: `POST /imports` (a bundle zip, all or nothing, the CLI's report),
`GET /exports` (the export as a zip stream, the CLI's options), `GET /derived/{table}` (a derived table as JSON).

Everything is exchange/'s: import_bundle and its ProblemLog, export_bundle and its audit row, the same files.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.auth import Caller, engine_for, may_export, may_import
from db.scope import scope_of, scoped
from exchange import BundleRejected, import_bundle
from exchange.errors import one_line
from exchange.exporter import (
    CHUNK,
    DOWNLOAD_FORMATS,
    _zip_order,
    audit_export,
    export_bundle,
    plan_export,
    response_month_of,
    write_export,
)
from exchange.fhir.source import live_patient_ids
from models import errors as model_errors
from models.errors import InvalidValue, SkintrackError
from models.scope import Scope

router = APIRouter(tags=["exchange"])

DERIVED = ("visits", "summary", "windows", "window_values", "response", "activity")
ExportFormat = Literal["zip", "xlsx", "sas", "spss", "stata", "parquet"]


def _patients(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise InvalidValue("give at least one patient_id, e.g. P-001,P-002", field="patients")
    return items


def _selected(engine, patients: list[str] | None, centres: str | None = None) -> list[str] | None:
    """The patients an export holds: those named, each a live patient of the account's centres (UnknownPatient for
    one that is not, whether it does not exist or belongs to another centre), or every patient of the account's
    centres (None for an account of every centre: the whole registry; None too with `centres` chosen, whose
    patients exchange.coverage finds within the scope)."""
    if patients is not None:
        return live_patient_ids(engine, patients)
    if scope_of(engine).everything or centres is not None:
        return None
    return live_patient_ids(engine)


def _months(value: str) -> list[int]:
    try:
        months = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise InvalidValue(f"{value[:40]!r}: give whole numbers of months joined by commas, e.g. 3,6,12,24",
                           field="months") from None
    if not months or min(months) < 1:
        raise InvalidValue(f"{value[:40]!r}: give whole numbers of months from 1, e.g. 3,6,12,24", field="months")
    return months


Deidentify = Annotated[bool, Query(description="pseudonyms, shifted dates, no names/MRNs/notes (EXCHANGE.md); "
                                               "false needs the account's identified-export permission")]
AnchorDrug = Annotated[str | None, Query(max_length=100, description="baseline = latest visit up to 90 days before "
                                                                     "this drug's first start")]
Months = Annotated[str, Query(max_length=100, description="visit windows in months")]
ResponseMonth = Annotated[int, Query(ge=1, le=1200, description="follow-up month of response (CRISS)")]
Patients = Annotated[str | None, Query(max_length=100_000, description="only these patient_ids, comma-separated")]
Centres = Annotated[str | None, Query(max_length=1000, description="only these centres' patients: centre codes, "
                                                                   "comma-separated (the CLI's --centre)")]


# --- imports ------------------------------------------------------------------------------------------------


@router.post("/imports", summary="Import a bundle (zip): all or nothing, the CLI's validation report",
             responses={200: {"content": {"application/json": {"example": {
                 "imported": True, "lines": ["imported bundle.zip (import #7): 3 records were written",
                                             "patients.csv: 1 new, 0 changed, 0 unchanged",
                                             "skin_scores.csv: 2 new, 0 changed, 0 unchanged"]}}}},
                 422: {"description": "refused: `problems` holds the CLI's lines (file:line: column: reason), "
                                      "`summary` its last line; nothing was written", "content": {
                     "application/json": {"example": {"imported": False, "problems": [
                         "skin_scores.csv:3: visit_date: '2024-13-01' is not a calendar date (month must be in "
                         "1..12)"],
                         "summary": "bundle.zip: the bundle was rejected (1 problem); nothing was written",
                         "detail": [{"field": "bundle",
                                     "msg": "the bundle was rejected (1 problem); nothing was written"}]}}}}})
def post_import(request: Request, who: Caller,
                bundle: Annotated[UploadFile, File(description="the bundle: a .zip of its CSV files")],
                update: Annotated[bool, Query(description="write audited changes to records whose key exists "
                                                          "with other values")] = False,
                dry_run: Annotated[bool, Query(description="validate and report; write nothing")] = False):
    may_import(who)
    name = bundle.filename or "upload.zip"
    try:
        report = import_bundle(engine_for(request), bundle.file, actor=who.actor, update=update,
                               dry_run=dry_run, bundle_name=name)
    except BundleRejected as rejected:
        summary = f"{one_line(name)}: {rejected.reason}"
        return JSONResponse({"imported": False, "problems": rejected.problems.lines(), "summary": summary,
                             "detail": [{"field": "bundle", "msg": rejected.reason}]}, status_code=422)
    return {"imported": not dry_run, "lines": report.lines()}


# --- exports ------------------------------------------------------------------------------------------------


def _export_in_child(result, url: str, out: str, fmt: str, options: dict, actor: str, chunk: int | None,
                     scope: Scope) -> None:
    """A large export in a fresh process (spawned: no thread of the server's is copied; not a daemon, so that
    export_bundle may fork its worker processes as the CLI's does), within the request's centre `scope`. Sends
    ("ok",) or the refusal's class, field and reason through the pipe `result`. `chunk`: patients per chunk (tests:
    several chunks of a small registry)."""
    from db.engine import make_engine
    from exchange import exporter

    if chunk is not None:
        exporter.CHUNK = chunk
    engine = scoped(make_engine(url), scope)  # a new engine: the request's scope goes with it, or it sees all
    try:
        export_bundle(engine, Path(out), fmt=fmt, actor=actor, **options)
        result.send(("ok",))
    except SkintrackError as error:
        result.send(("refused", type(error).__name__, error.field, error.reason))
    except Exception as error:  # noqa: BLE001 - told to the parent, which answers 500 and logs it
        result.send(("failed", type(error).__name__, "", str(error)[:500]))
    finally:
        result.close()
        engine.dispose()


def run_export(engine, out: Path, fmt: str, options: dict, actor: str, patients: int, *, spawn_above: int = CHUNK,
               child_chunk: int | None = None) -> None:
    """export_bundle into `out`: in this thread for up to `spawn_above` patients (one chunk); beyond, in a spawned
    process whose export runs its chunks in parallel worker processes, as `python cli.py export` does. Either way
    within the centre scope of `engine`."""
    if patients <= spawn_above or engine.url.database in (None, "", ":memory:"):
        export_bundle(engine, out, fmt=fmt, actor=actor, workers=1, **options)
        return
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_export_in_child, args=(
        sender, engine.url.render_as_string(hide_password=False), str(out), fmt, options, actor, child_chunk,
        scope_of(engine)))
    process.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:
        outcome = ("failed", "", "", f"the export process ended with status {process.exitcode}")
    finally:
        receiver.close()
        process.join()
    if outcome[0] == "refused":
        kind = getattr(model_errors, outcome[1], SkintrackError)
        raise (kind if isinstance(kind, type) and issubclass(kind, SkintrackError) else SkintrackError)(
            outcome[3], field=outcome[2])
    if outcome[0] != "ok":
        raise RuntimeError(f"export failed: {outcome[1]} {outcome[3]}")


class _Pipe(io.RawIOBase):
    """What zipfile writes into, emptied by the response as it goes (a zip needs no seeking to be written)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def zip_stream(folder: Path, *, block: int = 1 << 20):
    """The files of `folder` as one zip (the export download's order), yielded as it is compressed."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.iterdir(), key=_zip_order):
            with archive.open(path.name, "w", force_zip64=True) as entry, open(path, "rb") as source:
                while chunk := source.read(block):
                    entry.write(chunk)
                    if pipe.chunks:
                        yield pipe.take()
            yield pipe.take()
    yield pipe.take()


def file_stream(path: Path, *, block: int = 1 << 20):
    with open(path, "rb") as source:
        while chunk := source.read(block):
            yield chunk


EXPORT_PARAMETERS = ("deidentify", "anchor_drug", "months", "response_month", "patients", "centres")


def refuse_unknown_parameters(request: Request, allowed: tuple[str, ...]) -> None:
    """A query parameter the endpoint does not take is refused by name (422), not ignored: `centre=LON` (the CLI's
    --centre) answered with every centre of the account, a misspelt `month=6` with the default windows."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise InvalidValue(f"{', '.join(repr(name[:40]) for name in unknown[:5])}: not a parameter of "
                           f"{request.url.path}; it takes {', '.join(allowed)}", field=unknown[0][:40])


@router.get("/exports", summary="Export the registry (the CLI's options), streamed as a zip (or a workbook)",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the bundle's CSV files and the "
                             "derived files (or the statistical datasets) zipped, or an xlsx workbook"},
                       403: {"description": "the role may not export, or identified without the permission"}})
def get_export(request: Request, who: Caller,
               format: Annotated[ExportFormat, Query(description="zip (CSV files), xlsx, or zipped datasets for "
                                                                 "sas, spss, stata, parquet")] = "zip",
               deidentify: Deidentify = True, anchor_drug: AnchorDrug = None, months: Months = "3,6,12,24",
               response_month: ResponseMonth = 12, patients: Patients = None, centres: Centres = None):
    may_export(who, request, deidentify=deidentify, centres=centres)
    refuse_unknown_parameters(request, ("format", *EXPORT_PARAMETERS))
    engine = engine_for(request)
    # the account's patients only (an unknown or another centre's patient_id: refused before any work)
    options = {"deidentify": deidentify, "anchor_drug": anchor_drug, "months": _months(months),
               "response_month": response_month_of(response_month),
               "patients": _selected(engine, _patients(patients), centres), "centres": centres}
    count = len(live_patient_ids(engine, options["patients"]))
    folder = Path(tempfile.mkdtemp(prefix="skintrack-api-export-"))
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    download = DOWNLOAD_FORMATS[format]
    try:
        if format == "xlsx":
            out = folder / "export.xlsx"
            run_export(engine, out, "xlsx", options, who.actor, count)
            body = file_stream(out)
        else:
            out = folder / "export"
            run_export(engine, out, "csv" if format == "zip" else format, options, who.actor, count)
            body = zip_stream(out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    kind = "deidentified" if deidentify else "identified"
    return StreamingResponse(body, media_type=download.mime, background=cleanup, headers={
        "Content-Disposition": f'attachment; filename="skintrack-{kind}{download.suffix}"'})


# --- derived tables as JSON --------------------------------------------------------------------------------


class _Collect:
    """A sink that keeps one file's frames (the export computes them all, chunk by chunk, as for a download)."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self.parts: list[pd.DataFrame] = []

    def write(self, name: str, frame: pd.DataFrame, kinds) -> None:
        if name == self.wanted:
            self.parts.append(frame)

    def close(self) -> None:
        pass


def records_of(frame: pd.DataFrame) -> list[dict]:
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    return json.loads(frame.to_json(orient="records", force_ascii=False, double_precision=15))


@router.get("/derived/{table}", summary="A derived table (ENDPOINTS.md) as JSON rows",
            responses={200: {"content": {"application/json": {"example": {"table": "window_values", "rows": [
                {"patient_id": "S-07e037cba3", "month": 12, "visit_date": "2022-01-12", "study_day": 309,
                 "mrss": 9.0, "change": -2.0, "change_pct": -18.2, "improved": "no", "progressed": "no"}]}}}}})
def get_derived(request: Request, who: Caller, table: Literal[DERIVED],  # type: ignore[valid-type]
                deidentify: Deidentify = True, anchor_drug: AnchorDrug = None, months: Months = "3,6,12,24",
                response_month: ResponseMonth = 12, patients: Patients = None, centres: Centres = None) -> dict:
    may_export(who, request, deidentify=deidentify, centres=centres)
    refuse_unknown_parameters(request, EXPORT_PARAMETERS)
    engine = engine_for(request)
    named = _patients(patients)
    selected = _selected(engine, named, centres)  # the account's patients only
    plan = plan_export(engine, deidentify=deidentify, anchor_drug=anchor_drug, months=_months(months),
                       response_month=response_month, patients=selected, actor=who.actor, centres=centres)
    sink = _Collect(f"{table}.csv")
    write_export(engine, sink, plan)
    frame = pd.concat(sink.parts, ignore_index=True) if sink.parts else pd.DataFrame(columns=plan.columns.get(
        f"{table}.csv", []))
    audit_export(engine, actor=who.actor, fmt=f"{table} (JSON)", deidentified=deidentify,
                 patients=len(plan.identifiers), restricted=named is not None, target="API")
    return {"table": table, "rows": records_of(frame)}
