"""Importing a bundle: every row validated by the model layer, then all of it written in one transaction.

Validation uses the same schemas as the forms (`models.*Create` through `models.validation.parse`) and
the same cross-record rules as the write paths of `db/` (patient must exist, nothing before the birth
year, no duplicate key, no overlapping periods of one drug); the plain rows of skin_scores.csv and
measurements.csv take a fast path that gives the schema's result without pydantic, and every other row goes
through the schema (see "the fast path" below). The write is the bulk form of those write
paths: set-based inserts (executemany) inside ONE transaction, one `import` audit row that every
inserted row points to through `import_id`, and one audited `update` row per changed record (--update).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from typing import NamedTuple

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from db.common import audit, bump_versions
from db.engine import read_session, write_session
from exchange.errors import BundleRejected, Problem
from exchange.spec import EVENTS, MEASUREMENTS, MEDICATIONS, PATIENTS, SKIN_SCORES, BundleFile
from models import (
    Assessment,
    AssessmentCreate,
    MeasurementCreate,
    MedicationPeriodCreate,
    Patient,
    PatientCreate,
    TreatmentEventCreate,
)
from models.catalog import MEASURES_BY_CODE, MRSS_MAX, SIDES, SITE_CODES
from models.errors import SkintrackError
from models.measurement import Measurement
from models.rules import Span, overlapping_periods, unknown_patient_reason, unknown_suspected_drugs
from models.treatment import AE_FIELDS, FROM_A_BUNDLE, MedicationPeriod, TreatmentEvent
from models.validation import parse

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BATCH = 5000
Progress = Callable[[int, int], None] | None


@dataclass(frozen=True)
class Kind:
    """How one bundle file maps onto its table."""

    spec: BundleFile
    schema: type
    model: type
    key: tuple[str, ...]  # key columns after patient_id (the table's column names)
    values: tuple[str, ...]  # the other columns written from the bundle
    date_column: str | None  # checked against the birth year
    label: str


KINDS = (
    Kind(SKIN_SCORES, AssessmentCreate, Assessment, ("visit_date", "rater"), (*SITE_CODES, "total", "incomplete"),
         "visit_date", "skin scores"),
    Kind(MEASUREMENTS, MeasurementCreate, Measurement, ("date", "measure", "side", "rater"), ("value", "unit"),
         "date", "measurements"),
    Kind(MEDICATIONS, MedicationPeriodCreate, MedicationPeriod, ("drug", "start_date"),
         ("dose", "dose_unit", "frequency", "route", "end_date", "reason"), "start_date", "medication periods"),
    Kind(EVENTS, TreatmentEventCreate, TreatmentEvent, ("date", "kind", "sites", "agent", "description"),
         ("dose", "dose_unit", "grade", "serious", "end_date", *AE_FIELDS), "date", "events"),
)
PATIENT_VALUES = ("diagnosis", "sex", "birth_year", "age_at_baseline", "diagnosis_date", "name", "mrn", "notes")
FILE_ORDER = (PATIENTS.name, *(k.spec.name for k in KINDS))


@dataclass
class ImportReport:
    """What an import wrote (or, for a dry run, would write), per bundle file."""

    bundle_name: str
    dry_run: bool
    import_id: int | None = None
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        out = []
        for name in FILE_ORDER:
            parts = [f"{self.created.get(name, 0):,} new", f"{self.updated.get(name, 0):,} changed",
                     f"{self.unchanged.get(name, 0):,} unchanged"]
            out.append(f"{name}: " + ", ".join(parts))
        head = (f"dry run of {self.bundle_name}: nothing written; {self.changed:,} records {verb} written"
                if self.dry_run else f"imported {self.bundle_name} (import #{self.import_id}): {self.changed:,} "
                f"records {verb} written")
        return [head, *out]


class _Row(NamedTuple):  # a tuple: a million of them are held until the write
    line: int
    values: tuple  # in the order of Kind.values (or PATIENT_VALUES)


def _validated(spec: BundleFile, fast: Callable | None, slow: Callable, records: Iterable, problems: list[Problem],
               counter: list[int], progress: Progress, total: int) -> Iterator[tuple[int, tuple]]:
    """(line, (patient_id, key, values)) for every valid record, from `fast(record)` when it recognises the
    record, else from the schema through `slow(record)`; a problem per bad cell otherwise."""
    count = counter[0]
    for item in records:
        count += 1
        if progress is not None and count % 5000 == 0:
            progress(min(count, total), total)
        if isinstance(item, Problem):
            problems.append(item)
            continue
        line, record = item
        row = fast(record) if fast is not None else None
        if row is None:
            try:
                row = slow(record)
            except SkintrackError as error:
                for problem in error.problems:
                    column = problem.field if problem.field in spec.kinds else (problem.field or "row")
                    problems.append(Problem(spec.name, line, column, problem.reason))
                continue
        yield line, row
    counter[0] = count


# --- the fast path of the two large files ---------------------------------------------------------
# A registry's bundle is millions of cells, nearly all plain: pydantic validation of each row was most of
# an import's time. These functions accept only rows whose every cell is in a plain form the schema
# accepts unchanged (ASCII digits, ISO dates, codes of the catalogue) and return exactly what the schema
# and _extract would; any other row (a blank required cell, '2.0', an error of any kind) returns None and
# goes through parse(), so every rule and every error message stays the form's.

_SCORE_TEXT = {"": None, None: None, "0": 0, "1": 1, "2": 2, "3": 3}  # str keys only: True == 1 is no score
_SCORE_ANY = {**_SCORE_TEXT, 0: 0, 1: 1, 2: 2, 3: 3}  # also the ints of a registry held in memory
_SCORE_TYPES = (str, int, type(None))  # not bool, nor an unhashable cell
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SKIN_COLUMNS = frozenset(SKIN_SCORES.kinds)
_MEASUREMENT_COLUMNS = frozenset(MEASUREMENTS.kinds)


@lru_cache(maxsize=1 << 16)
def _iso_day(value: str) -> date | None:
    """The date of a YYYY-MM-DD cell of ASCII digits; None otherwise (cached: dates repeat a lot)."""
    if len(value) == 10 and value.isascii() and ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=1 << 16)
def _plain_number(value: str) -> float | None:
    """The float of a cell like 12 or -3.25 (ASCII digits); None for any other form."""
    return float(value) if value.isascii() and _PLAIN_NUMBER.fullmatch(value) else None


def _plain_date(value, today: date) -> date | None:
    """An ISO date of ASCII digits, not in the future, as the schema would parse it; else None."""
    if value.__class__ is str:
        day = _iso_day(value)
        if day is not None and day <= today:
            return day
    return None


def _site_scores(record: dict) -> list | None:
    """The 17 scores of plain cells ('' or absent -> None, '0'-'3' or 0-3), as check_score gives them."""
    try:
        return list(map(_SCORE_TEXT.__getitem__, map(record.get, SITE_CODES)))
    except (KeyError, TypeError):  # not text: ints (a registry in memory), or anything else
        pass
    scores = []
    for cell in map(record.get, SITE_CODES):
        if cell.__class__ not in _SCORE_TYPES or cell not in _SCORE_ANY:
            return None
        scores.append(_SCORE_ANY[cell])
    return scores


def _fast_assessment(record: dict, today: date) -> tuple | None:
    """(patient_id, key, values) of a plain AssessmentCreate row, as _extract gives them; else None."""
    if not record.keys() <= _SKIN_COLUMNS:
        return None
    patient_id = record.get("patient_id")  # kept as given, unstripped, like AssessmentCreate._patient
    rater = record.get("rater", "")
    if patient_id.__class__ is not str or rater.__class__ is not str or not patient_id.strip():
        return None
    rater = rater.strip()
    visit_date = _plain_date(record.get("visit_date"), today)
    scores = _site_scores(record)
    if visit_date is None or scores is None or len(rater) > 100:
        return None
    total = record.get("total")
    if total == "":
        total = None
    elif total is not None:
        if total.__class__ is not str:
            return None
        try:
            total = float(total)  # what AssessmentCreate._total does
        except ValueError:
            return None
        if not 0 <= total <= MRSS_MAX:
            return None
    blank = scores.count(None)
    if blank == 0:
        site_sum = sum(scores)
        if total is not None and total != site_sum:
            return None
        total = float(site_sum)
    elif blank == len(SITE_CODES):
        if total is None:
            return None
    elif total is not None:
        return None
    return patient_id, (visit_date, rater), (*scores, total, total is None)


def _fast_measurement(record: dict, today: date) -> tuple | None:
    """(patient_id, key, values) of a plain MeasurementCreate row, as _extract gives them; else None."""
    if not record.keys() <= _MEASUREMENT_COLUMNS:
        return None
    get = record.get
    patient_id, code, side, unit, rater = get("patient_id"), get("measure"), get("side", ""), get("unit", ""), \
        get("rater", "")
    if not patient_id.__class__ is code.__class__ is side.__class__ is unit.__class__ is rater.__class__ is str:
        return None
    # stripped like the schema's before-validators, within its max_length
    patient_id, side, unit, rater = patient_id.strip(), side.strip(), unit.strip(), rater.strip()
    measure = MEASURES_BY_CODE.get(code.strip())
    if not patient_id or measure is None or len(measure.code) > 40 or len(unit) > 16 or len(rater) > 100:
        return None
    day = _plain_date(get("date"), today)
    value = get("value")
    if value.__class__ is str:
        value = _plain_number(value)
    elif value.__class__ is float or value.__class__ is int:
        value = float(value)
    else:
        return None
    if day is None or value is None:
        return None
    if ((side in SIDES) if measure.sided else not side) and (not unit or unit == measure.unit) \
            and measure.low <= value <= measure.high and (not measure.whole_numbers or value == int(value)):
        return patient_id, (day, measure.code, side, rater), (value, measure.unit)
    return None


def _readers(kind: Kind | None, today: date) -> tuple[Callable | None, Callable]:
    """(fast, slow) record -> (patient_id, key, values) of one file: the fast path where there is one (None
    when it does not recognise the record), and the schema, which raises SkintrackError for a bad record."""
    if kind is None:
        def patient(record: dict) -> tuple:
            obj = parse(PatientCreate, record)
            return obj.patient_id, (), tuple(getattr(obj, c) for c in PATIENT_VALUES)
        return None, patient
    fast = {SKIN_SCORES.name: _fast_assessment, MEASUREMENTS.name: _fast_measurement}.get(kind.spec.name)
    context = {FROM_A_BUNDLE: True}
    return (partial(fast, today=today) if fast else None), \
        lambda record: _extract(kind, parse(kind.schema, record, context=context))


def _differing(columns: tuple[str, ...], old: tuple, new: tuple) -> list[str]:
    return [c for c, a, b in zip(columns, old, new, strict=True) if a != b]


def _show(value) -> str:
    if value is None or value == "":
        return "blank"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _change_text(columns, old, new) -> str:
    diffs = [(c, a, b) for c, a, b in zip(columns, old, new, strict=True) if a != b]
    shown = "; ".join(f"{c} {_show(a)} -> {_show(b)}" for c, a, b in diffs[:3])
    return shown + ("; ..." if len(diffs) > 3 else "")


def _extract(kind: Kind, obj) -> tuple[str, tuple, tuple]:
    """(patient_id, key after patient_id, values) of a validated child row."""
    if kind.spec is SKIN_SCORES:
        scores = tuple(getattr(obj, c) for c in SITE_CODES)
        scored = sum(v is not None for v in scores)
        # analysis.scores.rater_total, inlined for speed: the sum when complete, the recorded total
        # when total-only, none when sites are missing (tests check they agree)
        total = float(sum(scores)) if scored == len(SITE_CODES) else (obj.total if scored == 0 else None)
        values = (*scores, total, total is None)
    else:
        values = tuple(getattr(obj, c) for c in kind.values)
    return obj.patient_id, tuple(getattr(obj, c) for c in kind.key), values


def import_records(engine: Engine, tables: dict[str, tuple[list[str], Iterable]], *, actor: str, bundle_name: str,
                   update_existing: bool = False, dry_run: bool = False, progress: Progress = None,
                   problems: list[Problem] | None = None, total: int = 0) -> ImportReport:
    """Validate and write bundle records: `tables` maps a bundle file name to (header, records), the records
    being (line, {column: cell}) or Problem items. All or nothing.

    Raises BundleRejected with every problem (nothing written). Returns the ImportReport.
    """
    started = time.perf_counter()
    problems = list(problems or [])
    counter = [0]
    total = max(total, 1)
    report = ImportReport(bundle_name=bundle_name, dry_run=dry_run)
    today = date.today()  # once: the fast path's "not in the future" (the schema asks the clock per row)

    # --- patients of the bundle ------------------------------------------------------------------
    bundle_patients: dict[str, _Row] = {}
    if PATIENTS.name in tables:
        _, records = tables[PATIENTS.name]
        for line, (patient_id, _, values) in _validated(PATIENTS, *_readers(None, today), records, problems,
                                                        counter, progress, total):
            row = _Row(line, values)
            seen = bundle_patients.get(patient_id)
            if seen is None:
                bundle_patients[patient_id] = row
            elif seen.values != row.values:
                problems.append(Problem(PATIENTS.name, line, _differing(PATIENT_VALUES, seen.values, row.values)[0],
                                        f"patient {patient_id!r} is on line {seen.line} too, with different "
                                        "values (rows with the same key are the same record)"))

    # --- child rows ------------------------------------------------------------------------------
    child: dict[str, dict[tuple, _Row]] = {}
    referenced: set[str] = set(bundle_patients)
    for kind in KINDS:
        rows: dict[tuple, _Row] = {}
        child[kind.spec.name] = rows
        if kind.spec.name not in tables:
            continue
        _, records = tables[kind.spec.name]
        for line, (patient_id, key, values) in _validated(kind.spec, *_readers(kind, today), records, problems,
                                                           counter, progress, total):
            full_key = (patient_id, *key)
            seen = rows.get(full_key)
            if seen is None:
                rows[full_key] = _Row(line, values)
                referenced.add(patient_id)
            elif seen.values != values:
                columns = _differing(kind.values, seen.values, values)
                problems.append(Problem(kind.spec.name, line, columns[0] if columns[0] != "incomplete" else "total",
                                        f"same key ({', '.join(('patient_id', *kind.key))}) as line {seen.line} "
                                        "with different values (rows with the same key are the same record)"))

    # --- the database: patients, then existing rows of those patients ----------------------------
    existing_patients = _load_patients(engine, referenced)
    patient_updates: list[tuple[str, int, tuple]] = []
    for patient_id, row in bundle_patients.items():
        found = existing_patients.get(patient_id)
        if found is None:
            continue
        key, deleted, values = found
        if deleted:
            problems.append(Problem(PATIENTS.name, row.line, "patient_id", f"patient {patient_id!r} was deleted; "
                                    "an administrator can restore it (Deleted records) before importing"))
        elif values != row.values:
            if update_existing:
                patient_updates.append((patient_id, key, values))
            else:
                problems.append(Problem(
                    PATIENTS.name, row.line, _differing(PATIENT_VALUES, values, row.values)[0],
                    f"patient {patient_id!r} exists with different values "
                    f"({_change_text(PATIENT_VALUES, values, row.values)}); import with --update to change it"))
    birth_year = {pid: vals[2] for pid, (_, deleted, vals) in existing_patients.items() if not deleted}
    birth_year.update({pid: row.values[2] for pid, row in bundle_patients.items()})
    live_keys = {pid: key for pid, (key, deleted, _) in existing_patients.items() if not deleted}

    creates: dict[str, list] = {k.spec.name: [] for k in KINDS}
    period_drugs: dict[str, set[str]] = defaultdict(set)  # patient_id -> drugs of its live periods
    updates: dict[str, list] = {k.spec.name: [] for k in KINDS}
    for kind in KINDS:
        name = kind.spec.name
        rows = child[name]
        existing = _load_rows(engine, kind, {live_keys[k[0]] for k in rows if k[0] in live_keys}) if live_keys \
            else {}
        unchanged = 0
        new_rows = creates[name]
        in_key = kind.date_column in kind.key
        date_at = 1 + kind.key.index(kind.date_column) if in_key else kind.values.index(kind.date_column)
        kept = []  # the rows that reach the overlap rule
        for full_key, row in rows.items():
            patient_id = full_key[0]
            if patient_id not in bundle_patients and patient_id not in live_keys:
                problems.append(Problem(name, row.line, "patient_id", unknown_patient_reason(
                    patient_id, deleted=patient_id in existing_patients)))
                continue
            year = birth_year.get(patient_id)
            if year:
                when = full_key[date_at] if in_key else row.values[date_at]
                if when.year < year:
                    problems.append(Problem(name, row.line, kind.date_column,
                                            f"{when.isoformat()} is before the birth year {year}"))
                    continue
            found = existing.get((live_keys.get(patient_id), *full_key[1:])) if existing else None
            # a change refused for want of --update still stands for the overlap rule: the report names the one
            # problem to fix (the change), not its consequences
            kept.append((full_key, row))
            if found is None:
                new_rows.append((full_key, row))
            elif found[1] == row.values:
                unchanged += 1
            elif update_existing:
                updates[name].append((full_key, row, found))
            else:
                columns = _differing(kind.values, found[1], row.values)
                column = "total" if columns[0] in ("incomplete",) else columns[0]
                problems.append(Problem(name, row.line, column,
                                        f"this record exists with different values "
                                        f"({_change_text(kind.values, found[1], row.values)}); import with --update "
                                        "to change it"))
        report.unchanged[name] = unchanged
        if kind.spec is MEDICATIONS:
            problems.extend(_overlaps(kept, existing, live_keys))
            refused = {p.line for p in problems if p.file == name}
            by_key_patient = {key: pid for pid, key in live_keys.items()}
            for (key, drug, _), _found in existing.items():
                period_drugs[by_key_patient[key]].add(drug)
            for full_key, row in kept:
                if row.line not in refused:
                    period_drugs[full_key[0]].add(full_key[1])
        if kind.spec is EVENTS:
            refused = {p.line for p in problems if p.file == name}
            kept = [(full_key, row) for full_key, row in kept if row.line not in refused]
            drug_at = kind.values.index("suspected_drug")
            problems.extend(Problem(name, kept[v.row][1].line, v.field, v.reason) for v in unknown_suspected_drugs(
                [(full_key[0], row.values[drug_at]) for full_key, row in kept], period_drugs))

    if problems:
        order = {name: i for i, name in enumerate(FILE_ORDER)}
        problems.sort(key=lambda p: (order.get(p.file, -1), p.file, p.line))
        raise BundleRejected(problems)

    new_patients = [(pid, row) for pid, row in bundle_patients.items() if pid not in existing_patients]
    report.created[PATIENTS.name] = len(new_patients)
    report.updated[PATIENTS.name] = len(patient_updates)
    report.unchanged[PATIENTS.name] = len(bundle_patients) - len(new_patients) - len(patient_updates)
    for kind in KINDS:
        report.created[kind.spec.name] = len(creates[kind.spec.name])
        report.updated[kind.spec.name] = len(updates[kind.spec.name])
    if dry_run:
        report.seconds = time.perf_counter() - started
        if progress is not None:
            progress(total, total)
        return report

    _write(engine, report, actor=actor, new_patients=new_patients, patient_updates=patient_updates,
           bundle_patients=bundle_patients, live_keys=live_keys, creates=creates, updates=updates,
           progress=progress, done=counter[0], total=total)
    report.seconds = time.perf_counter() - started
    return report


def _overlaps(kept: list[tuple[tuple, _Row]], existing: dict[tuple, tuple], live_keys: dict[str, int]) -> list[Problem]:
    """The bundle's periods (in line order) that overlap another of the same patient and drug: a recorded one not
    replaced by the bundle, or an earlier line (models.rules.overlapping_periods)."""
    by_key_patient = {key: pid for pid, key in live_keys.items()}
    kept = sorted(kept, key=lambda item: item[1].line)
    replaced = {(live_keys.get(full_key[0]), *full_key[1:]) for full_key, _ in kept}
    recorded = [Span(by_key_patient[key[0]], key[1], key[2], values[4], values[0], values[1])
                for key, (_, values) in existing.items() if key not in replaced]
    spans = [Span(full_key[0], full_key[1], full_key[2], row.values[4], row.values[0], row.values[1])
             for full_key, row in kept]
    return [Problem(MEDICATIONS.name, kept[v.row][1].line, v.field, v.reason)
            for v in overlapping_periods(spans, recorded)]


def _chunks(items: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load_patients(engine: Engine, identifiers: set[str]) -> dict[str, tuple[int, bool, tuple]]:
    """identifier -> (key, deleted, PATIENT_VALUES) for the patients among `identifiers` in the database."""
    table = Patient.__table__
    out = {}
    with read_session(engine) as session:
        for chunk in _chunks(sorted(identifiers)):
            statement = select(table.c.patient_id, table.c.patient_key, table.c.deleted_at,
                               *[table.c[c] for c in PATIENT_VALUES]).where(table.c.patient_id.in_(chunk))
            for identifier, key, deleted_at, *values in session.execute(statement):
                out[identifier] = (key, deleted_at is not None, tuple(values))
    return out


def _load_rows(engine: Engine, kind: Kind, patient_keys: set[int]) -> dict[tuple, tuple[int, tuple]]:
    """(patient key, *key) -> (row id, values) of the live rows of these patients."""
    table = kind.model.__table__
    out = {}
    if not patient_keys:
        return out
    pk = table.primary_key.columns[0]
    columns = [pk, table.c.patient_key, *[table.c[c] for c in kind.key], *[table.c[c] for c in kind.values]]
    width = 1 + len(kind.key)
    with read_session(engine) as session:
        for chunk in _chunks(sorted(patient_keys)):
            statement = select(*columns).where(table.c.patient_key.in_(chunk), table.c.deleted_at.is_(None))
            for row_id, *rest in session.execute(statement):
                values = tuple(rest[width:])
                if kind.spec is SKIN_SCORES:
                    values = (*values[:-1], bool(values[-1]))
                out[tuple(rest[:width])] = (row_id, values)
    return out


def _write(engine: Engine, report: ImportReport, *, actor: str, new_patients, patient_updates, bundle_patients,
           live_keys, creates, updates, progress: Progress, done: int, total: int) -> None:
    detail = "; ".join(f"{name}: {report.created.get(name, 0)} new, {report.updated.get(name, 0)} changed"
                       for name in FILE_ORDER)
    reason = f"import of {report.bundle_name}"
    with write_session(engine) as session:
        event = audit(session, actor=actor, action="import", entity="bundle", reason=reason,
                      detail=f"{report.bundle_name}: {detail}")
        import_id = event.audit_id
        report.import_id = import_id
        touched: set[int] = set()

        patient_table = Patient.__table__
        _insert(session, patient_table, ("patient_id", *PATIENT_VALUES, "import_id", "data_version"),
                [(pid, *row.values, import_id, 0) for pid, row in new_patients])
        keys = dict(live_keys)
        for chunk in _chunks([pid for pid, _ in new_patients]):
            keys.update(session.execute(select(patient_table.c.patient_id, patient_table.c.patient_key)
                                        .where(patient_table.c.patient_id.in_(chunk))).all())
        for pid, key, before_values in patient_updates:
            after_values = bundle_patients[pid].values
            after = dict(zip(PATIENT_VALUES, after_values, strict=True))
            session.execute(update(patient_table).where(patient_table.c.patient_key == key)
                            .values(**after, version=patient_table.c.version + 1))
            audit(session, actor=actor, action="update", entity="patient", entity_id=key, patient_key=key,
                  before={"patient_id": pid, **dict(zip(PATIENT_VALUES, before_values, strict=True))},
                  after={"patient_id": pid, **after}, reason=reason, detail=f"import #{import_id}")
            touched.add(key)
        done += len(new_patients)

        for kind in KINDS:
            name = kind.spec.name
            table = kind.model.__table__
            batch = []
            extra = ("",) if kind.spec is SKIN_SCORES else ()  # assessment notes: not a bundle column
            columns = ("patient_key", *kind.key, *kind.values, "import_id", *(("notes",) if extra else ()))
            tail = (import_id, *extra)
            for full_key, row in creates[name]:
                key = keys[full_key[0]]
                if full_key[0] in live_keys:
                    touched.add(key)
                batch.append((key, *full_key[1:], *row.values, *tail))
                if len(batch) >= BATCH:
                    _insert(session, table, columns, batch)
                    done += len(batch)
                    batch = []
                    if progress is not None:
                        progress(min(done, total), total)
            _insert(session, table, columns, batch)
            done += len(batch)
            for full_key, row, (row_id, old_values) in updates[name]:
                key = keys[full_key[0]]
                after = dict(zip(kind.values, row.values, strict=True))
                session.execute(update(table).where(table.primary_key.columns[0] == row_id)
                                .values(**after, version=table.c.version + 1))
                ident = {"patient_id": full_key[0], **dict(zip(kind.key, full_key[1:], strict=True))}
                audit(session, actor=actor, action="update", entity=table.name, entity_id=row_id, patient_key=key,
                      before={**ident, **dict(zip(kind.values, old_values, strict=True))},
                      after={**ident, **after}, reason=reason, detail=f"import #{import_id}")
                touched.add(key)
        bump_versions(session, touched)
    if progress is not None:
        progress(total, total)


def _insert(session: Session, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A set-based insert of `rows` (tuples in the order of `columns`) in the session's transaction: COPY on
    PostgreSQL, elsewhere one executemany on the driver's cursor, the values converted by the columns' own
    SQLAlchemy bind processors (what `insert(table)` would do, without its per-row overhead)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    processors = [(i, p) for i, p in enumerate(_bind_processors(table, columns, connection.dialect)) if p]
    if processors:
        rows = [_processed(row, processors) for row in rows]
    marks = ", ".join("?" * len(columns))
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (model's names)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def _bind_processors(table, columns: tuple[str, ...], dialect) -> list:
    """The columns' bind processors, memoized: a column's values repeat (dates, flags), its processor is pure."""
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    return [lru_cache(maxsize=1 << 14)(p) if p else None for p in processors]


def _processed(row: tuple, processors: list) -> list:
    """The row with its values bound as SQLAlchemy binds them (dates as ISO text...); NULL stays NULL."""
    values = list(row)
    for i, process in processors:
        value = values[i]
        if value is not None:
            values[i] = process(value)
    return values
