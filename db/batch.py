"""The one write path of clinical records: a batch of parsed rows of any kind, in one transaction.

    parse (the caller: a form's schema, or a bundle's fast parse) -> lock the patients and load the records the
    batch touches -> apply the rules (models.rules: unknown patient, before birth, suspected drug, one record per
    key, no overlapping periods) -> insert / update (whole rows, versioned) -> audit -> move the patients' data
    versions on.

A form's save is a batch of one (db.visits.record_assessment and friends are thin wrappers); an import is a batch
of a million (exchange.importer only reads files into batches and words the refusals as `file:line: column:
reason`). Rows are taken kind by kind (patients first, events last) and, within a kind, in order, as if each were
saved on its own: a row refused does not count for the rules of the rows after it.

Locking: every patient the batch names is locked first (db.common.lock_patients: SELECT ... FOR UPDATE in key
order on PostgreSQL; SQLite's BEGIN IMMEDIATE has serialised the writers already), then the records are read, so
the rules that span rows see what is committed and no other writer can change it before this transaction ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.common import audit, bump_versions, lock_patients, snapshot, stale_record, write_row
from db.scope import every_centre, owner_filter, patient_filter, scope_of
from models.centre import Centre
from models.errors import (
    DuplicateAssessment,
    DuplicatePatient,
    DuplicateRecord,
    InvalidValue,
    NotFound,
    NotPermitted,
    OverlappingPeriod,
    SkintrackError,
    StaleRecord,
    UnknownPatient,
)
from models.records import ASSESSMENT, EVENT, KINDS, MEASUREMENT, MEDICATION, PATIENT, PATIENT_VALUES, Kind, extract
from models.rules import (
    Known,
    Plan,
    Span,
    Violation,
    before_birth,
    overlapping_periods,
    plan_keys,
    unknown_patient_reason,
    unknown_suspected_drugs,
)
from models.scope import Scope

CHUNK = 900  # identifiers per IN (...) list: below SQLite's default limit of bound parameters
INSERT_BATCH = 5000
Progress = Callable[[int], None] | None  # called with the number of rows written so far


class Row(NamedTuple):
    """One parsed record of a batch (a tuple: an import holds a million of them).

    `key` and `values` are the kind's columns in `models.records` order; `extra` the columns only a form carries
    (None: their defaults for a new record, left as they are by an update); `target` the id of the record a
    correction replaces, with the `expected_version` its form was opened on."""

    line: int
    patient_id: str
    key: tuple
    values: tuple
    extra: tuple | None = None
    target: int | None = None
    expected_version: int | None = None


class Refusal(NamedTuple):
    kind: Kind
    row: Row
    violation: Violation


@dataclass
class BatchResult:
    """What a batch wrote (or, checked only, would write), per kind name, and what it refused."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    ids: dict[str, dict[int, int]] = field(default_factory=dict)  # kind -> row index -> record id (forms)
    import_id: int | None = None

    def raise_first(self) -> None:
        """A form's batch: raise the first refusal as its named error (all of them in `.problems`)."""
        if self.refusals:
            errors = [r.violation.exception() for r in self.refusals]
            first = errors[0]
            first.problems = errors
            raise first


@dataclass
class _Patients:
    """The patients a batch names: live ones of the database and the batch's own."""

    keys: dict[str, int] = field(default_factory=dict)  # patient_id -> patient_key, live patients
    deleted: set[str] = field(default_factory=set)
    birth_year: dict[str, int | None] = field(default_factory=dict)
    records: dict[str, tuple] = field(default_factory=dict)  # patient_id -> (key, deleted, values, version)
    new: set[str] = field(default_factory=set)  # created by this batch
    centre: dict[str, int] = field(default_factory=dict)  # patient_id -> centre_key, existing and new patients


