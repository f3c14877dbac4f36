"""Exporting: the five bundle files and the derived files (EXCHANGE.md, ENDPOINTS.md) as CSV files, a zip, an
Excel workbook or datasets for a statistical package.

Patients are processed in chunks (CHUNK patients at a time, read through the `db/` reads), so a large registry
never sits in memory all at once; every derived number comes from `analysis/`; de-identification is
`exchange.deid`'s. A CSV export of several chunks runs them in worker processes when the machine has more than
one core and the exporting process has no other thread (the command line; never inside the app's server),
and writes their rows in the patients' order, so the files are the same whichever way they were made.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from analysis import (
    DEFAULT_RESPONSE_MONTH,
    DEFAULT_WINDOW_MONTHS,
    activity_frame,
    baselines,
    change_from_baseline,
    first_drug_starts,
    format_activity_for_export,
    format_response_for_export,
    format_summary_for_export,
    format_visits_for_export,
    format_window_values_for_export,
    format_windows_for_export,
    parse_months,
    response_frame,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_export_frame,
    visit_scores,
    window_values_frame,
)
from db.common import audit
from db.engine import read_session, write_session
from db.measures import load_measurements
from db.patients import load_patients
from db.scope import patient_filter
from db.treatments import load_events, load_medications, stored_drugs
from db.visits import load_assessments
from exchange import deid
from exchange.cells import csv_rows, protect, protect_cell  # noqa: F401 (protect*: the exchange tests' import)
from exchange.coverage import export_coverage
from exchange.derived import FILE_KINDS, FILE_ORDER, dictionary_rows
from exchange.sinks import XLSX_MAX_ROWS, CsvSink, XlsxSink
from exchange.spec import BUNDLE_FILES, DICTIONARY_COLUMNS
from exchange.statformats import FORMATS as STAT_FORMAT_SPECS
from exchange.statformats import STAT_FORMATS, StatSink
from models import Patient
from models.catalog import MEASURES_BY_CODE
from models.errors import InvalidValue

CHUNK = 2000
PARALLEL_CHUNKS = 5  # a worker's chunk: at most this many CHUNKs (chunk_size)
CATALOGUE_UNITS = {code: measure.unit for code, measure in MEASURES_BY_CODE.items()}  # exports write these
FORMATS = ("csv", "xlsx", *STAT_FORMATS)
DOWNLOADS = ("zip", "xlsx", *STAT_FORMATS)  # export_bytes: the CSV files, the statistical datasets zipped
FOLDER_FORMATS = ("csv", *STAT_FORMATS)  # OUT is a folder
# Every file name a folder export can write (patients.csv, patients.sav, ...): one left in OUT by an earlier export
# that this one does not write is removed, or a de-identified export would lie beside an earlier identified one.
EXPORT_FILE_NAMES = frozenset(name.removesuffix(".csv") + suffix for name in FILE_ORDER
                              for suffix in (".csv", *(f.suffix for f in STAT_FORMAT_SPECS.values())))
SHEET_ORDER = FILE_ORDER  # the files (and workbook sheets) of an export, in order
BUNDLE_NAMES = tuple(spec.name for spec in BUNDLE_FILES)
WORKERS = 2  # processes of a parallel CSV export (at most the cores there are)


@dataclass
class ExportResult:
    """What an export wrote: the path, the format, and the data rows per file."""

    path: Path | None
    fmt: str
    deidentified: bool
    rows: dict[str, int] = field(default_factory=dict)
    patients: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        kind = "de-identified" if self.deidentified else "identified"
        head = f"exported {self.patients:,} patients ({kind}, {self.fmt}) to {self.path} in {self.seconds:.1f} s"
        return [head, *(f"{name}: {n:,} rows" for name, n in self.rows.items()), *self.notes]


@dataclass
class Plan:
    """What every chunk of one export needs: plain data, so that worker processes take it along."""

    identifiers: list[str]  # the export's patient order
    anchor_drug: str | None
    months: list[int]
    response_month: int
    columns: dict[str, list[str]]  # file -> the columns written
    keys: deid.Deidentifier | None = None  # de-identified exports only
    centre_of: dict[str, str] = field(default_factory=dict)  # patient_id -> its centre's code
    centres: tuple[str, ...] = ()  # the centres the export was limited to (empty: every centre of the scope)


# --- planning -----------------------------------------------------------------------------------------


def _uses_age(engine: Engine) -> bool:
    """Whether a patient of the scope has an age_at_baseline (then the identified export writes the column)."""
    table = Patient.__table__
    with read_session(engine) as session:
        return bool(session.execute(select(func.count()).select_from(table).where(
            table.c.age_at_baseline.is_not(None), table.c.deleted_at.is_(None), patient_filter(engine))).scalar())


def response_month_of(value) -> int:
    """The follow-up month of response.csv (--response-month): one whole number of months from 1."""
    return parse_months([value], field="response_month")[0]


def check_anchor_drug(engine: Engine, drug: str, *, shown: int = 20) -> None:
    """--anchor-drug names a drug exactly as stored (EXCHANGE.md): one that no medication period of the scope holds
    (a typo, `Imatinib` for `imatinib`) would anchor nobody and leave every baseline, window and response blank
    without a word, so it is refused (InvalidValue naming "anchor_drug") with the drugs as stored."""
    drugs = stored_drugs(engine)
    if drug in drugs:
        return
    listed = ", ".join(drugs[:shown]) + (f" and {len(drugs) - shown} more" if len(drugs) > shown else "")
    raise InvalidValue(f"no medication period of drug {drug[:60]!r}; name a drug exactly as stored"
                       + (f" ({listed})" if drugs else " (no medication is recorded)"), field="anchor_drug")


def plan_export(engine: Engine, *, deidentify: bool, anchor_drug: str | None, months, response_month,
                patients, actor: str, centres=None) -> Plan:
    """Check the options and fix what the chunks need: the patients and their order, the columns, the keys
    (`actor`: the user an audit row names if this export creates the installation's pseudonym secret). The
    patients are those of the engine's scope, limited to `centres` and `patients` (exchange.coverage, which
    also refuses an identified export of a centre the account may not export identified)."""
    months = parse_months(months)
    response_month = response_month_of(response_month)
    anchor_drug = anchor_drug or None
    if anchor_drug is not None:
        check_anchor_drug(engine, anchor_drug)
    coverage = export_coverage(engine, patients=patients, centres=centres, deidentify=deidentify)
    identifiers = coverage.identifiers
    keys = deid.prepare(engine, identifiers, actor=actor) if deidentify else None
    if keys is not None:
        identifiers = keys.order(identifiers)
    optional = {"age_at_baseline": deidentify or _uses_age(engine),
                "summary.csv:centre": coverage.multi_centre}  # summary.csv of a one-centre registry as it was
    columns = {}
    for name in FILE_ORDER:
        wanted = [c for c in FILE_KINDS[name] if optional.get(c, optional.get(f"{name}:{c}", True))]
        columns[name] = keys.columns(name, wanted) if keys is not None else wanted
    return Plan(identifiers=identifiers, anchor_drug=anchor_drug, months=months,
                response_month=response_month, columns=columns, keys=keys, centre_of=coverage.centre_of,
                centres=coverage.centres)


# --- one chunk of patients ----------------------------------------------------------------------------


def chunk_files(engine: Engine, plan: Plan, identifiers: list[str]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The rows of every per-patient file for `identifiers` (a run of the plan's patients), as typed frames ready
    to write, and the window visits windows.csv is computed from."""
    people = load_patients(engine, identifiers)
    people = people.assign(centre=people["patient_id"].map(plan.centre_of).astype(object))
    assessments = load_assessments(engine, identifiers)
    measurements = load_measurements(engine, identifiers)
    medications = load_medications(engine, identifiers)
    events = load_events(engine, identifiers)

    visits = visit_scores(assessments)
    anchors = first_drug_starts(medications, plan.anchor_drug) if plan.anchor_drug else None
    base = baselines(visits, anchors=anchors)
    summary = summarise_patients(people, visits, anchors=anchors)
    window_visits = select_window_visits(change_from_baseline(visits, base), plan.months)
    frames = {
        "patients.csv": people,
        "skin_scores.csv": assessments,
        "measurements.csv": measurements.assign(unit=measurements["measure"].map(CATALOGUE_UNITS).fillna("")),
        "medications.csv": medications,
        "events.csv": events,
        "visits.csv": format_visits_for_export(visit_export_frame(visits, base, medications)),
        "summary.csv": _with_centre(format_summary_for_export(summary), plan),
        "window_values.csv": format_window_values_for_export(window_values_frame(window_visits)),
        "response.csv": format_response_for_export(response_frame(
            people, visits, measurements, events, anchors=anchors, month=plan.response_month)),
        "activity.csv": format_activity_for_export(activity_frame(visits, measurements)),
    }
    frames = {name: _ordered(frame, identifiers, plan.keys is None) for name, frame in frames.items()}
    if plan.keys is not None:
        frames = deid.deidentify(frames, FILE_KINDS, plan.keys, summary.set_index("patient_id")["baseline_date"])
    frames = {name: frame[plan.columns[name]] for name, frame in frames.items()}
    return frames, window_visits[["month", "change", "improved", "progressed"]]


