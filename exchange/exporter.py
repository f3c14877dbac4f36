"""Exporting a bundle: the five bundle files and the four derived files, as CSV files, a zip or a workbook.

Patients are processed in chunks (CHUNK patients at a time, read through the `db/` reads), so a
large registry never sits in memory all at once; every derived number comes from `analysis/`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from analysis import (
    baselines,
    change_from_baseline,
    first_drug_starts,
    format_summary_for_export,
    format_visits_for_export,
    format_windows_for_export,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_export_frame,
    visit_scores,
)
from analysis.treatment import format_number
from analysis.windows import DEFAULT_WINDOW_MONTHS
from db.common import audit
from db.engine import read_session, write_session
from db.measures import load_measurements
from db.patients import load_patients
from db.treatments import load_events, load_medications, patients_with_events_told_apart_by_description
from db.visits import load_assessments
from exchange import deid
from exchange.reader import FORMULA_START
from exchange.spec import (
    BUNDLE_FILES,
    DATE,
    DERIVED_KINDS,
    DICTIONARY_COLUMNS,
    IDENTIFYING_COLUMNS,
    INT,
    NUMBER,
    TEXT,
    YESNO,
    dictionary_rows,
)
from models import Patient
from models.catalog import MEASURES_BY_CODE
from models.errors import InvalidValue, UnknownPatient

CHUNK = 2000
CATALOGUE_UNITS = {code: measure.unit for code, measure in MEASURES_BY_CODE.items()}  # exports write these
FORMATS = ("csv", "xlsx")
SHEET_ORDER = ("patients.csv", "skin_scores.csv", "measurements.csv", "medications.csv", "events.csv",
               "visits.csv", "summary.csv", "windows.csv", "dictionary.csv")
DATE_COLUMNS = {
    "patients.csv": ("diagnosis_date",), "skin_scores.csv": ("visit_date",), "measurements.csv": ("date",),
    "medications.csv": ("start_date", "end_date"), "events.csv": ("date", "end_date"), "visits.csv": ("visit_date",),
    "summary.csv": ("anchor_date", "baseline_date", "latest_date"),
}


@dataclass
class ExportResult:
    """What an export wrote: the path, the format, and the data rows per file."""

    path: Path | None
    fmt: str
    deidentified: bool
    rows: dict[str, int] = field(default_factory=dict)
    patients: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        kind = "de-identified" if self.deidentified else "identified"
        head = f"exported {self.patients:,} patients ({kind}, {self.fmt}) to {self.path} in {self.seconds:.1f} s"
        return [head, *(f"{name}: {n:,} rows" for name, n in self.rows.items())]


# --- cell formatting --------------------------------------------------------------------------------
# A column is formatted through its distinct values: a registry's columns repeat (a few hundred dates,
# scores 0-3, a patient's identifier on each of their rows), so each distinct value is formatted once in
# Python and the column is built by indexing (pandas.factorize), not cell by cell. Cells come out as
# plain lists of str, which the csv module writes directly.

_RISKY = frozenset(FORMULA_START)


def protect_cell(text: str) -> str:
    """Formula-injection protection of one text cell: a `'` before text starting with = + - @ tab CR, or
    with `'` followed by one of them — or by more quotes and then one of them, so that every text keeps
    its own escaped form and the importer's `reader.unescape` gives each back exactly."""
    if text and (text[0] in _RISKY or (text[0] == "'" and text.lstrip("'")[:1] in _RISKY)):
        return "'" + text
    return text


def _text(value) -> str:
    return protect_cell(str(value))


def _number(value) -> str:
    return format_number(float(value) + 0.0)  # + 0.0: -0.0 is written 0


def _int(value) -> str:
    return str(int(np.trunc(float(value))))


def _yes_no(value) -> str:
    return "yes" if value else "no"