def write_batch(session: Session, batch: Mapping[str, Sequence[Row]], *, actor: str, merge: bool = False,
                update_existing: bool = False, reason: str = "", bundle: str | None = None,
                check_only: bool = False, progress: Progress = None,
                import_detail: Callable[[BatchResult], str] | None = None) -> BatchResult:
    """Apply the rules to `batch` (kind name -> rows) and, when nothing is refused and not `check_only`, write it.

    merge=False (a form): new rows are created, each audited; a row with `target` corrects that record (its
    `expected_version` checked, StaleRecord otherwise), audited with before, after and `reason`.
    merge=True (a bundle, named `bundle`): a row is matched to the record of its key: unchanged, refused when
    different, or updated with `update_existing`; one `import` audit row (its detail from `import_detail`) that
    every created row points to (import_id), and an audited update per changed record.

    Refusals are returned, not raised (`BatchResult.raise_first` raises them for a form); nothing is written then.
    """
    result = BatchResult()
    for kind in KINDS:
        result.created[kind.name] = result.updated[kind.name] = result.unchanged[kind.name] = 0
    rows_of = {kind.name: list(batch.get(kind.name, ())) for kind in KINDS}
    patients = _lock_and_load_patients(session, rows_of)
    plans: dict[str, list[Plan | None]] = {}
    period_drugs: dict[str, set[str]] = defaultdict(set)

    plans[PATIENT.name] = _check_patients(session, rows_of[PATIENT.name], patients, result, merge=merge,
                                          update_existing=update_existing)
    for kind in KINDS[1:]:
        plans[kind.name] = _check_records(session, kind, rows_of[kind.name], patients, result, merge=merge,
                                          update_existing=update_existing, period_drugs=period_drugs)
    for kind in KINDS:
        for plan in plans[kind.name]:
            if plan is not None and plan.action in ("create", "update", "unchanged"):
                bucket = {"create": result.created, "update": result.updated, "unchanged": result.unchanged}
                bucket[plan.action][kind.name] += 1
    if result.refusals or check_only:
        return result
    try:
        _write(session, rows_of, plans, patients, result, actor=actor, merge=merge, reason=reason, bundle=bundle,
               progress=progress, import_detail=import_detail)
    except IntegrityError as error:  # a constraint a concurrent writer got to first: named, never a traceback
        raise named_error(error) from None
    return result


# --- locking and loading ---------------------------------------------------------------------------------


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _targets(session: Session, kind: Kind, rows: Sequence[Row]) -> dict[int, int]:
    """record id -> its patient's key, for the records the rows correct."""
    wanted = sorted({row.target for row in rows if row.target is not None})
    if not wanted:
        return {}
    table = kind.table.__table__
    pk, owner = table.c[kind.pk], table.c.patient_key
    found = {}
    for chunk in _chunks(wanted):
        found.update(session.execute(select(pk, owner).where(pk.in_(chunk), owner_filter(session, owner))).all())
    return found


def _lock_and_load_patients(session: Session, rows_of: dict[str, list[Row]]) -> _Patients:
    table = PATIENT.table.__table__
    named = sorted({row.patient_id for rows in rows_of.values() for row in rows})
    owners = set()
    for kind in KINDS[1:]:
        owners.update(_targets(session, kind, rows_of[kind.name]).values())
    keys = set(owners)
    for chunk in _chunks(named):
        keys.update(k for (k,) in session.execute(select(table.c.patient_key).where(table.c.patient_id.in_(chunk),
                                                                                    patient_filter(session))))
    lock_patients(session, keys)  # then read: what we read stays as it is until this transaction ends
    patients = _Patients()
    columns = [table.c.patient_id, table.c.patient_key, table.c.deleted_at, table.c.version, table.c.centre_key,
               *[table.c[c] for c in PATIENT_VALUES]]
    year_at = PATIENT_VALUES.index("birth_year")
    # the patients of other centres than the writer's are not there for this batch (a row naming one is refused as
    # naming no patient); on PostgreSQL the row-level security policies hide them too
    for chunk in _chunks(named):
        for patient_id, key, deleted_at, version, centre, *values in session.execute(
                select(*columns).where(table.c.patient_id.in_(chunk), patient_filter(session))):
            patients.centre[patient_id] = centre
            deleted = deleted_at is not None
            patients.records[patient_id] = (key, deleted, tuple(values), version)
            if deleted:
                patients.deleted.add(patient_id)
            else:
                patients.keys[patient_id] = key
                patients.birth_year[patient_id] = values[year_at]
    return patients


