"""The rules that span records, once: pure functions over any number of rows (a form's one, an import's million).

Each returns the violations it finds; the write path (`db/batch.py`) applies them to a batch and turns them into
named errors (a form) or report lines (an import).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple

from models.errors import DuplicateAssessment, InvalidDate, InvalidValue, OverlappingPeriod, SkintrackError


def unknown_patient_reason(patient_id: str, *, deleted: bool) -> str:
    """Why a record cannot name this patient: none with this patient_id, or a deleted one."""
    if deleted:
        return f"patient {patient_id!r} was deleted; an administrator can restore it (Deleted records)"
    return f"patient {patient_id!r} does not exist; add the patient first"


class Violation(NamedTuple):
    """One row breaking one rule: `row` is its position in the rows given to the rule."""

    row: int
    field: str
    reason: str
    error: type[SkintrackError] = InvalidValue
    existing_id: int | None = None

    def exception(self) -> SkintrackError:
        """The named error a form shows."""
        if self.error is DuplicateAssessment:
            return DuplicateAssessment(self.reason, field=self.field, existing_id=self.existing_id)
        return self.error(self.reason, field=self.field)


# --- medication periods of one drug never overlap ---------------------------------------------------


class Span(NamedTuple):
    """A medication period as the overlap rule sees it (end None = ongoing; both ends inclusive)."""

    patient: object  # any hashable that tells patients apart (patient_id, or the database key)
    drug: str
    start: date
    end: date | None
    dose: float
    dose_unit: str


def _day(day: date | None) -> str:
    return day.isoformat() if day else "ongoing"


def _overlap(a: Span, b: Span) -> bool:
    return (a.end is None or b.start <= a.end) and (b.end is None or a.start <= b.end)


def overlapping_periods(spans: Sequence[Span], existing: Iterable[Span] = ()) -> list[Violation]:
    """The spans that overlap a recorded period (`existing`) or an earlier span of the same patient and drug.

    Spans are taken in order, as if each were saved on its own: a span refused here does not block later ones. The
    message names the other period by its dates and dose only, so a form and an import word it alike.
    """
    accepted: dict[tuple, list[Span]] = defaultdict(list)
    for span in existing:
        accepted[(span.patient, span.drug)].append(span)
    out = []
    for row, span in enumerate(spans):
        group = accepted[(span.patient, span.drug)]
        clashes = [other for other in group if _overlap(span, other)]
        if clashes:
            other = min(clashes, key=lambda s: s.start)
            out.append(Violation(row, "start_date", (
                f"{span.drug} {_day(span.start)} to {_day(span.end)} overlaps the period {_day(other.start)} to "
                f"{_day(other.end)} ({other.dose:g} {other.dose_unit}); end dates are inclusive, so a new period "
                "starts the day after the previous one ends"), OverlappingPeriod))
        else:
            group.append(span)
    return out


# --- an adverse event's suspected drug is one of the patient's medications --------------------------


def unknown_suspected_drugs(events: Sequence[tuple[object, str]], drugs: Mapping[object, set[str]]) -> list[Violation]:
    """The events (patient, suspected drug) whose drug is not among the patient's live medication periods
    (`drugs`: patient -> drug names); a blank drug means none suspected."""
    return [Violation(row, "suspected_drug", f"{drug!r} is not a drug of the patient's medication periods; record "
                      "the period first, or leave it blank")
            for row, (patient, drug) in enumerate(events) if drug and drug not in drugs.get(patient, ())]


# --- the rater total stored with an assessment ---------------------------------------------------------


def stored_total(scores: Sequence[int | None], recorded_total: float | None) -> float | None:
    """The rater total an assessment stores (CLINICAL.md "Rater total"): the sum when all 17 sites are scored,
    the recorded total of a total-only assessment, none when sites are missing (the assessment is incomplete).
    The schema (AssessmentCreate) has checked that a recorded total beside 17 scores equals their sum."""
    scored = sum(v is not None for v in scores)
    if scored == len(scores):
        return float(sum(scores))
    return recorded_total if scored == 0 else None


# --- nothing before the patient's birth year -------------------------------------------------------------


def before_birth(dates: Sequence[tuple[object, date]], birth_years: Mapping[object, int | None],
                 field: str) -> list[Violation]:
    """The (patient, date) rows dated before the patient's birth year (`birth_years`: patient -> year or None)."""
    out = []
    for row, (patient, day) in enumerate(dates):
        year = birth_years.get(patient)
        if year and day.year < year:
            out.append(Violation(row, field, f"{day.isoformat()} is before the birth year {year}", InvalidDate))
    return out