def _by_distinct(values, label) -> list[str]:
    """`label(v)` for every value, blank for a missing one, computed once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = np.array([label(u) for u in uniques] + [""], dtype=object)  # code -1 (missing) -> the last, ""
    return labels[codes].tolist()


def format_cells(values: pd.Series, kind: str) -> list[str]:
    """The cells of one column as they are written: text protected, numbers without a trailing .0 (and
    without an exponent), whole numbers, ISO dates, yes/no; blank where the value is missing."""
    if kind == TEXT:
        return _by_distinct(values.astype(object).where(values.notna(), None), _text)
    if kind == NUMBER:
        return _by_distinct(pd.to_numeric(values, errors="coerce").astype("float64"), _number)
    if kind == INT:
        return _by_distinct(pd.to_numeric(values, errors="coerce").astype("float64"), _int)
    if kind == DATE:
        codes, uniques = pd.factorize(pd.to_datetime(values, errors="coerce"), use_na_sentinel=True)
        days = np.asarray(uniques).astype("datetime64[D]")
        labels = np.array([*np.datetime_as_string(days, unit="D").tolist(), ""], dtype=object)
        return labels[codes].tolist()
    if kind == YESNO:
        return _by_distinct(values.astype("boolean"), _yes_no)
    raise ValueError(f"unknown column kind {kind!r}")


def protect(values: pd.Series) -> pd.Series:
    """Formula-injection protection of a column of text (missing -> blank)."""
    return pd.Series(format_cells(values, TEXT), index=values.index, dtype=object)


def as_text(frame: pd.DataFrame, columns: list[str], kinds: dict[str, str]) -> dict[str, list[str]]:
    """The cells of `frame`'s `columns`, each a list of str in row order (see `format_cells`)."""
    return {c: format_cells(frame[c], kinds[c]) for c in columns}


# --- sinks: where the files go ----------------------------------------------------------------------


