"""What changed after each treatment change (analysis/what_changed.py): the demo stories computed by hand, a patient
without any change, and properties that hold for any patient."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.frames import EVENT_COLUMNS, MEDICATION_COLUMNS, VISIT_COLUMNS
from analysis.what_changed import (
    DOSE_CHANGE,
    DRUG_START,
    DRUG_STOP,
    INJECTION,
    SITE_MOVE,
    WINDOW_FROM_DAYS,
    WINDOW_TO_DAYS,
    site_names,
    sites_that_moved_most,
    treatment_changes,
)
from models.catalog import ANCHOR_LOOKBACK_DAYS, SITE_CODES

HANDS = ("hand_r", "hand_l", "fingers_r", "fingers_l")
LEGS = ("thigh_r", "thigh_l", "leg_r", "leg_l", "foot_r", "foot_l")


def visits_frame(rows: list[tuple[date, dict[str, float]]]) -> pd.DataFrame:
    """VISIT_COLUMNS from (date, site scores); the visit mRSS is the sum of the 17 sites (one rater)."""
    out = []
    for day, sites in rows:
        record = {"patient_id": "P", "visit_date": pd.Timestamp(day), "n_raters": 1,
                  "mrss": float(sum(sites[c] for c in SITE_CODES))}
        record.update({c: float(sites[c]) for c in SITE_CODES})
        out.append(record)
    frame = pd.DataFrame(out, columns=VISIT_COLUMNS)
    frame["visit_date"] = frame["visit_date"].astype("datetime64[us]")
    return frame


def medications_frame(*periods) -> pd.DataFrame:
    frame = pd.DataFrame([("P", *p) for p in periods], columns=MEDICATION_COLUMNS)
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame


def injections_frame(*shots: tuple[date, str]) -> pd.DataFrame:
    frame = pd.DataFrame([("P", pd.Timestamp(day), "steroid_injection", "", sites, "triamcinolone acetonide", 40.0,
                           "mg", pd.NA, pd.NA, pd.NaT) for day, sites in shots], columns=EVENT_COLUMNS)
    frame["date"] = frame["date"].astype("datetime64[us]")
    return frame


# --- DEMO-0002 (NSF): the legs soften on imatinib, the hands only after the injections ---------------------------

NSF_START = date(2022, 3, 7)
NSF_INJECTIONS = (NSF_START + timedelta(days=280), NSF_START + timedelta(days=372))  # 2022-12-12, 2023-03-14


def nsf_visits() -> pd.DataFrame:
    rows = []
    for offset in (0, 91, 182, 273, 330, 400, 456, 547, 640, 730):
        day = NSF_START + timedelta(days=offset)
        sites = dict.fromkeys(SITE_CODES, 0)
        sites.update(dict.fromkeys(LEGS, 3 if offset < 91 else 2 if offset < 273 else 1))
        sites.update(forearm_r=2 if offset < 182 else 1, forearm_l=2 if offset < 182 else 1)
        sites.update(upper_arm_r=1 if offset < 273 else 0, upper_arm_l=1 if offset < 273 else 0)
        sites.update(dict.fromkeys(HANDS, 3 - sum(1 for shot in NSF_INJECTIONS if shot < day)))
        rows.append((day, sites))
    return visits_frame(rows)


def nsf_changes():
    meds = medications_frame(("imatinib", 400.0, "mg", "daily", "oral", "2022-03-14", None, ""))
    shots = injections_frame(*((day, ";".join(HANDS)) for day in NSF_INJECTIONS))
    return treatment_changes(nsf_visits(), meds, shots)


def test_nsf_visit_totals_are_the_story_by_hand():
    assert list(nsf_visits()["mrss"]) == [36, 30, 28, 20, 16, 12, 12, 12, 12, 12]


def test_nsf_imatinib_start_softens_the_legs_not_the_hands():
    start = nsf_changes()[0]
    assert (start.kind, start.date, start.label) == (DRUG_START, date(2022, 3, 14), "start of imatinib 400 mg")
    # before: 2022-03-07 (7 days before); after: the latest visit 91-183 days later, 2022-09-05 (day 175)
    assert (start.before_date, start.before_mrss, start.after_date, start.after_mrss) == (
        date(2022, 3, 7), 36.0, date(2022, 9, 5), 28.0)
    assert start.mrss_change == -8.0
    assert {m.site: m.change for m in start.moved} == {**dict.fromkeys(LEGS, -1.0), "forearm_r": -1.0,
                                                       "forearm_l": -1.0}
    assert start.sentence == ("After the start of imatinib 400 mg daily on 2022-03-14: mRSS 36 → 28 (−8) from "
                              "2022-03-07 to 2022-09-05; forearms, thighs, lower legs and feet −1 each.")


def test_nsf_injections_soften_the_hands_and_fingers():
    _, first, second = nsf_changes()
    assert (first.kind, first.date, first.sites) == (INJECTION, date(2022, 12, 12), HANDS)
    assert first.label == "injection: hands, fingers"
    # before: 2022-12-05 (mRSS 20, hands 3); after: 2023-06-06, day 176 (mRSS 12, hands 1)
    assert (first.before_date, first.after_date, first.mrss_change) == (date(2022, 12, 5), date(2023, 6, 6), -8.0)
    assert {m.site: m.change for m in first.moved} == dict.fromkeys(HANDS, -2.0)
    assert first.also_in_window == ("the injections into both hands and fingers on 2023-03-14",)
    assert first.sentence == (
        "After the injections into both hands and fingers on 2022-12-12: mRSS 20 → 12 (−8) from 2022-12-05 to "
        "2023-06-06; hands and fingers −2 each (also in this window: the injections into both hands and fingers "
        "on 2023-03-14).")
    # the second: before 2023-01-31 (hands 2, mRSS 16), after 2023-09-05 (hands 1, mRSS 12)
    assert (second.before_date, second.after_date, second.before_mrss, second.after_mrss) == (
        date(2023, 1, 31), date(2023, 9, 5), 16.0, 12.0)
    assert second.sentence.endswith("hands and fingers −1 each.")


def test_nsf_the_sites_shown_first_are_the_thighs_and_the_hands():
    chosen = sites_that_moved_most(nsf_changes(), nsf_visits(), limit=6)
    assert chosen == ["thigh_r", "thigh_l", "hand_r", "hand_l", "fingers_r", "fingers_l"]


# --- DEMO-0001 (dcSSc): imatinib 200 mg, raised to 400 mg -----------------------------------------------------

BASE = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1), strict=True))


def test_dcssc_dose_change():
    # 2023-04-11 (gain 0.15): hands 3 -> 2, the rest as at baseline: 31. 2023-10-10 (gain 0.5): every site -1: 14.
    april = dict(BASE, hand_r=2, hand_l=2)
    october = {code: value - 1 for code, value in april.items()}
    visits = visits_frame([(date(2023, 1, 10), BASE), (date(2023, 4, 11), april), (date(2023, 7, 11), april),
                           (date(2023, 10, 10), october), (date(2024, 1, 10), october)])
    meds = medications_frame(("imatinib", 200.0, "mg", "daily", "oral", "2023-01-20", "2023-06-30", ""),
                             ("imatinib", 400.0, "mg", "daily", "oral", "2023-07-01", None, "partial response"))
    start, step = treatment_changes(visits, meds, None)
    assert (start.kind, step.kind) == (DRUG_START, DOSE_CHANGE)
    assert step.label == "imatinib 200 → 400 mg" and step.date == date(2023, 7, 1)
    # before: the latest visit in the 90 days up to 2023-07-01 is 2023-04-11 (81 days); after: 2023-10-10 (day 101)
    assert (step.before_date, step.before_mrss, step.after_date, step.after_mrss) == (
        date(2023, 4, 11), 31.0, date(2023, 10, 10), 14.0)
    assert len(step.moved) == 17 and {m.change for m in step.moved} == {-1.0}
    assert step.sentence == (
        "After imatinib went from 200 to 400 mg daily on 2023-07-01: mRSS 31 → 14 (−17) from 2023-04-11 to "
        "2023-10-10; face, chest, abdomen, upper arms, forearms, hands, fingers, thighs, lower legs and feet −1 each.")
    assert start.also_in_window == ("imatinib went from 200 to 400 mg daily on 2023-07-01",)


def test_a_patient_without_any_treatment_change():
    visits = visits_frame([(date(2023, 1, 10), BASE), (date(2023, 6, 10), dict(BASE, face=0))])
    assert treatment_changes(visits, medications_frame(), None) == []
    assert treatment_changes(visits, None, injections_frame()) == []
    assert sites_that_moved_most([], visits) == ["face"]  # the overall movers, when no change explains them


def test_stop_restart_and_a_split_period_at_the_same_dose():
    meds = medications_frame(("methotrexate", 15.0, "mg", "weekly", "sc", "2019-06-01", "2019-12-31", ""),
                             ("methotrexate", 15.0, "mg", "weekly", "sc", "2020-01-01", "2020-02-29", ""),
                             ("methotrexate", 20.0, "mg", "weekly", "sc", "2021-01-01", None, ""))
    changes = treatment_changes(None, meds, None)
    assert [(c.kind, c.date.isoformat(), c.label) for c in changes] == [
        (DRUG_START, "2019-06-01", "start of methotrexate 15 mg"),
        (DRUG_STOP, "2020-02-29", "methotrexate stop"),
        (DRUG_START, "2021-01-01", "start of methotrexate 20 mg"),
    ]
    assert changes[0].outcome.startswith("no visit with an mRSS 91–183 days")


def test_site_names_in_words():
    assert site_names(["hand_l", "hand_r", "fingers_r"]) == "hands, right fingers"
    assert site_names(["face", "foot_l", "foot_r", "chest"]) == "face, chest, feet"


# --- properties ---------------------------------------------------------------------------------------------

DAY0 = date(2020, 1, 1)
days = st.integers(min_value=0, max_value=900)
scores = st.lists(st.integers(min_value=0, max_value=3), min_size=17, max_size=17)


@st.composite
def patients(draw):
    visit_days = sorted(set(draw(st.lists(days, min_size=1, max_size=12))))
    visits = visits_frame([(DAY0 + timedelta(days=d), dict(zip(SITE_CODES, draw(scores), strict=True)))
                           for d in visit_days])
    start = draw(days)
    periods = [("imatinib", 200.0, "mg", "daily", "oral", (DAY0 + timedelta(days=start)).isoformat(), None, "")]
    if draw(st.booleans()):
        change = start + draw(st.integers(min_value=1, max_value=300))
        periods[0] = (*periods[0][:6], (DAY0 + timedelta(days=change - 1)).isoformat(), "")
        periods.append(("imatinib", 400.0, "mg", "daily", "oral", (DAY0 + timedelta(days=change)).isoformat(), None,
                        ""))
    shots = [(DAY0 + timedelta(days=d), draw(st.sampled_from(["hand_r;hand_l", "leg_r", "face"])))
             for d in draw(st.lists(days, max_size=3))]
    return visits, medications_frame(*periods), injections_frame(*shots)


@settings(max_examples=25, deadline=None)
@given(patients(), st.integers(min_value=-400, max_value=400))
def test_every_change_compares_the_right_visits_and_moves_with_the_calendar(patient, shift):
    visits, meds, shots = patient
    changes = treatment_changes(visits, meds, shots)
    assert [c.date for c in changes] == sorted(c.date for c in changes)
    assert sum(c.kind == INJECTION for c in changes) == shots["date"].nunique()
    by_day = visits.set_index(visits["visit_date"].dt.date)
    for change in changes:
        if change.before_date is not None:
            assert 0 <= (change.date - change.before_date).days <= ANCHOR_LOOKBACK_DAYS
            later = [d for d in by_day.index if change.before_date < d <= change.date]
            assert not later  # the latest one
        if change.after_date is not None:
            assert WINDOW_FROM_DAYS <= (change.after_date - change.date).days <= WINDOW_TO_DAYS
        if change.before_date is not None and change.after_date is not None:
            before, after = by_day.loc[change.before_date], by_day.loc[change.after_date]
            assert change.mrss_change == after["mrss"] - before["mrss"]
            moved = {c for c in SITE_CODES if abs(after[c] - before[c]) >= SITE_MOVE}
            assert {m.site for m in change.moved} == moved
            assert change.sentence.startswith("After ") and change.date.isoformat() in change.sentence
        else:
            assert change.moved == () and change.mrss_change is None
    moved = treatment_changes(*_shifted(visits, meds, shots, shift))
    assert [(c.date - timedelta(days=shift), c.kind, c.mrss_change, c.moved) for c in moved] == [
        (c.date, c.kind, c.mrss_change, c.moved) for c in changes]


def _shifted(visits, meds, shots, shift):
    delta = pd.Timedelta(days=shift)
    visits = visits.assign(visit_date=visits["visit_date"] + delta)
    meds = meds.assign(start_date=meds["start_date"] + delta, end_date=meds["end_date"] + delta)
    shots = shots.assign(date=shots["date"] + delta)
    return visits, meds, shots


def test_scores_that_are_means_of_raters():
    sites = dict.fromkeys(SITE_CODES, 1.5)
    visits = visits_frame([(date(2023, 1, 1), sites), (date(2023, 5, 1), dict(sites, face=0.5, chest=1.0))])
    meds = medications_frame(("imatinib", 400.0, "mg", "daily", "oral", "2023-01-05", None, ""))
    (change,) = treatment_changes(visits, meds, None)
    assert [m.site for m in change.moved] == ["face"] and np.isclose(change.mrss_change, -1.5)