def _load_known(session: Session, kind: Kind, patients: _Patients, patient_keys: set[int],
                targets: set[int]) -> tuple[dict[tuple, Known], dict[int, tuple]]:
    """The live records of these patients, by full key (patient_id first), and every record a row corrects (live
    or not): id -> (full key, values, version, deleted, patient key, extra)."""
    table = kind.table.__table__
    pk = table.c[kind.pk]
    by_key = {key: pid for pid, key in patients.keys.items()}
    columns = [pk, table.c.patient_key, table.c.version, table.c.deleted_at,
               *[table.c[c] for c in kind.key], *[table.c[c] for c in kind.values], *[table.c[c] for c in kind.extra]]
    width = len(kind.key)
    n_values = len(kind.values)
    known: dict[tuple, Known] = {}
    corrected: dict[int, tuple] = {}
    flag_at = kind.values.index("incomplete") if kind is ASSESSMENT else None

    def unpack(record):
        record_id, owner, version, deleted_at, *rest = record
        values = tuple(rest[width:width + n_values])
        if flag_at is not None:  # SQLite gives 0/1 for a boolean read without the ORM
            values = (*values[:flag_at], bool(values[flag_at]), *values[flag_at + 1:])
        return record_id, owner, version, deleted_at, tuple(rest[:width]), values, tuple(rest[width + n_values:])

    for chunk in _chunks(sorted(patient_keys)):
        for record in session.execute(select(*columns).where(table.c.patient_key.in_(chunk),
                                                             table.c.deleted_at.is_(None))):
            record_id, owner, version, _, key, values, _extra = unpack(record)
            known[(by_key[owner], *key)] = Known(record_id, values, version)
    for chunk in _chunks(sorted(targets)):
        for record in session.execute(select(*columns).where(pk.in_(chunk))):
            record_id, owner, version, deleted_at, key, values, extra = unpack(record)
            corrected[record_id] = (key, values, version, deleted_at is not None, owner, extra)
    return known, corrected


# --- the rules ---------------------------------------------------------------------------------------------


@dataclass
class _Centres:
    """The centres a batch's patient rows may name, and the patient ids that exist at centres outside the scope."""

    codes: dict[int, str]  # centre_key -> code, every centre
    active: set[int]
    scope: Scope
    elsewhere: set[str]  # patient ids of patients outside the writer's scope

    @classmethod
    def load(cls, session: Session, new_ids: list[str]) -> _Centres:
        table = Centre.__table__
        rows = session.execute(select(table.c.centre_key, table.c.code, table.c.active)).all()
        scope = scope_of(session)
        elsewhere: set[str] = set()
        if not scope.everything and new_ids:
            patient = PATIENT.table.__table__
            with every_centre(session):  # the policies hide them on PostgreSQL; only their ids are read here
                for chunk in _chunks(sorted(set(new_ids))):
                    elsewhere.update(session.execute(select(patient.c.patient_id).where(
                        patient.c.patient_id.in_(chunk), ~patient_filter(session))).scalars())
        return cls({key: code for key, code, _ in rows}, {key for key, _, active in rows if active}, scope, elsewhere)

    def problem(self, row: Row, patients: _Patients) -> tuple[str, type[SkintrackError]] | None:
        """Why this patient row may not be written at its centre and the error it is (None: it may), its centre
        resolved into `patients.centre` for a new patient. A centre outside the account's, a patient of one and an
        inactive centre are NotPermitted; a missing or unknown centre is a value the row must give (InvalidValue)."""
        wanted = row.extra[0] if row.extra else None
        if row.patient_id in patients.records:  # an existing patient: the centre stays (a transfer moves it)
            current = patients.centre[row.patient_id]
            if wanted is not None and wanted != current:
                return (f"patient {row.patient_id!r} belongs to centre {self.codes.get(current, current)}; a patient "
                        "moves to another centre only by a transfer", NotPermitted)
            return None
        if row.patient_id in self.elsewhere:
            return (f"patient {row.patient_id!r} belongs to a centre outside your centres ({self.scope.describe()})",
                    NotPermitted)
        if wanted is None:
            usable = sorted(k for k in self.active if self.scope.sees(k))
            if len(self.active) != 1 or len(usable) != 1:
                choices = ", ".join(self.codes[k] for k in usable) or "none of yours is active"
                return f"is required: this registry has {len(self.active)} active centres ({choices})", InvalidValue
            wanted = usable[0]
        elif wanted not in self.codes:
            return f"no centre with key {wanted}", InvalidValue
        elif wanted not in self.active:
            return f"centre {self.codes[wanted]} is inactive: no new patient can join it", NotPermitted
        elif not self.scope.sees(wanted):
            return f"centre {self.codes[wanted]} is outside your centres ({self.scope.describe()})", NotPermitted
        patients.centre[row.patient_id] = wanted
        return None


