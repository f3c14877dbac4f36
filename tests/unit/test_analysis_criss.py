"""ACR CRISS, revised CRISS and response.csv (ENDPOINTS.md), each rule hand-computed in its own test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import (
    RESPONSE_COLUMNS,
    criss_probability,
    format_response_for_export,
    rcriss_item_improved,
    response_frame,
    step1_events,
    summarise_response,
)
from analysis.criss import RESPONSE_FRAME_COLUMNS
from models.catalog import ORGAN_EVENT_KINDS
from tests.unit.endpoint_frames import NO_EVENTS, criss_items, day, events, measurements, visits


def flag(value) -> bool | None:
    """A nullable-boolean cell as True / False / None."""
    return None if value is pd.NA else bool(value)


BASE_ITEMS = {"fvc_pct": 70, "patient_global": 5, "physician_global": 5, "haq_di": 1.0}


def one_patient(follow_mrss=30.0, follow_items=None, *, base_mrss=30.0, base_items=None, follow_day=365,
                extra_measurements=(), event_rows=()):
    """Patient P: baseline visit on day 0, a visit on `follow_day`, CRISS items recorded on both days."""
    base_items = BASE_ITEMS if base_items is None else base_items
    follow_items = BASE_ITEMS if follow_items is None else follow_items
    v = visits(("P", 0, base_mrss), ("P", follow_day, follow_mrss))
    m = measurements(*criss_items("P", 0, **base_items), *criss_items("P", follow_day, **follow_items),
                     *extra_measurements)
    e = events(*event_rows) if event_rows else NO_EVENTS
    return response_frame(["P"], v, m, e).iloc[0]


# --- the CRISS formula ------------------------------------------------------------------------------


def test_no_change_at_all_gives_0_0039():
    # L = −5.54; P = e^−5.54 / (1 + e^−5.54) = 0.003911 < 0.005
    assert criss_probability(0, 0, 0, 0, 0) == pytest.approx(0.0039112, abs=1e-7)
    row = one_patient()
    assert row["criss_probability"] == pytest.approx(0.0039112, abs=1e-7)
    assert not row["criss_improved"]
    assert format_response_for_export(pd.DataFrame([row]))["criss_probability"].iloc[0] == 0.004


def test_a_known_improver():
    # ΔmRSS −11, ΔFVC +4, ΔPtGlobal −2, ΔMDGlobal −3, ΔHAQ −0.375:
    # L = −5.54 + 8.91 + 0.84 + 0.80 + 1.32 + 1.27875 = 7.60875; P = 0.999504
    assert criss_probability(-11, 4, -2, -3, -0.375) == pytest.approx(0.9995042, abs=1e-7)
    row = one_patient(19, {"fvc_pct": 74, "patient_global": 3, "physician_global": 2, "haq_di": 0.625},
                      base_items={"fvc_pct": 70, "patient_global": 5, "physician_global": 5, "haq_di": 1.0})
    assert [row[f"d_{i}"] for i in ("mrss", "fvc_pct", "patient_global", "physician_global", "haq_di")] == [
        -11, 4, -2, -3, -0.375]
    assert row["criss_probability"] == pytest.approx(0.9995042, abs=1e-7) and row["criss_improved"]


def test_improved_needs_a_probability_of_0_60():
    # ΔmRSS −7 alone: L = −5.54 + 5.67 = 0.13, P = 0.5325 → not improved
    row = one_patient(23)
    assert row["criss_probability"] == pytest.approx(0.5324543, abs=1e-7) and not row["criss_improved"]
    # and ΔMDGlobal −1: L = 0.13 + 0.44 = 0.57, P = 0.6388 → improved
    row = one_patient(23, dict(BASE_ITEMS, physician_global=4))
    assert row["criss_probability"] == pytest.approx(0.6387632, abs=1e-7) and row["criss_improved"]


@pytest.mark.parametrize(("index", "sign"), [(0, -1), (1, +1), (2, -1), (3, -1), (4, -1)])
def test_each_coefficient_has_the_sign_of_its_good_direction(index, sign):
    deltas = [0.0] * 5
    deltas[index] = sign * 1.0
    assert criss_probability(*deltas) > criss_probability(0, 0, 0, 0, 0)


def test_probability_is_vectorised_and_blank_with_a_missing_delta():
    p = criss_probability(pd.Series([0.0, -11.0, np.nan]), 0, 0, 0, 0)
    assert p[0] == pytest.approx(0.0039112, abs=1e-7) and math.isnan(p[2])
    assert math.isnan(criss_probability(0, np.nan, 0, 0, 0))
    # no overflow at the extremes
    assert criss_probability(-51, 150, -10, -10, -3) == 1.0
    assert 0 <= criss_probability(51, -150, 10, 10, 3) < 1e-30


# --- step 1 ------------------------------------------------------------------------------------------


def test_an_organ_event_on_the_baseline_day_does_not_count():
    row = one_patient(event_rows=[("P", 0, "ild_progression")])
    assert row["step1_event"] == ""
    assert row["criss_probability"] == pytest.approx(0.0039112, abs=1e-7)


def test_an_organ_event_on_the_follow_up_day_counts():
    row = one_patient(19, {"fvc_pct": 74, "patient_global": 3, "physician_global": 2, "haq_di": 0.625},
                      event_rows=[("P", 365, "renal_crisis")])
    assert row["step1_event"] == "renal_crisis"
    assert row["criss_probability"] == 0 and flag(row["criss_improved"]) is False
    assert [row[f"rcriss{x}"] for x in (20, 25, 40, 60)] == [False] * 4
    # the Δ are still given
    assert row["d_mrss"] == -11 and row["missing"] == ""


def test_an_organ_event_after_the_follow_up_or_of_another_kind_does_not_count():
    row = one_patient(event_rows=[("P", 366, "pah"), ("P", 100, "adverse_event"), ("P", 200, "procedure")])
    assert row["step1_event"] == ""
    assert row["criss_probability"] == pytest.approx(0.0039112, abs=1e-7)


def test_step1_kinds_are_sorted_and_named_once():
    row = one_patient(event_rows=[("P", 300, "pah"), ("P", 10, "ild_progression"), ("P", 20, "pah"),
                                  ("P", 30, "lv_failure")])
    assert row["step1_event"] == "ild_progression;lv_failure;pah"


def test_step1_decides_even_with_items_missing():
    row = one_patient(follow_items={"fvc_pct": 60}, event_rows=[("P", 200, "ild_progression")])
    assert row["missing"] == "patient_global;physician_global;haq_di"
    assert row["criss_probability"] == 0 and flag(row["criss_improved"]) is False
    assert flag(row["rcriss20"]) is False
    assert row["d_fvc_pct"] == -10 and math.isnan(row["d_haq_di"])


def test_step1_events_every_organ_kind_and_interval_ends():
    intervals = pd.DataFrame({"patient_id": ["A", "A", "B"], "baseline_date": [day(0), day(50), day(0)],
                              "followup_date": [day(100), pd.NaT, day(100)]})
    e = events(*(("A", 10 + i, kind) for i, kind in enumerate(ORGAN_EVENT_KINDS)), ("B", 0, "pah"),
               ("B", 101, "pah"))
    out = step1_events(e, intervals)
    assert out.tolist() == [";".join(sorted(ORGAN_EVENT_KINDS)), "", ""]
    assert out.index.tolist() == intervals.index.tolist()


# --- every item missing in turn ---------------------------------------------------------------------

MEASURE_ITEMS = ["fvc_pct", "patient_global", "physician_global", "haq_di"]


@pytest.mark.parametrize("side", ["baseline", "followup"])
@pytest.mark.parametrize("item", MEASURE_ITEMS)
def test_each_missing_item_is_named_and_blanks_the_scores(item, side):
    partial = {k: v for k, v in BASE_ITEMS.items() if k != item}
    row = (one_patient(base_items=partial) if side == "baseline" else one_patient(follow_items=partial))
    assert row["missing"] == item
    assert math.isnan(row[f"d_{item}"])
    assert all(row[f"d_{other}"] == 0 for other in MEASURE_ITEMS if other != item) and row["d_mrss"] == 0
    assert math.isnan(row["criss_probability"]) and flag(row["criss_improved"]) is None
    assert all(flag(row[f"rcriss{x}"]) is None for x in (20, 25, 40, 60))


def test_a_missing_mrss_delta_blanks_the_probability():
    # the mRSS of a baseline or follow-up visit always exists; the formula itself still blanks without it
    assert math.isnan(criss_probability(np.nan, 0, 0, 0, 0))


def test_several_missing_items_are_named_in_the_contract_order():
    row = one_patient(follow_items={"physician_global": 5})
    assert row["missing"] == "fvc_pct;patient_global;haq_di"


def test_no_baseline_blanks_every_column():
    out = response_frame(["P", "Q"], visits(("P", 0, 30)), measurements(), NO_EVENTS)
    q = out.iloc[1]
    assert q["patient_id"] == "Q" and q["missing"] == "baseline"
    assert pd.isna(q["baseline_date"]) and pd.isna(q["followup_date"]) and q["step1_event"] == ""
    assert q[["d_mrss", "criss_probability"]].isna().all() and flag(q["rcriss20"]) is None


def test_no_follow_up_visit_fills_only_the_baseline_date():
    # month 12: target day 365 ± 90; a visit on day 274 is one day too early (365 − 91)
    v = visits(("P", 0, 30), ("P", 274, 20))
    m = measurements(*criss_items("P", 0, **BASE_ITEMS), *criss_items("P", 274, **BASE_ITEMS))
    row = response_frame(["P"], v, m, events(("P", 100, "pah"))).iloc[0]
    assert row["baseline_date"] == day(0) and pd.isna(row["followup_date"])
    assert row["missing"] == "followup" and row["step1_event"] == ""
    assert row[[f"d_{i}" for i in ("mrss", *MEASURE_ITEMS)]].isna().all()
    assert math.isnan(row["criss_probability"]) and flag(row["criss_improved"]) is None


def test_follow_up_month_is_the_window_visit_of_that_month():
    # month 6: target 183 ± 45 → day 170 (closer than 200); month 12: 365 ± 90 → day 400
    v = visits(("P", 0, 30), ("P", 170, 28), ("P", 200, 26), ("P", 400, 20))
    six = response_frame(["P"], v, measurements(), NO_EVENTS, month=6).iloc[0]
    twelve = response_frame(["P"], v, measurements(), NO_EVENTS).iloc[0]
    assert six["followup_date"] == day(170) and six["d_mrss"] == -2
    assert twelve["followup_date"] == day(400) and twelve["d_mrss"] == -10


def test_follow_up_tie_takes_the_earlier_visit():
    # target 365: days 345 and 385 are both 20 away
    v = visits(("P", 0, 30), ("P", 345, 28), ("P", 385, 20))
    assert response_frame(["P"], v, measurements(), NO_EVENTS).iloc[0]["followup_date"] == day(345)


def test_anchored_baseline_as_summary():
    # imatinib starts on day 100: baseline = latest visit in [day 10, day 100] → day 60, not day 0
    v = visits(("P", 0, 35), ("P", 60, 30), ("P", 430, 20))
    anchors = pd.Series({"P": day(100)})
    row = response_frame(["P"], v, measurements(), NO_EVENTS, anchors=anchors).iloc[0]
    assert row["anchor_date"] == day(100) and row["baseline_date"] == day(60)
    assert row["followup_date"] == day(430) and row["d_mrss"] == -10  # day 60 + 370
    none = response_frame(["P"], v, measurements(), NO_EVENTS, anchors=pd.Series({"P": day(400)})).iloc[0]
    assert none["missing"] == "baseline"  # no visit in [day 310, day 400]


# --- revised CRISS ------------------------------------------------------------------------------------

# (item, baseline, follow-up exactly X % better) for X = 20, 25, 40, 60
EXACT = {
    "mrss": (20, {20: 16, 25: 15, 40: 12, 60: 8}),
    "patient_global": (5, {20: 4, 25: 3.75, 40: 3, 60: 2}),
    "physician_global": (8, {20: 6.4, 25: 6, 40: 4.8, 60: 3.2}),
    "haq_di": (1.25, {20: 1.0, 25: 0.9375, 40: 0.75, 60: 0.5}),
}


@pytest.mark.parametrize("threshold", [20, 25, 40, 60])
@pytest.mark.parametrize("item", list(EXACT))
def test_revised_item_improved_exactly_at_the_threshold(item, threshold):
    baseline, at = EXACT[item]
    assert rcriss_item_improved(item, baseline, at[threshold], threshold).tolist() == [True]
    assert rcriss_item_improved(item, baseline, at[threshold] + 0.01, threshold).tolist() == [False]


def test_revised_boundary_counts_despite_binary_fractions():
    # HAQ 0.7 → 0.56 is 20 %, but 100 × (0.7 − 0.56) is 13.99999999999999 in binary while 20 × 0.7 is 14
    assert 100 * (0.7 - 0.56) < 20 * 0.7
    assert rcriss_item_improved("haq_di", 0.7, 0.56, 20).tolist() == [True]
    # MD global 8 → 6.4 likewise (159.99999999999997 against 160)
    assert rcriss_item_improved("physician_global", 8, 6.4, 20).tolist() == [True]


@pytest.mark.parametrize("threshold", [20, 25, 40, 60])
def test_fvc_needs_5_percent_whatever_the_threshold(threshold):
    # 80 → 84 is +5 % of 80: improved at every X; 80 → 83.9 never; a fall never
    assert rcriss_item_improved("fvc_pct", 80, 84, threshold).tolist() == [True]
    assert rcriss_item_improved("fvc_pct", 80, 83.9, threshold).tolist() == [False]
    assert rcriss_item_improved("fvc_pct", 80, 60, threshold).tolist() == [False]


@pytest.mark.parametrize("item", list(EXACT))
def test_a_baseline_of_0_cannot_improve(item):
    assert rcriss_item_improved(item, 0, 0, 20).tolist() == [False]


def test_an_item_that_worsened_is_not_improved():
    assert rcriss_item_improved("mrss", 20, 25, 20).tolist() == [False]


def test_revised_responder_needs_3_of_5():
    # at 20 %: mRSS 30 → 24 (−20 %), PtGlobal 5 → 4 (−20 %), MD 5 → 5, HAQ 1 → 1, FVC 70 → 73 (+4.3 %): 2 of 5
    two = one_patient(24, dict(BASE_ITEMS, patient_global=4, fvc_pct=73))
    assert flag(two["rcriss20"]) is False
    # FVC 70 → 73.5 (+5 %) makes 3 of 5 at 20 %; at 25 % only FVC is improved
    three = one_patient(24, dict(BASE_ITEMS, patient_global=4, fvc_pct=73.5))
    assert [three[f"rcriss{x}"] for x in (20, 25, 40, 60)] == [True, False, False, False]


def test_revised_responder_at_every_threshold():
    # mRSS 30 → 12 (−60 %), PtGlobal 5 → 2 (−60 %), MD 5 → 3 (−40 %), HAQ 1 → 0.75 (−25 %), FVC 70 → 70
    row = one_patient(12, {"fvc_pct": 70, "patient_global": 2, "physician_global": 3, "haq_di": 0.75})
    # improved items: 20 % → 4, 25 % → 4, 40 % → 3, 60 % → 2
    assert [row[f"rcriss{x}"] for x in (20, 25, 40, 60)] == [True, True, True, False]


# --- the ±30-day rule inside the response -----------------------------------------------------------


def test_items_are_paired_within_30_days_the_earlier_on_a_tie():
    # baseline FVC recorded 10 days before (68) and 10 days after (72) the baseline visit: the earlier, 68
    row = one_patient(base_items={"patient_global": 5, "physician_global": 5, "haq_di": 1.0},
                      extra_measurements=[("P", -10, "fvc_pct", 68), ("P", 10, "fvc_pct", 72)])
    assert row["baseline_fvc_pct"] == 68 and row["d_fvc_pct"] == 2


def test_an_item_31_days_away_is_missing_and_30_days_away_is_not():
    far = one_patient(base_items={"patient_global": 5, "physician_global": 5, "haq_di": 1.0},
                      extra_measurements=[("P", 31, "fvc_pct", 70)])
    assert far["missing"] == "fvc_pct"
    near = one_patient(base_items={"patient_global": 5, "physician_global": 5, "haq_di": 1.0},
                       extra_measurements=[("P", -30, "fvc_pct", 70)])
    assert near["missing"] == "" and near["d_fvc_pct"] == 0


def test_two_raters_on_one_date_count_as_their_mean():
    row = one_patient(follow_items={"fvc_pct": 70, "physician_global": 5, "haq_di": 1.0},
                      extra_measurements=[("P", 365, "patient_global", 2, "dr a"),
                                          ("P", 365, "patient_global", 3, "dr b")])
    assert row["followup_patient_global"] == 2.5 and row["d_patient_global"] == -2.5


# --- the frame and its export -----------------------------------------------------------------------


def test_frame_columns_types_and_order():
    v = visits(("B", 0, 30), ("B", 365, 20), ("A", 0, 10))
    out = response_frame(pd.DataFrame({"patient_id": ["B", "A", "C", "A"]}), v, measurements(), NO_EVENTS)
    assert out.columns.tolist() == RESPONSE_FRAME_COLUMNS
    assert out["patient_id"].tolist() == ["A", "B", "C"]
    assert out["missing"].tolist() == ["followup", "fvc_pct;patient_global;physician_global;haq_di", "baseline"]
    assert str(out["criss_improved"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_dtype(out["baseline_date"])


def test_empty_inputs_give_an_empty_frame():
    out = response_frame([], visits(), measurements(), NO_EVENTS)
    assert out.empty and out.columns.tolist() == RESPONSE_FRAME_COLUMNS
    assert format_response_for_export(out).columns.tolist() == RESPONSE_COLUMNS


def test_export_rounds_d_to_2_and_probability_to_3_deciding_on_unrounded_values():
    # ΔHAQ −0.375 → −0.38 (half away from zero); ΔPtGlobal −2.5
    row = one_patient(19, {"fvc_pct": 74, "patient_global": 2.5, "physician_global": 2, "haq_di": 0.625})
    out = format_response_for_export(pd.DataFrame([row])).iloc[0]
    assert out.index.tolist() == RESPONSE_COLUMNS
    assert out["d_haq_di"] == -0.38 and out["d_patient_global"] == -2.5
    assert out["criss_probability"] == 1.0 and out["criss_improved"] == "yes"
    assert out["missing"] == ""


def test_export_writes_yes_no_and_blank():
    v = visits(("A", 0, 30), ("A", 365, 30), ("B", 0, 30), ("B", 365, 30))
    m = measurements(*criss_items("A", 0, **BASE_ITEMS), *criss_items("A", 365, **BASE_ITEMS))
    out = format_response_for_export(response_frame(["A", "B"], v, m, NO_EVENTS))
    assert out["criss_improved"].tolist() == ["no", ""]
    assert out["rcriss60"].tolist() == ["no", ""]


def test_cohort_summary_of_the_response():
    # A improves (P 0.9995), B does not (P 0.0039), C a step-1 event (P 0), D misses HAQ, E has no baseline
    good = {"fvc_pct": 74, "patient_global": 3, "physician_global": 2, "haq_di": 0.625}
    v = visits(*[(p, d, m) for p in "ABCD" for d, m in ((0, 30.0), (365, 19.0 if p == "A" else 30.0))])
    m = measurements(*[row for p in "ABCD" for row in criss_items(p, 0, **(BASE_ITEMS if p != "D" else
                                                                             dict(BASE_ITEMS, haq_di=None)))],
                     *criss_items("A", 365, **good), *[r for p in "BCD" for r in criss_items(p, 365, **BASE_ITEMS)])
    response = response_frame(list("ABCDE"), v, m, events(("C", 100, "pah")))
    summary = summarise_response(response)
    assert (summary.n, summary.n_computable, summary.n_improved) == (5, 3, 1)
    assert summary.pct_improved == pytest.approx(100 / 3)
    assert summary.median_probability == pytest.approx(0.0039112, abs=1e-7)  # of 0, 0.0039, 0.9995
    # A: mRSS −36.7 %, FVC +5.7 %, PtGlobal −40 %, MD −60 %, HAQ −37.5 %: 5 items at 20 %, 3 at 40 %
    # (FVC, PtGlobal, MD), 2 at 60 % (FVC, MD)
    assert summary.rcriss[20] == (3, 1, pytest.approx(100 / 3)) and summary.rcriss[40] == (3, 1, pytest.approx(100 / 3))
    assert summary.rcriss[60] == (3, 0, 0.0)
    assert summary.not_computable.values.tolist() == [["D", "haq_di"], ["E", "baseline"]]