class CsvSink:
    """CSV files in a folder, each written as its chunks arrive."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.handles: dict[str, io.TextIOBase] = {}

    def write(self, name: str, cells: dict[str, list[str]], kinds: dict[str, str]) -> None:
        handle = self.handles.get(name)
        if handle is None:
            handle = self.handles[name] = open(self.folder / name, "w", encoding="utf-8", newline="")  # noqa: SIM115
            handle.write(",".join(cells) + "\r\n")
        csv.writer(handle, lineterminator="\r\n").writerows(zip(*cells.values(), strict=True))

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_MAX_ROWS = 1_048_576  # rows of a worksheet, the header included (Excel's limit)


class XlsxSink:
    """One workbook (openpyxl write-only, streamed), one sheet per file; numbers as numbers, dates as ISO text."""

    def __init__(self, path: Path | io.BytesIO) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheets = {name: self.book.create_sheet(name.removesuffix(".csv")) for name in SHEET_ORDER}
        self.rows: dict[str, int] = {}  # rows written per sheet, the header included

    def write(self, name: str, cells: dict[str, list[str]], kinds: dict[str, str]) -> None:
        sheet = self.sheets[name]
        if name not in self.rows:
            sheet.append(list(cells))
            self.rows[name] = 1
        self.rows[name] += len(next(iter(cells.values()), ()))
        if self.rows[name] > XLSX_MAX_ROWS:
            raise InvalidValue(f"{name} has more rows than an Excel sheet holds ({XLSX_MAX_ROWS - 1:,}); export "
                               "as CSV, or choose fewer patients", field="format")
        numeric = [kinds.get(c) in (INT, NUMBER) for c in cells]
        for row in zip(*cells.values(), strict=True):
            sheet.append([_cell(v, n) for v, n in zip(row, numeric, strict=True)])

    def close(self) -> None:
        self.book.save(self.path)


def _cell(value: str, numeric: bool):
    if value == "":
        return None
    if numeric:
        number = float(value)
        return int(number) if number.is_integer() else number
    # XML 1.0 has no place for most control characters (a vertical tab from a word processor's line break):
    # the workbook gets a space where the CSV file keeps the character
    return _XML_ILLEGAL.sub(" ", value)


# --- the export ---------------------------------------------------------------------------------------


@dataclass
class _State:
    deidentify: bool
    secret: bytes | None
    anchor_drug: str | None
    months: list[int]
    with_age: bool
    raters: dict[str, str] = field(default_factory=dict)
    window_parts: list[pd.DataFrame] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    written: dict[str, list[str]] = field(default_factory=dict)
    # de-identified: patients whose events differ only by their description, which is removed (see _stand_ins)
    told_apart: set[str] = field(default_factory=set)


def _patient_list(engine: Engine, patients: Iterable[str] | None) -> list[str]:
    table = Patient.__table__
    with read_session(engine) as session:
        statement = select(table.c.patient_id).where(table.c.deleted_at.is_(None)).order_by(table.c.patient_id)
        every = sorted(row[0] for row in session.execute(statement))  # Python's order: the same on every database
    if patients is None:
        return every
    wanted = list(dict.fromkeys(str(p).strip() for p in patients if str(p).strip()))
    live = set(every)
    missing = [p for p in wanted if p not in live]
    if missing:
        raise UnknownPatient(f"no live patient {', '.join(map(repr, missing[:10]))}"
                             + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""), field="patients")
    return sorted(wanted)


def _uses_age(engine: Engine) -> bool:
    table = Patient.__table__
    with read_session(engine) as session:
        return bool(session.execute(select(func.count()).select_from(table).where(
            table.c.age_at_baseline.is_not(None), table.c.deleted_at.is_(None))).scalar())


def _check_months(months) -> list[int]:
    out = []
    for month in months:
        try:
            value = int(month)
        except (TypeError, ValueError):
            raise InvalidValue(f"{month!r} is not a whole number of months", field="months") from None
        if value < 1 or value != float(month):
            raise InvalidValue(f"{month!r} is not a whole number of months from 1", field="months")
        out.append(value)
    if not out:
        raise InvalidValue("give at least one month, e.g. 3,6,12,24", field="months")
    return list(dict.fromkeys(out))


def write_export(engine: Engine, sink, *, deidentify: bool, anchor_drug: str | None, months, patients,
                 progress=None) -> tuple[dict[str, int], int]:
    """Write every file of the export into `sink`; returns (data rows per file, number of patients)."""
    months = _check_months(months)
    identifiers = _patient_list(engine, patients)
    secret = deid.installation_secret(engine) if deidentify else None
    state = _State(deidentify=deidentify, secret=secret, anchor_drug=anchor_drug or None, months=months,
                   with_age=deidentify or _uses_age(engine))
    if deidentify:
        names = {p: deid.pseudonym(secret, p) for p in identifiers}
        if len(set(names.values())) != len(names):
            raise InvalidValue("two patients share a pseudonym; set another SKINTRACK_SECRET", field="patients")
        identifiers.sort(key=names.__getitem__)  # output order must not reveal the identifiers' order
        state.told_apart = patients_with_events_told_apart_by_description(engine) & set(identifiers)
    for start in range(0, max(len(identifiers), 1), CHUNK):
        _export_chunk(engine, sink, state, identifiers[start:start + CHUNK])
        if progress is not None:
            progress(min(start + CHUNK, len(identifiers)), len(identifiers))
    windows = pd.concat(state.window_parts, ignore_index=True) if state.window_parts else None
    windows = format_windows_for_export(summarise_windows(windows, months)) if windows is not None else None
    _emit(sink, state, "windows.csv", windows, DERIVED_KINDS["windows.csv"])
    written = {name: state.written[name] for name in SHEET_ORDER if name in state.written}
    dictionary = pd.DataFrame(dictionary_rows(written), columns=list(DICTIONARY_COLUMNS))
    _emit(sink, state, "dictionary.csv", dictionary, dict.fromkeys(DICTIONARY_COLUMNS, TEXT))
    return state.rows, len(identifiers)


def _emit(sink, state: _State, name: str, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
    sink.write(name, as_text(frame, list(frame.columns), kinds), kinds)
    state.rows[name] = state.rows.get(name, 0) + len(frame)
    state.written.setdefault(name, list(frame.columns))


def _export_chunk(engine: Engine, sink, state: _State, identifiers: list[str]) -> None:
    people = load_patients(engine, identifiers)
    assessments = load_assessments(engine, identifiers)
    measurements = load_measurements(engine, identifiers)
    medications = load_medications(engine, identifiers)
    events = load_events(engine, identifiers)

    visits = visit_scores(assessments)
    anchors = first_drug_starts(medications, state.anchor_drug) if state.anchor_drug else None
    base = baselines(visits, anchors=anchors)
    visit_table = format_visits_for_export(visit_export_frame(visits, base, medications))
    summary_raw = summarise_patients(people, visits, anchors=anchors)
    summary = format_summary_for_export(summary_raw)
    state.window_parts.append(select_window_visits(change_from_baseline(visits, base), state.months))

    measurements = measurements.assign(unit=measurements["measure"].map(CATALOGUE_UNITS).fillna(""))
    frames = {"patients.csv": people, "skin_scores.csv": assessments, "measurements.csv": measurements,
              "medications.csv": medications, "events.csv": events, "visits.csv": visit_table,
              "summary.csv": summary}
    frames = {name: _ordered(frame, identifiers) for name, frame in frames.items()}
    if state.deidentify:
        frames = _deidentify(frames, state, summary_raw)
    for spec in BUNDLE_FILES:
        columns = [c for c in spec.columns if _keeps(spec.name, c, state)]
        frame = frames[spec.name]
        _emit(sink, state, spec.name, frame[columns], spec.kinds)
    for name in ("visits.csv", "summary.csv"):
        frame = frames[name]
        _emit(sink, state, name, frame, DERIVED_KINDS[name])


def _ordered(frame: pd.DataFrame, identifiers: list[str]) -> pd.DataFrame:
    """Rows grouped by patient in the export's patient order (`identifiers`), each patient's rows kept in
    read order. The reads usually give that order already, and then nothing is moved."""
    codes = pd.Categorical(frame["patient_id"], categories=identifiers).codes
    if len(codes) < 2 or bool((codes[1:] >= codes[:-1]).all()):
        return frame
    return frame.iloc[np.argsort(codes, kind="stable")]


def _keeps(name: str, column: str, state: _State) -> bool:
    if state.deidentify:
        if name == "events.csv" and column == "description":
            return bool(state.told_apart)  # stand-ins only (_stand_ins), never the text
        return column not in IDENTIFYING_COLUMNS and column != "birth_year"
    return column != "age_at_baseline" or state.with_age


def _deidentify(frames: dict[str, pd.DataFrame], state: _State, summary_raw: pd.DataFrame) -> dict:
    secret = state.secret
    people = frames["patients.csv"].copy()
    # age at the (anchored, when anchored) baseline; a stored age is kept when the birth year is unknown
    base_year = summary_raw.set_index("patient_id")["baseline_date"].dt.year
    ages = []
    for pid, birth, stored in zip(people["patient_id"], people["birth_year"], people["age_at_baseline"],
                                  strict=True):
        year = base_year.get(pid)
        year = None if year is None or pd.isna(year) else int(year)
        if pd.isna(birth):
            ages.append(None if pd.isna(stored) else min(int(stored), deid.AGE_CAP))
        else:
            ages.append(deid.age_at_baseline(year, int(birth)))
    people["age_at_baseline"] = pd.array(ages, dtype="Int64")
    frames = dict(frames, **{"patients.csv": people})

    # the latest real date of each patient decides whether a forward shift stays in the past
    latest: dict[str, pd.Timestamp] = {}
    for name, columns in DATE_COLUMNS.items():
        frame = frames[name]
        for column in columns:
            if len(frame):
                maxima = frame.groupby("patient_id")[column].max()
                for pid, day in maxima.items():
                    if not pd.isna(day) and (pid not in latest or day > latest[pid]):
                        latest[pid] = day
    offsets = {pid: deid.date_offset(secret, pid, latest[pid].date() if pid in latest else None)
               for pid in people["patient_id"]}
    names = {pid: deid.pseudonym(secret, pid) for pid in people["patient_id"]}

    for frame_name in ("skin_scores.csv", "measurements.csv"):
        for rater in pd.unique(frames[frame_name]["rater"]):
            if rater and rater not in state.raters:
                state.raters[rater] = f"rater-{len(state.raters) + 1}"
    frames["events.csv"] = _stand_ins(frames["events.csv"])
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        shift = pd.to_timedelta(frame["patient_id"].map(offsets).astype("float64"), unit="D")
        for column in DATE_COLUMNS.get(name, ()):
            frame[column] = pd.to_datetime(frame[column]) + shift
        if "rater" in frame and name in ("skin_scores.csv", "measurements.csv"):
            frame["rater"] = frame["rater"].map(lambda r: state.raters.get(r, "") if r else "")
        frame["patient_id"] = frame["patient_id"].map(names)
        if name in _RENAMED_KEYS:
            # in the order an export of the imported bundle would have: by its own (renamed) key values
            frame = frame.sort_values(["patient_id", *_RENAMED_KEYS[name]], kind="stable")
        out[name] = frame
    return out


# Files whose key holds a value that de-identification renames (raters, description stand-ins).
_RENAMED_KEYS = {spec.name: spec.key[1:] for spec in BUNDLE_FILES if spec.name in
                 ("skin_scores.csv", "measurements.csv", "events.csv")}


def _stand_ins(events: pd.DataFrame) -> pd.DataFrame:
    """The events with their descriptions replaced: blank, except where two events of a patient share date,
    kind, sites and agent and so differed only by their description (the last column of the events key).
    Those get `event-1`, `event-2`, ... within their group, so that the de-identified bundle keeps them apart
    and imports like any other, with none of the description's text."""
    stand_in = pd.Series("", index=events.index, dtype=object)
    if len(events):
        groups = events.groupby(["patient_id", "date", "kind", "sites", "agent"], sort=False, dropna=False)
        size, number = groups["patient_id"].transform("size"), groups.cumcount() + 1
        stand_in[size > 1] = "event-" + number[size > 1].astype(str)
    return events.assign(description=stand_in)