def _refuse(result: BatchResult, kind: Kind, rows: Sequence[Row], violations: list[Violation],
            alive: list[int]) -> list[int]:
    """Record the violations (rows indexed into `alive`) and return the rows still standing."""
    if not violations:
        return alive
    refused = set()
    for violation in violations:
        index = alive[violation.row]
        refused.add(index)
        result.refusals.append(Refusal(kind, rows[index], violation._replace(row=index)))
    return [i for i in alive if i not in refused]


def _check_patients(session: Session, rows: list[Row], patients: _Patients, result: BatchResult, *, merge: bool,
                    update_existing: bool) -> list[Plan | None]:
    plans: list[Plan | None] = [None] * len(rows)
    alive = []
    centres = _Centres.load(session, [row.patient_id for row in rows if row.target is None
                                      and row.patient_id not in patients.records])
    for index, row in enumerate(rows):
        record = patients.records.get(row.patient_id)
        if row.target is not None:  # a correction of the patient (update_patient)
            if record is None or record[0] != row.target:
                raise NotFound(f"no patient {row.patient_id!r}", field="patient_id")
            if record[3] != row.expected_version or record[1]:
                result.refusals.append(Refusal(PATIENT, row, _stale(session, PATIENT, row.target, index)))
                continue
        elif record is not None and record[1]:  # deleted
            reason = (f"patient {row.patient_id!r} was deleted; an administrator can restore it (Deleted records) "
                      "before importing" if merge else
                      f"patient {row.patient_id!r} exists already (deleted: an administrator can restore it)")
            result.refusals.append(Refusal(PATIENT, row, Violation(index, "patient_id", reason, DuplicatePatient)))
            continue
        problem = centres.problem(row, patients)
        if problem:
            result.refusals.append(Refusal(PATIENT, row, Violation(index, "centre", *problem)))
            continue
        alive.append(index)
    known = {(pid,): Known(key, values, version) for pid, (key, deleted, values, version) in patients.records.items()
             if not deleted}

    def duplicate(i, key, _known):
        return Violation(i, "patient_id", f"patient {key[0]!r} exists already", DuplicatePatient)

    standing = [rows[i] for i in alive]
    found, violations = plan_keys([(row.patient_id,) for row in standing], standing, known, columns=PATIENT_VALUES,
                                  merge=merge, update=update_existing, duplicate=duplicate, key_names=("patient_id",))
    if merge:  # the import's words for a patient row that differs from an earlier one
        violations = [v._replace(reason=f"patient {standing[v.row].patient_id!r} is on line "
                                        f"{_first_line(standing, v.row)} too, with different values (rows with the "
                                        "same key are the same record)")
                      if v.reason.startswith("same key") else
                      v._replace(reason=f"patient {standing[v.row].patient_id!r} exists with different values "
                                        + v.reason.removeprefix("this record exists with different values "))
                      for v in violations]
    _refuse(result, PATIENT, rows, violations, alive)
    year_at = PATIENT_VALUES.index("birth_year")
    for i, plan in zip(alive, found, strict=True):
        if plan is not None and rows[i].target is not None:  # a correction of the patient
            key, _, values, version = patients.records[rows[i].patient_id]
            plan = Plan("unchanged" if values == rows[i].values else "update", key, version)
        plans[i] = plan
        if plan is not None and plan.action == "create":
            patients.new.add(rows[i].patient_id)
    # the batch's own patient rows give the birth year (refused ones included: their children are judged by the
    # record the bundle describes, so that the report names the one problem to fix)
    for row in rows:
        patients.birth_year[row.patient_id] = row.values[year_at]
    return plans


def _first_line(rows: Sequence[Row], index: int) -> int:
    patient_id = rows[index].patient_id
    return next(row.line for row in rows if row.patient_id == patient_id)


def _stale(session: Session, kind: Kind, record_id: int, index: int) -> Violation:
    error = stale_record(session, kind.table, record_id)
    return Violation(index, "version", error.reason, StaleRecord)


