"""Cohort charts: spaghetti, waterfall, site response bars."""

from __future__ import annotations

import pandas as pd

from charts import cohort, palette
from charts import spec_walk as sw
from models.catalog import RESPONSE_POINTS, SITE_CODES, SITES


def test_spaghetti_layers():
    traj = pd.DataFrame(
        {"patient_id": ["A", "A", "B", "B"], "day": [0, 90, 0, 90], "mrss": [30.0, 25, 20, 21]}
    )
    curve = pd.DataFrame({"day": [0, 90], "mean": [25.0, 23], "ci_low": [20.0, 19], "ci_high": [30.0, 27]})
    spec = cohort.spaghetti(traj, curve, anchor_label="imatinib").to_dict()
    lines, rows = sw.one(spec, "patient_lines")
    assert lines["encoding"]["detail"]["field"] == "patient_id"
    assert any(t["field"] == "patient_id" for t in lines["encoding"]["tooltip"])
    assert len(rows) == 4
    band = sw.one(spec, "ci_band")[0]
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("ci_low", "ci_high")
    assert sw.one(spec, "mean_line")[0]["encoding"]["y"]["field"] == "mean"


def test_waterfall_sorted_coloured_with_reference():
    changes = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C"],
            "change": [-8.0, 7.0, 1.0],
            "category": ["improved", "progressed", "stable"],
        }
    )
    spec = cohort.waterfall(changes, window="12 months").to_dict()
    view, rows = sw.one(spec, "change_bars")
    assert view["encoding"]["x"]["sort"] == ["B", "C", "A"]
    color = view["encoding"]["color"]["scale"]
    assert color["domain"] == ["improved", "stable", "progressed"]
    assert color["range"] == [palette.CATEGORY_COLORS[c] for c in color["domain"]]
    assert sorted(r["y"] for r in sw.one(spec, "response_rules")[1]) == [-RESPONSE_POINTS, RESPONSE_POINTS]
    assert "12 months" in spec["title"]["text"]


def test_site_response_bars_catalogue_order():
    shuffled = list(reversed(SITE_CODES))
    frame = pd.DataFrame({"site": shuffled, "mean_change": [-0.1 * i for i in range(len(shuffled))]})
    spec = cohort.site_response_bars(frame).to_dict()
    view, rows = sw.one(spec, "site_bars")
    assert view["encoding"]["y"]["sort"] == [s.display for s in SITES]
    assert [r["site"] for r in rows] == list(SITE_CODES)


def test_cohort_charts_accept_empty_frames():
    cohort.spaghetti(
        pd.DataFrame(columns=["patient_id", "day", "mrss"]),
        pd.DataFrame(columns=["day", "mean", "ci_low", "ci_high"]),
    ).to_dict()
    cohort.waterfall(pd.DataFrame(columns=["patient_id", "change", "category"])).to_dict()
    cohort.site_response_bars(pd.DataFrame(columns=["site", "mean_change"])).to_dict()
