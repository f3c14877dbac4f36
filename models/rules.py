"""The rules that span records, once: pure functions over any number of rows (a form's one, an import's million).

Each returns the violations it finds; the write path (`db/batch.py`) applies them to a batch and turns them into
named errors (a form) or report lines (an import).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple

from models.errors import DuplicateAssessment, InvalidValue, OverlappingPeriod, SkintrackError


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
