"""Properties of the trial endpoints that must hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    activity_frame,
    baselines,
    change_from_baseline,
    criss_probability,
    response_frame,
    select_window_visits,
)
from analysis.activity import EUSTAR_AI_MEASURES
from analysis.criss import CRISS_ITEMS, CRISS_MEASURES
from models.catalog import ORGAN_EVENT_KINDS
from tests.unit.endpoint_frames import day, events, measurements, visits

# Each example builds a few frames (~50 ms): few examples, no per-example deadline; tests/unit stays fast.
frame_settings = settings(max_examples=10, deadline=None)

RANGES = {"fvc_pct": (40, 120), "patient_global": (0, 10), "physician_global": (0, 10), "haq_di": (0, 3),
          "skin_worsening": (0, 1), "digital_ulcers": (0, 5), "tendon_friction_rubs": (0, 1), "crp": (0, 5),
          "dlco_pct": (30, 110)}
WHOLE = {"skin_worsening", "digital_ulcers", "tendon_friction_rubs"}


def measure_value(code: str):
    low, high = RANGES[code]
    if code in WHOLE:
        return st.integers(low, high).map(float)
    return st.integers(low * 8, high * 8).map(lambda v: v / 8)  # eighths: exact in binary, ties possible


@st.composite
def patient_records(draw, patient="P"):
    """One patient's visits, CRISS and activity measurements and events, on days 0..900."""
    days = draw(st.lists(st.integers(0, 900), min_size=1, max_size=6, unique=True))
    visit_rows = [(patient, d, float(draw(st.integers(0, 102)) / 2)) for d in days]
    rows = []
    for code in (*CRISS_MEASURES, *EUSTAR_AI_MEASURES):
        for d in draw(st.lists(st.integers(-30, 930), max_size=4)):
            rows.append((patient, d, code, draw(measure_value(code)), draw(st.sampled_from(["", "a", "b"]))))
    event_rows = [(patient, d, kind) for d, kind in draw(st.lists(
        st.tuples(st.integers(-10, 910), st.sampled_from([*ORGAN_EVENT_KINDS, "adverse_event"])), max_size=2))]
    return visit_rows, rows, event_rows


def shifted(records, by: int):
    visit_rows, rows, event_rows = records
    return ([(p, d + by, v) for p, d, v in visit_rows], [(p, d + by, *rest) for p, d, *rest in rows],
            [(p, d + by, k) for p, d, k in event_rows])


def respond(records, anchor_day=None, month=12) -> pd.DataFrame:
    visit_rows, rows, event_rows = records
    anchors = None if anchor_day is None else pd.Series({"P": day(anchor_day)})
    return response_frame(["P"], visits(*visit_rows), measurements(*rows), events(*event_rows), anchors=anchors,
                          month=month)


def activity(records) -> pd.DataFrame:
    visit_rows, rows, _ = records
    return activity_frame(visits(*visit_rows), measurements(*rows))


def without_dates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.endswith("_date")])


@settings(max_examples=12, deadline=None)
@given(patient_records(), st.integers(-3000, 3000), st.one_of(st.none(), st.integers(0, 900)),
       st.sampled_from([3, 6, 12, 24]))
def test_shifting_every_date_of_a_patient_changes_nothing(records, by, anchor_day, month):
    moved = shifted(records, by)
    response = respond(records, anchor_day, month)
    moved_response = respond(moved, None if anchor_day is None else anchor_day + by, month)
    pd.testing.assert_frame_equal(without_dates(response), without_dates(moved_response))
    delta = pd.Timedelta(days=by)
    for column in ("baseline_date", "followup_date", "anchor_date"):
        assert (response[column] + delta).equals(moved_response[column])
    index, moved_index = activity(records), activity(moved)
    pd.testing.assert_frame_equal(without_dates(index), without_dates(moved_index))
    assert (index["visit_date"] + delta).equals(moved_index["visit_date"])


deltas = st.floats(-60, 60, allow_nan=False, allow_infinity=False)
GOOD_DIRECTION = {"mrss": -1, "fvc_pct": 1, "patient_global": -1, "physician_global": -1, "haq_di": -1}


@settings(max_examples=200)
@given(st.lists(deltas, min_size=5, max_size=5), st.sampled_from(CRISS_ITEMS),
       st.floats(0, 30, allow_nan=False))
def test_criss_probability_is_monotone_in_each_delta_in_its_good_direction(values, item, step):
    better = list(values)
    better[CRISS_ITEMS.index(item)] += GOOD_DIRECTION[item] * step
    assert criss_probability(*better) >= criss_probability(*values)
    assert 0 <= criss_probability(*values) <= 1


@frame_settings
@given(patient_records(), st.sampled_from(ORGAN_EVENT_KINDS), st.data())
def test_a_step1_event_always_gives_0(records, kind, data):
    visit_rows, rows, event_rows = records
    # a baseline on day 0 and a 12-month visit, so that there is an interval to put the event in
    visit_rows = [("P", 0, 30.0), ("P", 365, data.draw(st.integers(0, 51)) / 1.0),
                  *[r for r in visit_rows if r[1] > 455]]
    at = data.draw(st.integers(1, 365))
    row = respond((visit_rows, rows, [*event_rows, ("P", at, kind)])).iloc[0]
    assert kind in row["step1_event"].split(";")
    assert row["criss_probability"] == 0 and not row["criss_improved"]
    assert not any(row[f"rcriss{x}"] for x in (20, 25, 40, 60))


@frame_settings
@given(patient_records(), st.sampled_from([1, 3, 6, 12, 24]))
def test_the_follow_up_is_the_visit_windows_csv_uses(records, month):
    visit_rows, rows, event_rows = records
    response = respond(records, month=month)
    v = visits(*visit_rows)
    chosen = select_window_visits(change_from_baseline(v, baselines(v)), [month])
    row = response.iloc[0]
    if chosen.empty:
        assert pd.isna(row["followup_date"]) and row["missing"] == "followup"
    else:
        assert row["followup_date"] == chosen["visit_date"].iloc[0]
        assert row["d_mrss"] == chosen["change"].iloc[0]


@frame_settings
@given(patient_records())
def test_activity_index_is_blank_or_a_sum_of_weights_within_0_to_10(records):
    frame = activity(records)
    index = frame["eustar_ai"].to_numpy()
    known = ~np.isnan(index)
    assert ((index[known] >= 0) & (index[known] <= 10)).all()
    assert np.allclose(index[known] * 4, np.round(index[known] * 4))  # weights are quarters
    assert ((frame["missing"] == "") == known).all()
    assert (frame["active"].isna().to_numpy() == ~known).all()