def _duplicate_of(kind: Kind) -> Callable[[int, tuple, Known | None], Violation] | None:
    """The refusal of a form's record whose key another record holds (periods: the overlap rule says it)."""
    if kind is ASSESSMENT:
        def duplicate(i, key, known):
            patient_id, day, rater = key
            return Violation(i, "visit_date", f"patient {patient_id!r} already has an assessment on "
                             f"{day.isoformat()} by {rater or 'an unspecified rater'}; open it to correct it",
                             DuplicateAssessment, known.record_id if known else None)
    elif kind is MEASUREMENT:
        def duplicate(i, key, known):
            _, day, measure, side, _ = key
            return Violation(i, "measure", f"{measure}{' ' + side if side else ''} on {day.isoformat()} is recorded "
                             "already; correct the existing value instead", DuplicateRecord)
    elif kind is EVENT:
        def duplicate(i, key, known):
            return Violation(i, "date", f"this {key[2].replace('_', ' ')} on {key[1].isoformat()} is recorded "
                             "already", DuplicateRecord)
    else:
        return None
    return duplicate


def _check_records(session: Session, kind: Kind, rows: list[Row], patients: _Patients, result: BatchResult, *,
                   merge: bool, update_existing: bool, period_drugs: dict[str, set[str]]) -> list[Plan | None]:
    plans: list[Plan | None] = [None] * len(rows)
    if not rows:
        return plans
    alive = list(range(len(rows)))
    # the patient: live in the database or created by this batch
    violations = [Violation(n, "patient_id", unknown_patient_reason(rows[i].patient_id,
                                                                    deleted=rows[i].patient_id in patients.deleted),
                            UnknownPatient)
                  for n, i in enumerate(alive)
                  if rows[i].patient_id not in patients.keys and rows[i].patient_id not in patients.new]
    alive = _refuse(result, kind, rows, violations, alive)
    date_at = kind.key.index(kind.date_field)
    alive = _refuse(result, kind, rows, before_birth([(rows[i].patient_id, rows[i].key[date_at]) for i in alive],
                                                     patients.birth_year, kind.date_field), alive)

    targets = {rows[i].target for i in alive if rows[i].target is not None}
    patient_keys = {patients.keys[rows[i].patient_id] for i in alive if rows[i].patient_id in patients.keys}
    known, corrected = _load_known(session, kind, patients, patient_keys, targets)
    stale = []
    for n, i in enumerate(alive):
        row = rows[i]
        if row.target is None:
            continue
        record = corrected.get(row.target)
        if record is None:
            raise NotFound(f"no {kind.entity} with id {row.target}", field="id")
        if record[2] != row.expected_version or record[3]:
            stale.append(_stale(session, kind, row.target, n)._replace(row=n))
    alive = _refuse(result, kind, rows, stale, alive)

    if kind is EVENT:
        drug_at = kind.values.index("suspected_drug")
        suspected = [(rows[i].patient_id, rows[i].values[drug_at]) for i in alive]
        if any(drug for _, drug in suspected):
            _recorded_drugs(session, patients, patient_keys, period_drugs)
            alive = _refuse(result, kind, rows, unknown_suspected_drugs(suspected, period_drugs), alive)

    standing = [rows[i] for i in alive]
    found, violations = plan_keys([(row.patient_id, *row.key) for row in standing], standing, known,
                                  columns=kind.values, merge=merge, update=update_existing,
                                  duplicate=_duplicate_of(kind), key_names=("patient_id", *kind.key))
    # a change refused for want of --update still stands for the overlap rule: the report names the one problem
    # to fix (the change), not its consequences
    pending = [(alive[v.row], known[(standing[v.row].patient_id, *standing[v.row].key)].record_id)
               for v in violations if merge and v.reason.startswith("this record exists with different values")]
    if violations:
        keep = {v.row for v in violations}
        alive = _refuse(result, kind, rows, violations, alive)
        found = [plan for n, plan in enumerate(found) if n not in keep]
    for i, plan in zip(alive, found, strict=True):
        if plan is not None and plan.action == "update" and plan.version is None:  # a correction
            key, values, version, _, owner, extra = corrected[plan.record_id]
            row = rows[i]
            same = (key == row.key and values == row.values and owner == patients.keys.get(row.patient_id)
                    and (row.extra is None or extra == row.extra))
            plan = Plan("unchanged" if same else "update", plan.record_id, version)
        plans[i] = plan

    if kind is MEDICATION:
        _check_overlaps(kind, rows, plans, known, result, pending)
        for i, plan in enumerate(plans):
            if plan is not None:
                period_drugs[rows[i].patient_id].add(rows[i].key[0])
    return plans


