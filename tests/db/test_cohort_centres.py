"""The cohort reads by centre (issue 16) on SQLite and PostgreSQL: every read keeps the engine's scope (one centre,
two, all), the centre filter, the per-centre summary checked by hand, the data-quality tables grouped by centre,
and on PostgreSQL the bulk read (COPY) under the row-level security of a non-superuser role."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text

from analysis.cohort import summarise_cohort, summary_by_centre, summary_table
from analysis.windows import summarise_windows
from db.centres import add_centre, centre_keys
from db.cohort import (
    CohortFilter,
    cohort_choices,
    cohort_endpoints,
    cohort_quality,
    cohort_site_changes,
    cohort_summary,
)
from db.engine import write_session
from db.frames import INT, read_bulk
from db.patients import create_patient
from db.scope import scoped
from db.treatments import start_medication
from db.visits import record_assessment
from models import Assessment
from models.catalog import SITE_CODES
from models.errors import InvalidValue
from models.scope import Scope
from tests import factories

LOWER_EIGHT = {code: factories.FULL_SCORES[code] - 1 for code in SITE_CODES[:8]}  # 31 - 8 = 23


def total(pid, day, value, rater="dr a"):
    return factories.total_only(patient_id=pid, visit_date=day, total=value, rater=rater)


@pytest.fixture
def centres(engine):
    """Centres A, B, C (MAIN stays empty):
    A: A1 31 -> 23 at 3 months (full site scores, -8, improved), A2 30 -> 27 (-3; the rater changes), imatinib;
    B: B1 10 -> 16 (+6, progressed) and an incomplete assessment, B2 without visits (both lcSSc);
    C: C1 40 -> 30 (-10, improved) -> 28 at day 517 (misses the 6 and 12-month windows), an incomplete assessment,
       methotrexate."""
    with write_session(engine) as session:
        for code in ("A", "B", "C"):
            add_centre(session=session, data={"code": code, "name": f"Centre {code}"}, actor="admin")
    keys = centre_keys(engine, ["A", "B", "C"])
    with write_session(engine) as session:
        for pid, code, diagnosis in (("A1", "A", "dcSSc"), ("A2", "A", "dcSSc"), ("B1", "B", "lcSSc"),
                                     ("B2", "B", "lcSSc"), ("C1", "C", "dcSSc")):
            create_patient(session=session, actor="test", data=factories.patient(
                patient_id=pid, diagnosis=diagnosis, centre_key=keys[code]))
        for data in (factories.assessment(patient_id="A1", visit_date="2020-01-01"),
                     factories.assessment(patient_id="A1", visit_date="2020-04-01", **LOWER_EIGHT),
                     total("A2", "2020-01-01", 30), total("A2", "2020-04-01", 27, rater="dr b"),
                     total("B1", "2020-01-01", 10), total("B1", "2020-04-01", 16),
                     factories.assessment(patient_id="B1", visit_date="2020-02-01", face=None),
                     total("C1", "2020-01-01", 40), total("C1", "2020-04-01", 30), total("C1", "2021-06-01", 28),
                     factories.assessment(patient_id="C1", visit_date="2020-03-01", chest=None)):
            record_assessment(session=session, data=data, actor="test")
        start_medication(session=session, data=factories.medication(patient_id="A1", start_date="2019-12-01"),
                         actor="test")
        start_medication(session=session, actor="test", data=factories.medication(
            patient_id="C1", drug="methotrexate", dose=15, frequency="weekly", start_date="2019-12-01"))
    return engine, keys


def scope(keys: dict[str, int], *codes: str) -> Scope:
    return Scope(frozenset(keys[c] for c in codes), frozenset(), tuple(sorted(codes)))


SCOPES = {"A": ["A1", "A2"], "A,B": ["A1", "A2", "B1", "B2"], "all": ["A1", "A2", "B1", "B2", "C1"]}


@pytest.mark.parametrize("codes", list(SCOPES))
def test_every_read_keeps_the_scope(centres, codes):
    engine, keys = centres
    bind = engine if codes == "all" else scoped(engine, scope(keys, *codes.split(",")))
    expected = SCOPES[codes]
    result = cohort_summary(bind)
    assert result.patient_ids == expected
    assert sorted(result.centres.index) == expected
    quality = cohort_quality(bind, result)
    for name in ("incomplete", "rater_changes", "site_jumps", "missed_windows", "implausible"):
        assert set(getattr(quality, name)["patient_id"]) <= set(expected), name
    assert cohort_site_changes(bind, result, 3)["n"].max() == (1 if "A1" in expected else 0)  # A1 has sites
    endpoints = cohort_endpoints(bind, result, 3)
    assert endpoints.response.n == len(expected)
    assert set(endpoints.response.not_computable["patient_id"]) <= set(expected)
    # visit criteria: the members' keys go in as a parameter, still kept to the scope
    followed = cohort_summary(bind, CohortFilter(min_follow_up_months=3))
    assert followed.patient_ids == [p for p in expected if p != "B2"]
    assert set(cohort_quality(bind, followed).incomplete["patient_id"]) == {"B1", "C1"} & set(expected)
    assert cohort_site_changes(bind, followed, 3)["n"].max() == (1 if "A1" in expected else 0)


def test_a_result_read_for_every_centre_gives_a_scoped_engine_only_its_rows(centres):
    """The key list of a result made by another engine (a bug in a page) is still filtered by the scope."""
    engine, keys = centres
    everyone = cohort_summary(engine, CohortFilter(min_follow_up_months=3))
    only_b = scoped(engine, scope(keys, "B"))
    assert cohort_quality(only_b, everyone).incomplete["patient_id"].tolist() == ["B1"]
    assert cohort_site_changes(only_b, everyone, 3)["n"].max() == 0  # A1's site scores are not read


def test_choices_are_the_scopes(centres):
    engine, keys = centres
    only_a = cohort_choices(scoped(engine, scope(keys, "A")))
    assert only_a["centres"] == {"A": "Centre A"}
    assert only_a["diagnoses"] == ["dcSSc"] and list(only_a["drugs"]) == ["imatinib"]
    assert (only_a["first_visit"], only_a["last_visit"]) == (date(2020, 1, 1), date(2020, 4, 1))
    b_c = cohort_choices(scoped(engine, scope(keys, "B", "C")))
    assert b_c["centres"] == {"B": "Centre B", "C": "Centre C"}
    assert b_c["diagnoses"] == ["dcSSc", "lcSSc"] and list(b_c["drugs"]) == ["methotrexate"]
    assert b_c["last_visit"] == date(2021, 6, 1)
    everything = cohort_choices(engine)
    assert list(everything["centres"]) == ["A", "B", "C", "MAIN"]
    assert list(everything["drugs"]) == ["imatinib", "methotrexate"]


def test_centre_filter(centres):
    engine, keys = centres
    assert cohort_summary(engine, CohortFilter(centres=("B",))).patient_ids == ["B1", "B2"]
    both = cohort_summary(engine, CohortFilter(centres=("C", "A"), min_follow_up_months=3))
    assert both.patient_ids == ["A1", "A2", "C1"] and both.centre_codes == ["A", "C"]
    assert cohort_quality(engine, both).incomplete["patient_id"].tolist() == ["C1"]
    assert "centres C, A" in CohortFilter(centres=("C", "A")).describe()
    two = scoped(engine, scope(keys, "A", "B"))
    assert cohort_summary(two, CohortFilter(centres=("A",), diagnoses=("dcSSc",))).patient_ids == ["A1", "A2"]
    for bind, codes, said in ((two, ("C",), "no centre C among your centres (A, B)"),
                              (engine, ("ZZ",), "no centre ZZ among the centres (A, B, C, MAIN)"),
                              (engine, ("no space",), "'no space' is not a centre code")):
        with pytest.raises(InvalidValue) as refused:
            cohort_summary(bind, CohortFilter(centres=codes))
        assert refused.value.field == "centres" and said in refused.value.reason


def test_summary_per_centre_by_hand(centres):
    engine, _ = centres
    result = cohort_summary(engine)
    table = result.by_centre.set_index(["centre", "month"])
    assert list(dict.fromkeys(result.by_centre["centre"])) == ["A", "B", "C"]
    assert result.by_centre.groupby("centre")["patients"].first().to_dict() == {"A": 2, "B": 2, "C": 1}
    a0, a3 = table.loc[("A", 0)], table.loc[("A", 3)]
    assert (a0["n"], a0["mean"], a0["median"]) == (2, 30.5, 30.5)  # 31 and 30
    assert a0["sd"] == pytest.approx(math.sqrt(0.5))
    assert (a3["n"], a3["mean"], a3["median"]) == (2, -5.5, -5.5)  # -8 and -3
    assert a3["sd"] == pytest.approx(math.sqrt(12.5))
    assert (a3["n_improved"], a3["pct_improved"], a3["n_progressed"]) == (1, 50.0, 0)  # -8 of 31 is 26 %
    b0, b3 = table.loc[("B", 0)], table.loc[("B", 3)]
    assert (b0["n"], b0["mean"]) == (1, 10.0) and pd.isna(b0["sd"])  # B2 has no visit
    assert (b3["n"], b3["mean"], b3["n_progressed"], b3["pct_progressed"]) == (1, 6.0, 1, 100.0)
    c3, c12 = table.loc[("C", 3)], table.loc[("C", 12)]
    assert (c3["n"], c3["mean"], c3["n_improved"]) == (1, -10.0, 1)
    assert c12["n"] == 0 and pd.isna(c12["mean"])  # day 517 lies outside 275-455
    whole = result.table.set_index("month")
    assert (whole.loc[0, "n"], whole.loc[0, "mean"]) == (4, 27.75)  # 31, 30, 10, 40
    assert whole.loc[3, "n"] == table.xs(3, level="month")["n"].sum() == 4
    for code in ("A", "B", "C"):  # each block is the table of a cohort of that centre alone
        alone = cohort_summary(engine, CohortFilter(centres=(code,)))
        pd.testing.assert_frame_equal(result.by_centre[result.by_centre["centre"] == code]
                                      .drop(columns=["centre", "patients"]).reset_index(drop=True), alone.table)
        # one centre takes its block from the whole table: the same as the grouped computation
        pd.testing.assert_frame_equal(alone.by_centre, summary_by_centre(alone.summary, alone.window_visits,
                                                                         alone.centres, alone.months))
    assert cohort_summary(engine, CohortFilter(diagnoses=("morphea",))).by_centre.empty


def test_per_centre_blocks_equal_each_centres_own_table():
    """The grouped computation of summary_by_centre against summary_table of each centre's patients alone, on a
    random cohort (pure: no database); centre D holds only patients without a visit."""
    rng = np.random.default_rng(16)
    ids = [f"P{i:03d}" for i in range(80)]
    rows = []
    for pid in ids[:-5]:
        day = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        for _ in range(int(rng.integers(1, 7))):
            rows.append({"patient_id": pid, "visit_date": day, "total": float(rng.integers(0, 52))})
            day += pd.Timedelta(days=int(rng.integers(30, 400)))
    months = (3, 6, 12, 24)
    frames = summarise_cohort(pd.DataFrame({"patient_id": ids, "diagnosis": "dcSSc"}), pd.DataFrame(rows),
                              months=months)
    centres = pd.Series([*rng.choice(["A", "B", "C"], size=75), *["D"] * 5], index=ids)
    got = summary_by_centre(frames.summary, frames.window_visits, centres, months)
    assert list(dict.fromkeys(got["centre"])) == ["A", "B", "C", "D"]
    assert got.groupby("centre")["n"].first().loc["D"] == 0
    for code, block in got.groupby("centre"):
        members = centres.index[centres == code]
        alone = summary_table(frames.summary[frames.summary["patient_id"].isin(members)],
                              summarise_windows(frames.window_visits[frames.window_visits["patient_id"].isin(members)],
                                                months))
        assert (block["patients"] == len(members)).all()
        pd.testing.assert_frame_equal(block.drop(columns=["centre", "patients"]).reset_index(drop=True), alone)
    empty = summary_by_centre(frames.summary.iloc[0:0], frames.window_visits.iloc[0:0], centres, months)
    assert empty.empty and list(empty.columns) == list(got.columns)


def test_quality_grouped_by_centre(centres):
    engine, keys = centres
    quality = cohort_quality(engine, cohort_summary(engine))
    assert quality.incomplete[["centre", "patient_id"]].values.tolist() == [["B", "B1"], ["C", "C1"]]
    assert quality.rater_changes[["centre", "patient_id"]].values.tolist() == [["A", "A2"]]
    assert quality.missed_windows[["centre", "patient_id", "month"]].values.tolist() == [["C", "C1", 6],
                                                                                           ["C", "C1", 12]]
    counts = quality.by_centre()
    assert counts.index.tolist() == ["A", "B", "C"]
    assert counts.to_dict("index") == {
        "A": {"incomplete": 0, "rater_changes": 1, "site_jumps": 0, "missed_windows": 0, "implausible": 0,
              "total": 1},
        "B": {"incomplete": 1, "rater_changes": 0, "site_jumps": 0, "missed_windows": 0, "implausible": 0,
              "total": 1},
        "C": {"incomplete": 1, "rater_changes": 0, "site_jumps": 0, "missed_windows": 2, "implausible": 0,
              "total": 3}}
    only_c = cohort_quality(scoped(engine, scope(keys, "C")), cohort_summary(scoped(engine, scope(keys, "C"))))
    assert only_c.by_centre().index.tolist() == ["C"] and only_c.counts()["missed_windows"] == 2


def test_the_bulk_read_runs_under_the_scopes_row_level_security(app_role):
    """read_bulk's COPY goes around SQLAlchemy's execute: it must still BEGIN through the engine, which sets the
    scope the policies read (without it the policies see no scope and return nothing)."""
    _, engine, owner = app_role  # a login role with the app's grants, subject to the policies
    with write_session(owner) as session:
        for code in ("A", "B"):
            add_centre(session=session, data={"code": code, "name": code}, actor="admin")
    keys = centre_keys(owner, ["A", "B"])
    with write_session(owner) as session:
        for pid, code in (("A1", "A"), ("B1", "B")):
            create_patient(session=session, actor="t", data=factories.patient(patient_id=pid, centre_key=keys[code]))
            record_assessment(session=session, actor="t", data=total(pid, "2020-01-01", 20))
    with owner.connect() as connection:
        a1 = connection.execute(text("SELECT patient_key FROM patient WHERE patient_id = 'A1'")).scalar_one()
    unfiltered = select(Assessment.patient_key)  # no scope condition: only the policies filter
    only_a = scoped(engine, scope(keys, "A"))
    assert read_bulk(only_a, unfiltered, {"key": INT})["key"].tolist() == [a1]
    assert len(read_bulk(engine, unfiltered, {"key": INT})) == 2  # an engine of every centre
    assert cohort_summary(only_a).patient_ids == ["A1"]
    assert cohort_summary(scoped(engine, scope(keys, "B"))).table.loc[0, "mean"] == 20.0
