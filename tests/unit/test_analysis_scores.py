"""Rater totals and visit scores, hand-computed (CLINICAL.md, Definitions)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import (
    assessment_totals,
    is_incomplete,
    rater_total,
    visit_scores,
)
from analysis.frames import ASSESSMENT_COLUMNS, VISIT_COLUMNS
from models.catalog import SITE_CODES


def sites_of(*scores):
    """A site mapping from 17 scores in catalogue order (None = not scored)."""
    assert len(scores) == len(SITE_CODES)
    return dict(zip(SITE_CODES, scores, strict=True))


def assessment(patient_id, visit_date, rater="", sites=None, total=None):
    """One ASSESSMENT_COLUMNS row; `sites` a mapping (or None), `total` the recorded total if total-only."""
    sites = sites or {}
    row = {"patient_id": patient_id, "visit_date": pd.Timestamp(visit_date), "rater": rater}
    row.update({code: (np.nan if sites.get(code) is None else float(sites[code])) for code in SITE_CODES})
    stored = rater_total(sites, total)
    row["total"] = np.nan if stored is None else stored
    row["incomplete"] = is_incomplete(sites)
    return row


def frame(*rows):
    out = pd.DataFrame(list(rows), columns=ASSESSMENT_COLUMNS)
    out["patient_id"] = out["patient_id"].astype("str")
    out["rater"] = out["rater"].astype("str")
    return out


ALL_ONES = sites_of(*[1] * 17)


# --- rater_total / is_incomplete ------------------------------------------------------------------


def test_rater_total_sums_all_17_sites():
    # 1+2+2+2+2+2+2+3+3+2+2+1+1+2+2+1+1 = 31 (EX-01's first visit)
    assert rater_total(sites_of(1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1)) == 31


def test_rater_total_extremes():
    assert rater_total(sites_of(*[0] * 17)) == 0
    assert rater_total(sites_of(*[3] * 17)) == 51  # 17 × 3


def test_rater_total_ignores_a_recorded_total_when_all_sites_are_scored():
    # the model layer rejects an inconsistent total; here the sites win: 17 × 1 = 17
    assert rater_total(ALL_ONES, 20) == 17


def test_total_only_assessment_keeps_its_recorded_total():
    assert rater_total({}, 27) == 27
    assert rater_total(sites_of(*[None] * 17), 12.5) == 12.5  # decimals allowed for historical means
    assert rater_total({code: np.nan for code in SITE_CODES}, 4) == 4


def test_no_sites_and_no_total_has_no_total():
    assert rater_total({}) is None
    assert rater_total({}, float("nan")) is None


def test_missing_sites_give_no_total_even_with_a_recorded_total():
    partial = sites_of(*[1] * 15, None, None)
    assert rater_total(partial) is None
    assert rater_total(partial, 17) is None


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        (sites_of(*[2] * 17), False),  # complete
        ({}, False),  # total-only
        (sites_of(*[0] * 15, None, None), True),  # EX-03: feet not scored
        ({"face": 1}, True),  # one of 17
        (sites_of(*[1] * 16, float("nan")), True),  # NaN counts as not scored
    ],
)
def test_is_incomplete(sites, expected):
    assert is_incomplete(sites) is expected


def test_assessment_totals_recomputes_the_rule_row_by_row():
    rows = frame(
        assessment("P", "2020-01-01", sites=ALL_ONES),
        assessment("P", "2020-02-01", total=9),
        assessment("P", "2020-03-01", sites={"face": 2}),
    )
    rows.loc[0, "total"] = 99.0  # a stale stored value: the sum (17) wins
    assert assessment_totals(rows).tolist()[:2] == [17.0, 9.0]
    assert math.isnan(assessment_totals(rows).iloc[2])


# --- visit_scores ----------------------------------------------------------------------------------


def test_two_raters_24_and_27_give_25_5():
    visits = visit_scores(
        frame(
            assessment("P", "2018-07-09", "dr a", total=24),
            assessment("P", "2018-07-09", "dr b", total=27),
        )
    )
    assert list(visits.columns) == VISIT_COLUMNS
    assert len(visits) == 1
    assert visits.loc[0, "n_raters"] == 2
    assert visits.loc[0, "mrss"] == 25.5  # (24 + 27) / 2
    assert visits[list(SITE_CODES)].isna().all(axis=None)  # total-only: no site means


def test_site_means_across_raters_and_total_only_rows():
    a = sites_of(*[1] * 17)  # total 17
    b = sites_of(*[2] * 16, 0)  # total 32, foot_l scored 0
    visits = visit_scores(
        frame(
            assessment("P", "2020-01-01", "x", sites=a),
            assessment("P", "2020-01-01", "y", sites=b),
            assessment("P", "2020-01-01", "z", total=20),
        )
    )
    row = visits.iloc[0]
    assert row["n_raters"] == 3
    assert row["mrss"] == pytest.approx((17 + 32 + 20) / 3)  # 69 / 3 = 23
    assert row["face"] == 1.5  # (1 + 2) / 2: the total-only rater scored no site
    assert row["foot_l"] == 0.5  # (1 + 0) / 2


def test_incomplete_assessment_scores_sites_but_not_the_total():
    # a complete rater (sum 17) and an incomplete one scoring only the face as 3
    visits = visit_scores(
        frame(
            assessment("P", "2020-01-01", "x", sites=ALL_ONES),
            assessment("P", "2020-01-01", "y", sites={"face": 3}),
        )
    )
    assert visits.loc[0, "n_raters"] == 1
    assert visits.loc[0, "mrss"] == 17
    assert visits.loc[0, "face"] == 2  # (1 + 3) / 2
    assert visits.loc[0, "chest"] == 1


def test_a_date_with_only_incomplete_assessments_is_not_a_visit():
    visits = visit_scores(
        frame(
            assessment("EX-03", "2019-05-05", sites=sites_of(*[0] * 15, None, None)),
            assessment("EX-03", "2019-11-05", total=4),
        )
    )
    assert visits["visit_date"].tolist() == [pd.Timestamp("2019-11-05")]
    assert visits["mrss"].tolist() == [4]


def test_patient_with_no_scores_has_no_visits():
    visits = visit_scores(frame(assessment("P", "2020-01-01", sites={"face": 1})))
    assert visits.empty
    assert list(visits.columns) == VISIT_COLUMNS


def test_empty_assessments():
    visits = visit_scores(frame())
    assert visits.empty and list(visits.columns) == VISIT_COLUMNS


def test_visits_sorted_by_patient_then_date():
    visits = visit_scores(
        frame(
            assessment("B", "2020-03-01", total=3),
            assessment("A", "2020-02-01", total=2),
            assessment("B", "2020-01-01", total=1),
        )
    )
    assert visits["patient_id"].tolist() == ["A", "B", "B"]
    assert visits["mrss"].tolist() == [2, 1, 3]


def test_site_visit_scores_keep_the_scored_sites_of_an_incomplete_visit():
    """DEMO-0006's pattern: a complete visit, then a visit whose only assessment missed the left foot. The heat map
    and site trajectories read site_visit_scores: the incomplete date keeps its 16 sites (n_raters 0, no mRSS);
    visit_scores, behind every mRSS figure, still leaves it out."""
    from analysis.scores import site_visit_scores

    full = [2] * 17  # total 34
    partial = [1] * 16 + [None]
    assessments = frame(assessment("P", "2023-01-01", "A", sites_of(*full)),
                        assessment("P", "2023-03-14", "A", sites_of(*partial)),
                        assessment("P", "2023-06-01", "A", total=20))  # total-only: no site
    scored = visit_scores(assessments)
    sites = site_visit_scores(assessments)
    assert list(scored["visit_date"].dt.strftime("%Y-%m-%d")) == ["2023-01-01", "2023-06-01"]
    assert list(sites["visit_date"].dt.strftime("%Y-%m-%d")) == ["2023-01-01", "2023-03-14", "2023-06-01"]
    middle = sites.iloc[1]
    assert middle["n_raters"] == 0 and math.isnan(middle["mrss"])
    assert [middle[c] for c in SITE_CODES[:16]] == [1.0] * 16 and math.isnan(middle["foot_l"])
    assert list(sites.columns) == VISIT_COLUMNS
    pd.testing.assert_frame_equal(sites[sites["n_raters"] > 0].reset_index(drop=True), scored)