def _recorded_drugs(session: Session, patients: _Patients, patient_keys: set[int],
                    period_drugs: dict[str, set[str]]) -> None:
    """Add the drugs of these patients' live medication periods to `period_drugs` (patient_id -> drugs), beside
    the periods the batch itself accepted."""
    table = MEDICATION.table.__table__
    by_key = {key: pid for pid, key in patients.keys.items()}
    for chunk in _chunks(sorted(patient_keys)):
        for key, drug in session.execute(select(table.c.patient_key, table.c.drug).distinct().where(
                table.c.patient_key.in_(chunk), table.c.deleted_at.is_(None))):
            period_drugs[by_key[key]].add(drug)


def _check_overlaps(kind: Kind, rows: list[Row], plans: list[Plan | None], known: dict[tuple, Known],
                    result: BatchResult, pending: list[tuple[int, int]]) -> None:
    """No two live periods of one drug overlap: the batch's periods in order, against the recorded ones they do not
    replace (a period row replaces the record of its key; a correction, the record it names). `pending`: rows
    refused already, (row, record it would replace), which still stand in for their records here."""
    dose_at, unit_at, end_at = (kind.values.index(c) for c in ("dose", "dose_unit", "end_date"))
    waiting = dict(pending)
    standing = sorted([i for i, plan in enumerate(plans) if plan is not None and plan.action != "same"]
                      + list(waiting))
    replaced = {plans[i].record_id for i in standing if i not in waiting and plans[i].record_id is not None}
    replaced.update(waiting.values())
    recorded = [Span(key[0], key[1], key[2], k.values[end_at], k.values[dose_at], k.values[unit_at])
                for key, k in known.items() if k.record_id not in replaced]
    spans = [Span(rows[i].patient_id, rows[i].key[0], rows[i].key[1], rows[i].values[end_at], rows[i].values[dose_at],
                  rows[i].values[unit_at]) for i in standing]
    for violation in overlapping_periods(spans, recorded):
        index = standing[violation.row]
        if index in waiting:
            continue
        plans[index] = None
        result.refusals.append(Refusal(kind, rows[index], violation._replace(row=index)))


# --- writing -------------------------------------------------------------------------------------------------


def _write(session: Session, rows_of: dict[str, list[Row]], plans: dict[str, list[Plan | None]],
           patients: _Patients, result: BatchResult, *, actor: str, merge: bool, reason: str, bundle: str | None,
           progress: Progress, import_detail: Callable[[BatchResult], str] | None) -> None:
    touched: set[int] = set()
    done = 0
    import_id = None
    if merge:
        event = audit(session, actor=actor, action="import", entity="bundle", reason=f"import of {bundle}",
                      detail=import_detail(result) if import_detail else f"{bundle}")
        import_id = result.import_id = event.audit_id
        reason = f"import of {bundle}"
    for kind in KINDS:
        rows, kind_plans = rows_of[kind.name], plans[kind.name]
        ids = result.ids.setdefault(kind.name, {})
        # updates first: a dose change ends the old period before the new one starts (the database checks each
        # statement), and a corrected key is free before a new record takes it
        for i, plan in enumerate(kind_plans):
            if plan is not None and plan.action in ("update", "unchanged"):
                ids[i] = plan.record_id
                if plan.action == "update":
                    _update_one(session, kind, rows[i], plan, patients, touched, actor=actor, reason=reason,
                                detail=f"import #{import_id}" if merge else "")
                    done += 1
        creates = [i for i, plan in enumerate(kind_plans) if plan is not None and plan.action == "create"]
        if merge:
            _bulk_insert(session, kind, [rows[i] for i in creates], patients, import_id, touched, progress, done)
        else:
            for i in creates:
                ids[i] = _insert_one(session, kind, rows[i], patients, actor=actor)
                if kind is not PATIENT:
                    touched.add(patients.keys[rows[i].patient_id])
        done += len(creates)
        if kind is PATIENT and creates:
            _load_new_keys(session, patients, [rows[i].patient_id for i in creates])
        if progress is not None:
            progress(done)
    bump_versions(session, touched)


def _values_of(kind: Kind, row: Row, patients: _Patients, *, new: bool) -> dict[str, Any]:
    """The record's columns from a row (a new record: the extra columns' defaults when the row has none)."""
    values = dict(zip(kind.values, row.values, strict=True))
    if kind is PATIENT:
        values["patient_id"] = row.patient_id
        if new:
            values["centre_key"] = patients.centre[row.patient_id]
        return values  # its centre stays as it is: a transfer moves a patient (db.centres.transfer_patient)
    else:
        values["patient_key"] = patients.keys[row.patient_id]
        values.update(zip(kind.key, row.key, strict=True))
    if row.extra is not None:
        values.update(zip(kind.extra, row.extra, strict=True))
    elif new:
        values.update(zip(kind.extra, kind.extra_defaults, strict=True))
    return values


