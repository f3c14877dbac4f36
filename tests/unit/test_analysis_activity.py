"""EUSTAR activity index and activity.csv (ENDPOINTS.md), every boundary hand-computed."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import ACTIVITY_COLUMNS, activity_frame, eustar_ai, format_activity_for_export, summarise_activity
from analysis.activity import ACTIVITY_FRAME_COLUMNS, is_active
from tests.unit.endpoint_frames import measurements, visits

NONE_ACTIVE = {"skin_worsening": 0, "digital_ulcers": 0, "tendon_friction_rubs": 0, "crp": 0.5, "dlco_pct": 85}


def index_of(mrss=10.0, **items) -> float:
    values = dict(NONE_ACTIVE, **items)
    return eustar_ai(values["skin_worsening"], mrss, values["digital_ulcers"], values["tendon_friction_rubs"],
                     values["crp"], values["dlco_pct"])


def visit_row(mrss=10.0, at=0, **items):
    """activity_frame's row for one visit on day `at`, the items recorded that day (None = not recorded)."""
    values = dict(NONE_ACTIVE, **items)
    rows = [("P", at, code, value) for code, value in values.items() if value is not None]
    return activity_frame(visits(("P", at, mrss)), measurements(*rows)).iloc[0]


def test_nothing_active_is_0_and_everything_active_is_10():
    assert index_of() == 0
    # 1.5 + 1.5 + 1.5 + 2.25 + 2.25 + 1.0
    assert index_of(21, skin_worsening=1, digital_ulcers=2, tendon_friction_rubs=1, crp=1.8, dlco_pct=64) == 10


@pytest.mark.parametrize(("mrss", "score"), [(18, 0), (18.5, 1.5), (17.5, 0), (19, 1.5)])
def test_mrss_counts_above_18(mrss, score):
    assert index_of(mrss) == score


@pytest.mark.parametrize(("crp", "score"), [(1.0, 0), (1.01, 2.25), (0.99, 0)])
def test_crp_counts_above_1(crp, score):
    assert index_of(crp=crp) == score


@pytest.mark.parametrize(("dlco", "score"), [(70, 0), (69.9, 1.0), (70.1, 0)])
def test_dlco_counts_below_70(dlco, score):
    assert index_of(dlco_pct=dlco) == score


@pytest.mark.parametrize(("ulcers", "score"), [(0, 0), (1, 1.5), (5, 1.5)])
def test_one_digital_ulcer_counts(ulcers, score):
    assert index_of(digital_ulcers=ulcers) == score


@pytest.mark.parametrize(("item", "weight"), [("skin_worsening", 1.5), ("tendon_friction_rubs", 2.25)])
def test_yes_no_items_count_when_1(item, weight):
    assert index_of(**{item: 1}) == weight
    assert index_of(**{item: 0}) == 0


def test_active_from_2_5():
    # Δ-skin (1.5) + DLCO 65 (1.0) = 2.5 exactly → active; tendon friction rubs alone (2.25) → not
    assert index_of(skin_worsening=1, dlco_pct=65) == 2.5
    assert visit_row(skin_worsening=1, dlco_pct=65)["active"]
    assert index_of(tendon_friction_rubs=1) == 2.25
    assert not visit_row(tendon_friction_rubs=1)["active"]
    assert is_active(2.5).tolist() == [True] and is_active(2.49).tolist() == [False]


def test_a_rounding_error_beside_a_boundary_reads_as_the_boundary():
    # a value computed in binary (a unit conversion, a mean) may land 1e-12 beside the boundary it means
    assert index_of(crp=1 + 1e-12) == 0 and index_of(crp=1 + 1e-6) == 2.25
    assert index_of(18 + 1e-12) == 0 and index_of(dlco_pct=70 - 1e-12) == 0
    assert index_of(digital_ulcers=1 - 1e-12) == 1.5


def test_two_raters_values_on_one_date_count_as_their_mean():
    # tendon friction rubs 1 and 0 on the same day: mean 0.5, which is not 1
    m = measurements(*[("P", 0, c, v) for c, v in NONE_ACTIVE.items() if c != "tendon_friction_rubs"],
                     ("P", 0, "tendon_friction_rubs", 1, "dr a"), ("P", 0, "tendon_friction_rubs", 0, "dr b"))
    row = activity_frame(visits(("P", 0, 10)), m).iloc[0]
    assert row["tendon_friction_rubs"] == 0.5 and row["eustar_ai"] == 0


@pytest.mark.parametrize("item", ["skin_worsening", "digital_ulcers", "tendon_friction_rubs", "crp", "dlco_pct"])
def test_each_missing_item_is_named_and_blanks_the_index(item):
    row = visit_row(**{item: None})
    assert row["missing"] == item
    assert math.isnan(row["eustar_ai"]) and row["active"] is pd.NA


def test_missing_mrss_blanks_the_formula():
    assert math.isnan(index_of(float("nan")))


def test_missing_items_in_the_formulas_order():
    row = visit_row(skin_worsening=None, crp=None, dlco_pct=None)
    assert row["missing"] == "skin_worsening;crp;dlco_pct"


def test_items_paired_within_30_days_the_earlier_on_a_tie():
    # DLCO 65 ten days before and 75 ten days after: the earlier (65 → counts)
    m = measurements(*[("P", 100, c, v) for c, v in NONE_ACTIVE.items() if c != "dlco_pct"],
                     ("P", 90, "dlco_pct", 65), ("P", 110, "dlco_pct", 75))
    row = activity_frame(visits(("P", 100, 10)), m).iloc[0]
    assert row["dlco_pct"] == 65 and row["eustar_ai"] == 1.0


