"""The rules that span records (models.rules): pure functions over any number of rows, tested by hand and against
the one-at-a-time reading a form gives them."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.scores import rater_total
from models.catalog import SITE_CODES
from models.errors import DuplicateAssessment, InvalidDate, OverlappingPeriod
from models.rules import (
    Known,
    Span,
    Violation,
    before_birth,
    change_text,
    overlapping_periods,
    plan_keys,
    stored_total,
    unknown_suspected_drugs,
)

D = date(2020, 1, 1)


def span(start: int, end: int | None, drug: str = "imatinib", patient: str = "P1") -> Span:
    return Span(patient, drug, D + timedelta(days=start), None if end is None else D + timedelta(days=end), 400, "mg")


def test_overlaps_end_dates_inclusive_and_refused_rows_do_not_block():
    rows = [span(0, 9), span(10, None), span(9, 9), span(5, 20, drug="methotrexate"), span(30, 40)]
    refused = overlapping_periods(rows)
    assert [v.row for v in refused] == [2, 4]  # day 9 is in [0, 9]; day 30 is in [10, ongoing)
    assert all(v.error is OverlappingPeriod and v.field == "start_date" for v in refused)
    assert refused[0].reason.startswith("imatinib 2020-01-10 to 2020-01-10 overlaps the period 2020-01-01 to "
                                        "2020-01-10 (400 mg)")
    # A refused period does not count: [3, 12] overlaps row 0 and is refused, so [11, 15] (only overlapping the
    # refused one) stands.
    assert [v.row for v in overlapping_periods([span(0, 9), span(3, 12), span(11, 15)])] == [1]
    # Recorded periods count from the start; another patient's never.
    assert [v.row for v in overlapping_periods([span(5, 6), span(5, 6, patient="P2")], [span(0, None)])] == [0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30) | st.none()), max_size=8))
def test_overlaps_of_a_batch_are_those_of_saving_each_row_alone(periods):
    """The set function equals a form saving the rows one by one, each checked against those saved before."""
    rows = [span(start, None if length is None else start + length) for start, length in periods]
    saved, alone = [], []
    for index, row in enumerate(rows):
        if overlapping_periods([row], saved):
            alone.append(index)
        else:
            saved.append(row)
    assert [v.row for v in overlapping_periods(rows)] == alone


def test_before_birth_and_suspected_drugs():
    found = before_birth([("P1", date(1959, 12, 31)), ("P1", date(1960, 1, 1)), ("P2", date(1900, 1, 1))],
                         {"P1": 1960, "P2": None}, "visit_date")
    assert found == [Violation(0, "visit_date", "1959-12-31 is before the birth year 1960", InvalidDate)]
    drugs = unknown_suspected_drugs([("P1", "imatinib"), ("P1", ""), ("P2", "imatinib")], {"P1": {"imatinib"}})
    assert [(v.row, v.field) for v in drugs] == [(2, "suspected_drug")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3) | st.none(), min_size=17, max_size=17), st.integers(0, 102).map(lambda n: n / 2))
def test_the_stored_total_is_the_rater_total_of_analysis(scores, recorded):
    """One rule, two homes (models stores it, analysis reads it): they agree on every assessment a schema allows."""
    recorded = recorded if all(s is None for s in scores) else None
    assert stored_total(scores, recorded) == rater_total(dict(zip(SITE_CODES, scores, strict=True)), recorded)


class R:  # a row as plan_keys reads it
    def __init__(self, values, target=None, line=0):
        self.values, self.target, self.line = values, target, line


def test_plan_keys_for_a_bundle():
    known = {("P1", 1): Known(7, ("a",), 3), ("P1", 2): Known(8, ("b",), 1)}
    keys = [("P1", 1), ("P1", 2), ("P1", 3), ("P1", 3), ("P1", 3)]
    rows = [R(("a",), line=2), R(("x",), line=3), R(("c",), line=4), R(("c",), line=5), R(("d",), line=6)]
    plans, refused = plan_keys(keys, rows, known, columns=("value",), merge=True, update=False, duplicate=None,
                               key_names=("patient_id", "n"))
    assert [p and p.action for p in plans] == ["unchanged", None, "create", "same", None]
    assert [(v.row, v.field) for v in refused] == [(1, "value"), (4, "value")]
    assert "value a -> x" not in refused[0].reason and "value b -> x" in refused[0].reason
    assert "as line 4 with different values" in refused[1].reason
    plans, refused = plan_keys(keys, rows, known, columns=("value",), merge=True, update=True, duplicate=None,
                               key_names=("patient_id", "n"))
    assert plans[1].action == "update" and (plans[1].record_id, plans[1].version) == (8, 1)


def test_plan_keys_for_forms():
    known = {("P1", 1): Known(7, ("a",), 3)}

    def duplicate(i, key, record):
        return Violation(i, "n", f"{key} taken", DuplicateAssessment, record.record_id if record else None)

    plans, refused = plan_keys([("P1", 1), ("P1", 1), ("P1", 2), ("P1", 2)],
                               [R(("z",)), R(("a",), target=7), R(("b",), target=7), R(("c",))], known,
                               columns=("value",), merge=False, update=False, duplicate=duplicate,
                               key_names=("patient_id", "n"))
    # a new record on a taken key is refused (naming the record); a correction keeps its own key; taking the key of
    # an earlier row of the batch is refused too
    assert [p and p.action for p in plans] == [None, "update", "update", None]
    assert [(v.row, v.existing_id) for v in refused] == [(0, 7), (3, None)]


def test_change_text_names_what_changed():
    assert change_text(("dose", "end_date", "incomplete"), (200.0, None, False), (400.0, D, True)) == (
        "dose 200 -> 400; end_date blank -> 2020-01-01")
