"""Importing a bundle: its files read into one batch of the write path, the refusals worded as report lines.

Each record is parsed as a form's would be (`models.records.reader`: the schema, or the fast parse of plain
skin_scores.csv and measurements.csv rows, which gives the schema's result without pydantic); the batch goes through
`db.batch.write_batch` like a form's save, with the bundle's semantics (merge: a row equal to its record is
unchanged, a different one refused unless --update), in ONE transaction, audited as one `import` row that every
created record points to. What is left here: reading, the `file:line: column: reason` report, the counts.

Centres: patients.csv's `centre` (a centre's code) becomes the patient row's Row.extra; the write path places a new
patient there (blank: the database's only active centre) and refuses, as `centre` problems, a missing centre when
there are several, an inactive centre, a centre outside the importing engine's scope, a patient of another centre
than the bundle names, and a patient outside the scope. An unknown or malformed code is refused here. The other rows
of a patient refused for its centre are refused with it, named as `centre` problems too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from db.batch import BatchResult, Row, refresh_statistics, write_batch
from db.centres import centre_codes_by_key
from db.engine import read_session, write_session
from exchange.errors import BundleRejected, Problem
from exchange.spec import EVENTS, MEASUREMENTS, MEDICATIONS, PATIENTS, SKIN_SCORES, BundleFile
from models.centre import check_centre_code
from models.errors import InvalidValue, SkintrackError, UnknownPatient
from models.records import ASSESSMENT, EVENT, MEASUREMENT, MEDICATION, PATIENT, Kind, reader
from models.validation import check_text, printable

Progress = Callable[[int, int], None] | None

FILES: tuple[tuple[BundleFile, Kind], ...] = (
    (PATIENTS, PATIENT), (SKIN_SCORES, ASSESSMENT), (MEASUREMENTS, MEASUREMENT), (MEDICATIONS, MEDICATION),
    (EVENTS, EVENT),
)
FILE_OF = {kind.name: spec for spec, kind in FILES}
FILE_ORDER = tuple(spec.name for spec, _ in FILES)


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


def _column(spec: BundleFile, field_name: str) -> str:
    """A problem's field as the report names its column ('row' for a problem of the whole row)."""
    return field_name if field_name in spec.kinds else (field_name or "row")


class _Centres:
    """The centre column of patients.csv: a centre's code read into its key (a patient row's Row.extra, which the
    write path checks against the writer's scope), and the patient rows refused for their centre, whose other
    rows in the bundle are refused as well, for the same reason (`refused`: patient_id -> (line, reason))."""

    def __init__(self, engine: Engine) -> None:
        self.keys = {code: key for key, code in centre_codes_by_key(engine).items()}
        self.refused: dict[str, tuple[int, str]] = {}

    def key(self, cell) -> int | None:
        """The key of the centre a cell names (None for a blank cell); InvalidValue naming "centre" otherwise."""
        if cell is None or not str(cell).strip():
            return None
        code = check_centre_code(check_text(str(cell), "centre"))
        if code not in self.keys:
            known = ", ".join(sorted(self.keys)) or "none"
            raise InvalidValue(f"no centre {code} (centres: {known})", field="centre")
        return self.keys[code]

    def refuse(self, patient_id: str, line: int, reason: str) -> None:
        self.refused.setdefault(patient_id, (line, reason))

    def reworded(self, spec: BundleFile, row: Row, violation) -> Problem | None:
        """A record of a patient whose row was refused for its centre: the problem named as the centre's."""
        if violation.error is not UnknownPatient or row.patient_id not in self.refused:
            return None
        line, reason = self.refused[row.patient_id]
        return Problem(spec.name, row.line, "centre",
                       f"patient {row.patient_id!r} is refused on {PATIENTS.name}:{line} ({reason})")