def _insert_one(session: Session, kind: Kind, row: Row, patients: _Patients, *, actor: str) -> int:
    record = kind.table(**_values_of(kind, row, patients, new=True))
    session.add(record)
    session.flush()
    record_id = getattr(record, kind.pk)
    if kind is PATIENT:
        patients.keys[row.patient_id] = record_id
    audit(session, actor=actor, action="create", entity=kind.entity, entity_id=record_id,
          patient_key=record.patient_key, after=record)
    return record_id


def _load_new_keys(session: Session, patients: _Patients, created: list[str]) -> None:
    table = PATIENT.table.__table__
    missing = [pid for pid in created if pid not in patients.keys]
    for chunk in _chunks(missing):
        patients.keys.update(session.execute(select(table.c.patient_id, table.c.patient_key)
                                             .where(table.c.patient_id.in_(chunk))).all())


def _update_one(session: Session, kind: Kind, row: Row, plan: Plan, patients: _Patients, touched: set[int], *,
                actor: str, reason: str, detail: str) -> int:
    """The whole new record written over `plan.record_id` at `plan.version` (db.common.write_row), audited."""
    record = session.get(kind.table, plan.record_id)
    if record.version != plan.version:  # read under the lock with the rest: cannot differ, unless unlocked writers
        raise stale_record(session, kind.table, plan.record_id)
    before = snapshot(record)
    values = _values_of(kind, row, patients, new=False)
    write_row(session, record, values)
    owner = record.patient_key
    audit(session, actor=actor, action="update", entity=kind.entity, entity_id=plan.record_id, patient_key=owner,
          before=before, after=record, reason=reason, detail=detail)
    touched.update({owner, before["patient_key"]})
    return plan.record_id


def _bulk_insert(session: Session, kind: Kind, rows: list[Row], patients: _Patients, import_id: int,
                 touched: set[int], progress: Progress, done: int) -> None:
    """Set-based inserts of a bundle's new records, pointing to the import's audit row."""
    if not rows:
        return
    table = kind.table.__table__
    if kind is PATIENT:
        columns = ("patient_id", *kind.values, "centre_key", "import_id", "data_version")
        tail = (import_id, 0)
        centre = patients.centre
        _insert_rows(session, table, columns, [(row.patient_id, *row.values, centre[row.patient_id], *tail)
                                               for row in rows])
        return
    columns = ("patient_key", *kind.key, *kind.values, *kind.extra, "import_id")
    tail = (*kind.extra_defaults, import_id)
    keys = patients.keys
    new = patients.new
    batch = []
    for row in rows:
        key = keys[row.patient_id]
        if row.patient_id not in new:
            touched.add(key)
        batch.append((key, *row.key, *row.values, *tail))
        if len(batch) >= INSERT_BATCH:
            _insert_rows(session, table, columns, batch)
            done += len(batch)
            batch = []
            if progress is not None:
                progress(done)
    _insert_rows(session, table, columns, batch)