def test_an_item_35_days_away_is_missing():
    m = measurements(*[("P", 0, c, v) for c, v in NONE_ACTIVE.items() if c != "dlco_pct"],
                     ("P", 35, "dlco_pct", 71))
    assert activity_frame(visits(("P", 0, 10)), m).iloc[0]["missing"] == "dlco_pct"


def test_every_visit_with_an_mrss_sorted_and_the_visit_mrss_used():
    v = visits(("B", 0, 20), ("A", 30, 25), ("A", 0, 12))
    out = activity_frame(v, measurements())
    assert out.columns.tolist() == ACTIVITY_FRAME_COLUMNS
    assert out["patient_id"].tolist() == ["A", "A", "B"]
    assert out["mrss"].tolist() == [12, 25, 20]
    assert (out["missing"] == "skin_worsening;digital_ulcers;tendon_friction_rubs;crp;dlco_pct").all()


def test_export_rounds_to_2_decimals_and_writes_yes_no():
    v = visits(("P", 0, 21), ("P", 200, 10))
    m = measurements(*[("P", 0, c, v) for c, v in NONE_ACTIVE.items()], ("P", 0, "skin_worsening", 1),
                     ("P", 200, "crp", 3))
    out = format_activity_for_export(activity_frame(v, m))
    assert out.columns.tolist() == ACTIVITY_COLUMNS
    # day 0: Δ-skin 0 and 1 the same day → 0.5, not 1; mRSS 21 → 1.5: not active
    assert out.iloc[0].tolist()[2:] == [1.5, "no", ""]
    # day 200: only CRP recorded that close (the day-0 items are 200 days away)
    assert out.iloc[1]["missing"] == "skin_worsening;digital_ulcers;tendon_friction_rubs;dlco_pct"
    assert math.isnan(out.iloc[1]["eustar_ai"]) and out.iloc[1]["active"] == ""


def test_empty_visits():
    out = activity_frame(visits(), measurements())
    assert out.empty and format_activity_for_export(out).columns.tolist() == ACTIVITY_COLUMNS


def test_cohort_summary_at_each_patients_latest_visit():
    # A: latest 10 (active); B: latest 0 (an earlier 10 does not count); C: latest misses CRP; D: 2.5
    everything = {"skin_worsening": 1, "digital_ulcers": 2, "tendon_friction_rubs": 1, "crp": 1.8, "dlco_pct": 64}
    v = visits(("A", 0, 21), ("B", 0, 21), ("B", 200, 10), ("C", 0, 10), ("D", 0, 10))
    m = measurements(*[("A", 0, c, x) for c, x in everything.items()],
                     *[("B", 0, c, x) for c, x in everything.items()],
                     *[("B", 200, c, x) for c, x in NONE_ACTIVE.items()],
                     *[("C", 0, c, x) for c, x in NONE_ACTIVE.items() if c != "crp"],
                     *[("D", 0, c, x) for c, x in dict(NONE_ACTIVE, skin_worsening=1, dlco_pct=60).items()])
    summary = summarise_activity(activity_frame(v, m))
    assert (summary.n, summary.n_computable, summary.n_active) == (4, 3, 2)
    assert summary.pct_active == pytest.approx(200 / 3)
    assert (summary.q1, summary.median, summary.q3) == (1.25, 2.5, 6.25)  # of 0, 2.5, 10
    assert summary.index["patient_id"].tolist() == ["A", "B", "D"]
    assert summary.not_computable[["patient_id", "missing"]].values.tolist() == [["C", "crp"]]


# --- the Cohort screen's distribution --------------------------------------------------------------------


def test_the_distribution_counts_each_value_once_with_its_share_and_state():
    from analysis.activity import activity_distribution

    # five known indexes and one unknown: 1.5 twice, 2.5 once (exactly the threshold: active), 7.75 twice
    counts = activity_distribution(pd.Series([7.75, 1.5, math.nan, 2.5, 1.5, 7.75]))
    assert counts["eustar_ai"].tolist() == [1.5, 2.5, 7.75]
    assert counts["n"].tolist() == [2, 1, 2]
    assert counts["pct"].tolist() == [40.0, 20.0, 40.0]
    assert counts["active"].tolist() == [False, True, True]


def test_a_value_a_rounding_error_beside_another_is_counted_with_it():
    from analysis.activity import activity_distribution

    counts = activity_distribution([2.5, 2.5 - 1e-12, 1.0])  # activity.csv writes both as 2.5
    assert counts["eustar_ai"].tolist() == [1.0, 2.5] and counts["n"].tolist() == [1, 2]


def test_no_known_index_gives_no_rows():
    from analysis.activity import activity_distribution

    counts = activity_distribution([math.nan])
    assert counts.empty and list(counts.columns) == ["eustar_ai", "n", "pct", "active"]


@given(st.lists(st.sampled_from([0.0, 1.0, 1.5, 2.25, 2.5, 3.0, 3.75, 4.5, 7.75, 10.0, math.nan]), max_size=60))
def test_the_distribution_accounts_for_every_known_index(values):
    from analysis.activity import activity_distribution

    counts = activity_distribution(values)
    known = [v for v in values if not math.isnan(v)]
    assert int(counts["n"].sum()) == len(known)
    assert counts["eustar_ai"].is_monotonic_increasing and counts["eustar_ai"].is_unique
    if known:
        assert math.isclose(float(counts["pct"].sum()), 100.0)
    assert (counts["active"] == (counts["eustar_ai"] >= 2.5)).all()