# --- keys: one record per key --------------------------------------------------------------------------


class Known(NamedTuple):
    """A recorded (live) record: its id, its values and its version."""

    record_id: int
    values: tuple
    version: int


class Plan(NamedTuple):
    """What to do with a row: "create", "update" (`record_id` at `version`), "unchanged", or "same" (an earlier
    row of the batch is the same record with the same values)."""

    action: str
    record_id: int | None = None
    version: int | None = None


def _show(value) -> str:
    if value is None or value == "":
        return "blank"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def differing(columns: Sequence[str], old: tuple, new: tuple) -> list[str]:
    """The columns whose values differ (an assessment's derived `incomplete` named as its `total`)."""
    out = []
    for column, a, b in zip(columns, old, new, strict=True):
        if a != b:
            name = "total" if column == "incomplete" else column
            if name not in out:
                out.append(name)
    return out


def change_text(columns: Sequence[str], old: tuple, new: tuple) -> str:
    """'dose 200 -> 400; end_date blank -> 2024-03-01' (at most three columns)."""
    diffs = [(c, a, b) for c, a, b in zip(columns, old, new, strict=True) if a != b and c != "incomplete"]
    shown = "; ".join(f"{c} {_show(a)} -> {_show(b)}" for c, a, b in diffs[:3])
    return shown + ("; ..." if len(diffs) > 3 else "")


CREATE = Plan("create")
SAME = Plan("same")


def plan_keys(keys: Sequence[tuple], rows: Sequence, known: Mapping[tuple, Known], *, columns: Sequence[str],
              merge: bool, update: bool, duplicate: Callable[[int, tuple, Known | None], Violation] | None,
              key_names: Sequence[str]) -> tuple[list[Plan | None], list[Violation]]:
    """One record per key, for rows taken in order: a plan per row (None where the row is refused), and the
    violations. `keys[i]` is row i's full key (patient first); `rows[i]` has `.values`, `.target` (the record a
    correction names, or None) and `.line` (where it came from: a bundle's line).

    A form (merge=False): a new row whose key a recorded record or an earlier row holds is refused by
    `duplicate(i, key, known)` (None: left to another rule, e.g. the overlap of periods); a correction may keep
    its own key, not take another's. A bundle (merge=True): a row equal to the record of its key is unchanged, or
    the same record as an earlier equal row; with other values it is refused, or with `update` it updates the
    record.
    """
    plans: list[Plan | None] = []
    out: list[Violation] = []
    seen: dict[tuple, int] = {}
    for index, (key, row) in enumerate(zip(keys, rows, strict=True)):
        earlier = seen.get(key)
        record = known.get(key)
        plan: Plan | None
        if merge:
            if earlier is not None:
                first = rows[earlier]
                if first.values == row.values:
                    plan = SAME
                else:
                    plan = None
                    out.append(Violation(index, differing(columns, first.values, row.values)[0],
                                         f"same key ({', '.join(key_names)}) as line {first.line} with different "
                                         "values (rows with the same key are the same record)"))
            elif record is None:
                plan = CREATE
            elif record.values == row.values:
                plan = Plan("unchanged", record.record_id, record.version)
            elif update:
                plan = Plan("update", record.record_id, record.version)
            else:
                plan = None
                out.append(Violation(index, differing(columns, record.values, row.values)[0],
                                     f"this record exists with different values "
                                     f"({change_text(columns, record.values, row.values)}); import with --update "
                                     "to change it"))
        else:
            taken = (record is not None and record.record_id != row.target) or earlier is not None
            if taken and duplicate is not None:
                plan = None
                out.append(duplicate(index, key, record))
            elif row.target is not None:
                plan = Plan("update", row.target)
            else:
                plan = CREATE
        plans.append(plan)
        if plan is not None and earlier is None:
            seen[key] = index
    return plans, out