def _audit_export(engine: Engine, *, actor: str, fmt: str, deidentify: bool, anchor_drug, months, n: int,
                  restricted: bool, target: str) -> None:
    kind = "de-identified" if deidentify else "identified"
    detail = (f"{kind} {fmt} export of {n} patients{' (selected)' if restricted else ''}"
              f"{f', anchored on {anchor_drug}' if anchor_drug else ''}, windows {','.join(map(str, months))}"
              f"{f' to {target}' if target else ''}")
    with write_session(engine) as session:
        audit(session, actor=actor, action="export", entity="bundle", detail=detail)


def export_bundle(engine: Engine, out, *, fmt: str = "csv", deidentify: bool = False, anchor_drug: str | None = None,
                  months=DEFAULT_WINDOW_MONTHS, patients=None, actor: str, progress=None) -> ExportResult:
    """Write the export to `out`: a folder of CSV files (created if missing) or, with fmt="xlsx", a workbook.

    `patients` (patient_ids) limits every file to those patients; `anchor_drug` anchors the baselines;
    `months` sets the visit windows. Audited as one `export` row. Raises UnknownPatient (a patient_id
    that is not a live patient) or InvalidValue (months, format).
    """
    if fmt not in FORMATS:
        raise InvalidValue(f"{fmt!r} is not an export format; allowed: {', '.join(FORMATS)}", field="format")
    started = time.perf_counter()
    out = Path(out)
    # Written aside first (beside OUT, not in it: an export killed midway leaves nothing inside a bundle folder)
    # and moved into place at the end: a failed export leaves no half-written files.
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        out.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        sink = CsvSink(staging)
    else:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.partial-", dir=out.parent)
        os.close(handle)
        staging = Path(name)
        sink = XlsxSink(staging)
    try:
        try:
            rows, n = write_export(engine, sink, deidentify=deidentify, anchor_drug=anchor_drug, months=months,
                                   patients=patients, progress=progress)
        finally:
            sink.close()
        if fmt == "csv":
            for name in SHEET_ORDER:
                os.replace(staging / name, out / name)
        else:
            os.replace(staging, out)
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.unlink(missing_ok=True)
    _audit_export(engine, actor=actor, fmt=fmt, deidentify=deidentify, anchor_drug=anchor_drug,
                  months=_check_months(months), n=n, restricted=patients is not None, target=str(out))
    return ExportResult(path=out, fmt=fmt, deidentified=deidentify, rows=rows, patients=n,
                        seconds=time.perf_counter() - started)