def _insert_rows(session: Session, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A set-based insert of `rows` (tuples in the order of `columns`) in the session's transaction: COPY on
    PostgreSQL (`_insert_postgresql`), elsewhere one executemany on the driver's cursor, the values converted by
    the columns' own SQLAlchemy bind processors (what `insert(table)` would do, without its per-row overhead)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            _insert_postgresql(cursor, table.name, columns, rows)
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


def _insert_postgresql(cursor, name: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY the rows in; where the centres' row-level security binds the role (migration 0008), PostgreSQL refuses
    COPY FROM on the table: the rows are copied into a temporary table of this transaction and moved by one INSERT
    … SELECT (each row checked against the policies, the keys given in the rows' order), or, for a role that may
    not create temporary tables, inserted one by one (several times slower)."""
    names = ", ".join(columns)
    bound, temporary = cursor.execute("SELECT row_security_active(%s), has_database_privilege(current_database(), "
                                      "'TEMPORARY')", (name,)).fetchone()
    if bound and not temporary:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)  # noqa: S608 (model's names)
        return
    target = f"skintrack_staging_{name}" if bound else name
    if bound:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} ON COMMIT DROP AS "  # noqa: S608
                       f"SELECT {names} FROM {name} WITH NO DATA")
        cursor.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS skintrack_order bigserial")
    with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    if bound:
        cursor.execute(f"INSERT INTO {name} ({names}) SELECT {names} FROM {target} "  # noqa: S608
                       "ORDER BY skintrack_order")
        cursor.execute(f"TRUNCATE {target}")


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


# a constraint's name (PostgreSQL), or the columns SQLite names, in the message of the refusal
_CONSTRAINTS: tuple[tuple[tuple[str, ...], Callable[[], SkintrackError]], ...] = (
    (("ux_assessment_key", "failed: assessment."), lambda: DuplicateAssessment(
        "this assessment (patient, visit date, rater) was saved by someone else just now; reload",
        field="visit_date")),
    (("ux_measurement_key", "failed: measurement."), lambda: DuplicateRecord(
        "this measurement was saved by someone else just now; reload", field="measure")),
    (("ux_medication_key", "failed: medication_period."), lambda: OverlappingPeriod(
        "a period of this drug starting that day was saved by someone else just now; reload", field="start_date")),
    (("ex_medication_overlap",), lambda: OverlappingPeriod(
        "this period overlaps another period of the drug (saved by someone else just now); reload",
        field="start_date")),
    (("patient_patient_id_key", "failed: patient.patient_id"), lambda: DuplicatePatient(
        "this patient_id was saved by someone else just now", field="patient_id")),
)


def named_error(error: IntegrityError) -> SkintrackError | IntegrityError:
    """The named error of a constraint the database refused a write for (every constraint that a concurrent writer
    could trip is named); the error itself when unknown."""
    text = str(error.orig)
    for names, make in _CONSTRAINTS:
        if any(name in text for name in names):
            return make()
    return error


# --- a form's record: a batch of one ------------------------------------------------------------------------


def save_one(session: Session, kind: Kind, data, *, actor: str, target: int | None = None,
             expected_version: int | None = None, reason: str = "", patient_id: str | None = None):
    """Write one validated record (`data`: the kind's schema object) as a batch of one and return the record: a new
    one, or, with `target`, the correction of that record opened on `expected_version` (`patient_id`: for a
    schema without one, a patient's correction). Raises the named error of the first rule it breaks (StaleRecord
    for a stale version); nothing is written then."""
    patient_id, key, values, extra = extract(kind, data, patient_id=patient_id)
    row = Row(0, patient_id, key, values, extra, target, expected_version)
    result = write_batch(session, {kind.name: [row]}, actor=actor, reason=reason)
    result.raise_first()
    return session.get(kind.table, result.ids[kind.name][0])


def check_restorable(session: Session, kind: Kind, record) -> None:
    """The rules a deleted record must meet to come back, as if it were recorded anew (its patient live, its key
    free, no overlap, its suspected drug a medication): raises the named error of the first it breaks."""
    table = PATIENT.table.__table__
    patient_id = session.execute(select(table.c.patient_id).where(table.c.patient_key == record.patient_key)).scalar()
    row = Row(0, patient_id, tuple(getattr(record, c) for c in kind.key),
              tuple(getattr(record, c) for c in kind.values), tuple(getattr(record, c) for c in kind.extra))
    result = write_batch(session, {kind.name: [row]}, actor="-", check_only=True)
    result.raise_first()


ANALYZED_FROM = 1000  # rows created or changed in a table from which a batch refreshes its statistics


def refresh_statistics(engine: Engine, result: BatchResult) -> list[str]:
    """After a large committed batch (an import) on PostgreSQL, ANALYZE the tables it wrote ANALYZED_FROM rows or
    more into, and the audit trail; returns their names. The planner chooses by these statistics: a registry
    imported into empty tables and read before autovacuum has analysed them (or where it is off) got nested loops
    over hundreds of millions of row pairs (an export's chunk: 5 s instead of 0.1 s). A role that may not analyse
    a table gets PostgreSQL's warning, not an error. SQLite plans these reads well without statistics."""
    if engine.dialect.name != "postgresql":
        return []
    tables = [kind.entity for kind in KINDS
              if result.created.get(kind.name, 0) + result.updated.get(kind.name, 0) >= ANALYZED_FROM]
    if tables:
        tables.append("audit_event")
        with engine.connect() as connection:
            for table in tables:  # the models' own names, never input
                connection.exec_driver_sql(f'ANALYZE "{table}"')
            connection.commit()
    return tables