def _with_centre(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    return frame.assign(centre=frame["patient_id"].map(plan.centre_of).astype(object))


def _ordered(frame: pd.DataFrame, identifiers: list[str], ascending: bool) -> pd.DataFrame:
    """Rows grouped by patient in the export's patient order (`identifiers`, `ascending` when that is the
    identifiers' own order), each patient's rows kept in read order. The reads usually give that order already,
    and then nothing is moved."""
    if len(frame) < 2 or (ascending and frame["patient_id"].is_monotonic_increasing):
        return frame
    codes = pd.Categorical(frame["patient_id"], categories=identifiers).codes
    if bool((codes[1:] >= codes[:-1]).all()):
        return frame
    return frame.iloc[np.argsort(codes, kind="stable")]


# --- the export ---------------------------------------------------------------------------------------


def _chunks(plan: Plan, size: int) -> list[list[str]]:
    ids = plan.identifiers
    return [ids[start:start + size] for start in range(0, max(len(ids), 1), size)]


def chunk_size(patients: int, workers: int) -> int:
    """Patients per chunk: CHUNK in one process (the app's server: its memory stays small); with worker
    processes, an equal share of the patients per worker, up to PARALLEL_CHUNKS times CHUNK. Each chunk pays
    fixed costs (a read per table, every derived file's set-up), which at CHUNK patients were a third of a
    registry export's time; a worker holds one chunk at a time (a peak of about 450 MiB at 10,000 patients)."""
    if workers <= 1:
        return CHUNK
    return min(max(CHUNK, -(-patients // workers)), PARALLEL_CHUNKS * CHUNK)


def write_export(engine: Engine, sink, plan: Plan, *, progress=None, workers: int = 1) -> dict[str, int]:
    """Write every file of the export into `sink`; returns the data rows per file."""
    chunks = _chunks(plan, chunk_size(len(plan.identifiers), workers if isinstance(sink, CsvSink) else 1))
    rows = dict.fromkeys(FILE_ORDER, 0)
    window_parts = []
    done = 0

    def emit(name: str, frame: pd.DataFrame) -> None:
        sink.write(name, frame, FILE_KINDS[name])
        rows[name] += len(frame)

    if workers > 1 and len(chunks) > 1 and isinstance(sink, CsvSink):
        for identifiers, (texts, counts, windows) in zip(chunks, _parallel(engine, plan, chunks, workers),
                                                         strict=True):
            for name, data in texts.items():
                sink.write_bytes(name, plan.columns[name], data)
                rows[name] += counts[name]
            window_parts.append(windows)
            done += len(identifiers)
            if progress is not None:
                progress(done, len(plan.identifiers))
    else:
        for identifiers in chunks:
            frames, windows = chunk_files(engine, plan, identifiers)
            for name, frame in frames.items():
                emit(name, frame)
            window_parts.append(windows)
            done += len(identifiers)
            if progress is not None:
                progress(done, len(plan.identifiers))
    window_visits = pd.concat(window_parts, ignore_index=True)
    windows = format_windows_for_export(summarise_windows(window_visits, plan.months), with_ci=True)
    emit("windows.csv", windows[plan.columns["windows.csv"]])
    written = {name: plan.columns[name] for name in FILE_ORDER if name != "dictionary.csv"}
    emit("dictionary.csv", pd.DataFrame(dictionary_rows(written), columns=list(DICTIONARY_COLUMNS)))
    return rows


# Worker processes of a parallel CSV export: forked with the plan and the engine (whose pooled connections they
# drop, each opening its own), each turns whole chunks into CSV bytes; the parent writes them in order.
_WORKER: dict = {}


def _parallel(engine: Engine, plan: Plan, chunks: list[list[str]], workers: int):
    _WORKER.update(engine=engine, plan=plan)
    engine.dispose()  # no connection of the parent's crosses the fork
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(workers, initializer=_start_worker) as pool:
            yield from pool.imap(_worker_chunk, chunks)
    finally:
        _WORKER.clear()


def _start_worker() -> None:
    _WORKER["engine"].dispose(close=False)


def _worker_chunk(identifiers: list[str]):
    plan: Plan = _WORKER["plan"]
    frames, windows = chunk_files(_WORKER["engine"], plan, identifiers)
    texts = {name: csv_rows(frame, FILE_KINDS[name]).encode("utf-8") for name, frame in frames.items()}
    return texts, {name: len(frame) for name, frame in frames.items()}, windows


def parallel_workers(engine: Engine, fmt: str) -> int:
    """How many processes a CSV export may use: WORKERS on a machine with that many cores, when processes can
    be forked safely (no other thread in this one: not in the app's server) and reach the database (not an
    in-memory SQLite database); 1 otherwise."""
    if fmt != "csv" or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(WORKERS, cores))


def _audit_export(engine: Engine, *, actor: str, fmt: str, plan: Plan, restricted: bool, target: str) -> None:
    centres = ",".join(plan.centres)
    options = (f"{f', centres {centres}' if centres else ''}"
               f"{f', anchored on {plan.anchor_drug}' if plan.anchor_drug else ''}, windows "
               f"{','.join(map(str, plan.months))}, response month {plan.response_month}")
    audit_export(engine, actor=actor, fmt=fmt, deidentified=plan.keys is not None, patients=len(plan.identifiers),
                 restricted=restricted, target=target, options=options)


def audit_export(engine: Engine, *, actor: str, fmt: str, deidentified: bool, patients: int, restricted: bool,
                 target: str, options: str = "") -> None:
    """The audit row of an export of any format (bundle, statistical, FHIR): who, how many patients, identified
    or not, where to. Raises InvalidValue for an empty or anonymous actor: every export names a real user."""
    if not actor or actor == "anonymous":
        raise InvalidValue("an export must name the signed-in user", field="actor")
    kind = "de-identified" if deidentified else "identified"
    detail = (f"{kind} {fmt} export of {patients} patients{' (selected)' if restricted else ''}{options}"
              f"{f' to {target}' if target else ''}")
    with write_session(engine) as session:
        audit(session, actor=actor, action="export", entity="bundle", detail=detail)


def _sink(fmt: str, target: Path | io.BytesIO):
    if fmt in ("csv", "zip"):
        return CsvSink(target)
    if fmt == "xlsx":
        return XlsxSink(target, SHEET_ORDER, max_rows=XLSX_MAX_ROWS)
    return StatSink(target, fmt)


def _notes(sink) -> list[str]:
    return sink.notes() if hasattr(sink, "notes") else []


def export_bundle(engine: Engine, out, *, fmt: str = "csv", deidentify: bool = False, anchor_drug: str | None = None,
                  months=DEFAULT_WINDOW_MONTHS, response_month=DEFAULT_RESPONSE_MONTH, patients=None, centres=None,
                  actor: str, progress=None, workers: int | None = None) -> ExportResult:
    """Write the export to `out`: a folder (created if missing) of CSV files (fmt="csv") or of datasets
    (fmt="sas", "spss", "stata", "parquet"), or, with fmt="xlsx", a workbook.

    Only the patients of the engine's scope are exported (db.scope). `centres` (centre codes: "A,B" or a list)
    and `patients` (patient_ids) limit every file to those centres' patients and to those patients; every
    per-patient file names each patient's centre. `anchor_drug` anchors the baselines;
    `months` sets the visit windows and `response_month` the follow-up of response.csv; `workers` the processes
    of a CSV export (default: `parallel_workers`). Audited as one `export` row. Raises UnknownPatient (a
    patient_id that is not a live patient of the scope and centres), InvalidValue (months, response month, format,
    an unknown centre) or NotPermitted (a centre outside the scope; identified, a centre the account may not
    export identified: see exchange.coverage).
    """
    if fmt not in FORMATS:
        raise InvalidValue(f"{fmt!r} is not an export format; allowed: {', '.join(FORMATS)}", field="format")
    started = time.perf_counter()
    out = Path(out)
    plan = plan_export(engine, deidentify=deidentify, anchor_drug=anchor_drug, months=months,
                       response_month=response_month, patients=patients, actor=actor, centres=centres)
    # Written aside first (beside OUT, not in it: an export killed midway leaves nothing inside a bundle folder)
    # and moved into place at the end: a failed export leaves no half-written files.
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt in FOLDER_FORMATS:
        out.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.partial-", dir=out.parent)
        os.close(handle)
        staging = Path(name)
    try:
        sink = _sink(fmt, staging)
        try:
            rows = write_export(engine, sink, plan, progress=progress,
                                workers=parallel_workers(engine, fmt) if workers is None else workers)
        finally:
            sink.close()
        if fmt in FOLDER_FORMATS:
            written = sorted(staging.iterdir())
            for path in written:
                os.replace(path, out / path.name)
            stale = EXPORT_FILE_NAMES - {path.name for path in written}
            for path in out.iterdir():
                if path.name in stale and (path.is_file() or path.is_symlink()):
                    path.unlink()
        else:
            os.replace(staging, out)
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.unlink(missing_ok=True)
    _audit_export(engine, actor=actor, fmt=fmt, plan=plan, restricted=patients is not None, target=str(out))
    return ExportResult(path=out, fmt=fmt, deidentified=deidentify, rows=rows, patients=len(plan.identifiers),
                        seconds=time.perf_counter() - started, notes=_notes(sink))


def export_bytes(engine: Engine, *, fmt: str = "zip", deidentify: bool = False, anchor_drug: str | None = None,
                 months=DEFAULT_WINDOW_MONTHS, response_month=DEFAULT_RESPONSE_MONTH, patients=None, centres=None,
                 actor: str, progress=None) -> bytes:
    """The export as bytes for a download: a zip of the CSV files (fmt="zip"), a workbook (fmt="xlsx"), or a zip
    of the datasets for a statistical package (fmt="sas", "spss", "stata", "parquet"). The options and refusals
    are `export_bundle`'s (`centres`: centre codes the export is limited to)."""
    if fmt not in DOWNLOADS:
        raise InvalidValue(f"{fmt!r} is not a download format; allowed: {', '.join(DOWNLOADS)}", field="format")
    plan = plan_export(engine, deidentify=deidentify, anchor_drug=anchor_drug, months=months,
                       response_month=response_month, patients=patients, actor=actor, centres=centres)
    if fmt == "xlsx":
        buffer = io.BytesIO()
        sink = _sink(fmt, buffer)
        try:
            write_export(engine, sink, plan, progress=progress)
        finally:
            sink.close()
        data = buffer.getvalue()
    else:
        with tempfile.TemporaryDirectory(prefix="skintrack-export-") as folder:
            sink = _sink(fmt, Path(folder))
            try:
                write_export(engine, sink, plan, progress=progress)
            finally:
                sink.close()
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(Path(folder).iterdir(), key=_zip_order):
                    archive.write(path, path.name)
            data = buffer.getvalue()
    _audit_export(engine, actor=actor, fmt=fmt, plan=plan, restricted=patients is not None, target="download")
    return data


@dataclass(frozen=True)
class Download:
    label: str
    suffix: str
    mime: str


_ZIP = "application/zip"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOAD_FORMATS: dict[str, Download] = {
    "zip": Download("CSV files (zip)", ".zip", _ZIP),
    "xlsx": Download("Excel workbook (xlsx)", ".xlsx", _XLSX),
    "sas": Download("SAS transport files (xpt, zipped)", "-sas.zip", _ZIP),
    "spss": Download("SPSS files (sav, zipped)", "-spss.zip", _ZIP),
    "stata": Download("Stata files (dta, zipped)", "-stata.zip", _ZIP),
    "parquet": Download("Parquet files (zipped)", "-parquet.zip", _ZIP),
}
assert tuple(DOWNLOAD_FORMATS) == DOWNLOADS


def deferred_export(engine: Engine, *, actor: str, **options) -> Callable[[], bytes]:
    """`export_bytes` to run later, e.g. when a download button is clicked, with the exporting user bound now:
    the callback runs outside the page's script run, where the signed-in user is unknown, and its audit row must
    still name them."""
    if not actor or actor == "anonymous":
        raise InvalidValue("an export needs the signed-in user for its audit row", field="actor")
    return partial(export_bytes, engine, actor=actor, **options)


def _zip_order(path: Path) -> tuple[int, bool, str]:
    """The files in the export's order; a statistical folder's dictionary.csv after its datasets."""
    names = [name.removesuffix(".csv") + path.suffix for name in FILE_ORDER]
    return (names.index(path.name) if path.name in names else len(names), path.suffix == ".csv", path.name)