def export_bytes(engine: Engine, *, fmt: str = "zip", deidentify: bool = False, anchor_drug: str | None = None,
                 months=DEFAULT_WINDOW_MONTHS, patients=None, actor: str, progress=None) -> bytes:
    """The export as bytes for a download: a zip of the CSV files (fmt="zip") or a workbook (fmt="xlsx")."""
    if fmt not in ("zip", "xlsx"):
        raise InvalidValue(f"{fmt!r} is not a download format; allowed: zip, xlsx", field="format")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        sink = XlsxSink(buffer)
        try:
            _, n = write_export(engine, sink, deidentify=deidentify, anchor_drug=anchor_drug, months=months,
                                patients=patients, progress=progress)
        finally:
            sink.close()
        data = buffer.getvalue()
    else:
        with tempfile.TemporaryDirectory(prefix="skintrack-export-") as folder:
            sink = CsvSink(Path(folder))
            try:
                _, n = write_export(engine, sink, deidentify=deidentify, anchor_drug=anchor_drug, months=months,
                                    patients=patients, progress=progress)
            finally:
                sink.close()
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name in SHEET_ORDER:
                    archive.write(Path(folder) / name, name)
            data = buffer.getvalue()
    _audit_export(engine, actor=actor, fmt=fmt, deidentify=deidentify, anchor_drug=anchor_drug,
                  months=_check_months(months), n=n, restricted=patients is not None, target="download")
    return data