def _rows(spec: BundleFile, kind: Kind, records: Iterable, problems, today: date, count: Callable[[], None],
          centres: _Centres) -> list[Row]:
    """The records of one file as rows of the batch; a problem per bad record (its every problem). A patient
    row's centre (a code, blank for the database's only centre) becomes its Row.extra."""
    read = reader(kind, today)
    patients = kind is PATIENT
    out = []
    for item in records:
        count()
        if isinstance(item, Problem):
            problems.append(item)
            continue
        line, record = item
        found: list[SkintrackError] = []
        extra = None
        if patients and "centre" in record:
            record = dict(record)
            try:
                centre = centres.key(record.pop("centre"))
                extra = None if centre is None else (centre,)
            except SkintrackError as error:
                found.append(error)
                centres.refuse(str(record.get("patient_id") or "").strip(), line, error.reason)
        try:
            patient_id, key, values = read(record)
        except SkintrackError as error:
            found.extend(error.problems)
        if found:
            problems.extend(Problem(spec.name, line, _column(spec, p.field), p.reason) for p in found)
            continue
        out.append(Row(line, patient_id, key, values, extra))
    return out


def import_records(engine: Engine, tables: dict[str, tuple[list[str], Iterable]], *, actor: str, bundle_name: str,
                   update_existing: bool = False, dry_run: bool = False, progress: Progress = None,
                   problems=None, total: int = 0) -> ImportReport:
    """Validate and write bundle records: `tables` maps a bundle file name to (header, records), the records
    being (line, {column: cell}) or Problem items. All or nothing.

    `problems`: the report so far (a list, or exchange.errors' capped log: only appended to, extended, counted,
    iterated and sorted here). Raises BundleRejected with the problems (nothing written). Returns the ImportReport.
    """
    started = time.perf_counter()
    problems = problems if problems is not None else []
    total = max(total, 1)
    report = ImportReport(bundle_name=bundle_name, dry_run=dry_run)
    today = date.today()  # once: "not in the future" for the whole bundle
    counter = [0]

    def count() -> None:
        counter[0] += 1
        if progress is not None and counter[0] % 5000 == 0:
            progress(min(counter[0], total), total)

    centres = _Centres(engine)
    batch = {kind.name: _rows(spec, kind, tables[spec.name][1], problems, today, count, centres)
             for spec, kind in FILES if spec.name in tables}
    parsed = counter[0]
    shown = printable(bundle_name)  # the audit row holds the name: no control character reaches the database

    def detail(result: BatchResult) -> str:
        return f"{shown}: " + "; ".join(f"{FILE_OF[name].name}: {result.created[name]} new, "
                                        f"{result.updated[name]} changed" for name in result.created)

    def written(done: int) -> None:
        if progress is not None:
            progress(min(parsed + done, total), total)

    opened = read_session if dry_run else write_session
    try:
        with opened(engine) as session:
            result = write_batch(session, batch, actor=actor, merge=True, update_existing=update_existing,
                                 bundle=shown, check_only=dry_run or bool(problems), progress=written,
                                 import_detail=detail)
            for refusal in result.refusals:  # a patient row refused for its centre: its other rows with it
                if refusal.kind is PATIENT and refusal.violation.field == "centre":
                    centres.refuse(refusal.row.patient_id, refusal.row.line, refusal.violation.reason)
            for refusal in result.refusals:
                spec = FILE_OF[refusal.kind.name]
                problems.append(centres.reworded(spec, refusal.row, refusal.violation)
                                or Problem(spec.name, refusal.row.line, _column(spec, refusal.violation.field),
                                           refusal.violation.reason))
            if problems:
                raise BundleRejected(_sorted(problems))
    except BundleRejected:
        raise
    except SkintrackError as error:  # refused by the database itself (a record saved by someone else meanwhile)
        problems.append(Problem(shown, 1, error.field or "row", error.reason))
        raise BundleRejected(_sorted(problems)) from None

    if not dry_run:
        refresh_statistics(engine, result)
    for name in result.created:
        file = FILE_OF[name].name
        report.created[file] = result.created[name]
        report.updated[file] = result.updated[name]
        report.unchanged[file] = result.unchanged[name]
    report.import_id = result.import_id
    report.seconds = time.perf_counter() - started
    if progress is not None:
        progress(total, total)
    return report


def _sorted(problems):
    order = {name: i for i, name in enumerate(FILE_ORDER)}
    problems.sort(key=lambda p: (order.get(p.file, -1), p.file, p.line))
    return problems
