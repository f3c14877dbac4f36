"""Site heat map and site trajectories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.frames import EVENT_COLUMNS, VISIT_COLUMNS
from charts import palette, patient
from charts import spec_walk as sw
from models.catalog import SITE_CODES, SITES, SITES_BY_CODE

DATES = ["2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"]
INJECTED = ("hand_r", "hand_l", "fingers_r", "fingers_l")


def visits() -> pd.DataFrame:
    rows = []
    for i, date in enumerate(DATES):
        rec = {"patient_id": "N1", "visit_date": pd.Timestamp(date), "n_raters": 1}
        rec.update({c: float(max(0, 3 - i)) for c in SITE_CODES})
        rec["abdomen"] = np.nan if i == 1 else 1.0
        rec["mrss"] = np.nan
        rows.append(rec)
    frame = pd.DataFrame(rows, columns=VISIT_COLUMNS)
    frame["visit_date"] = frame["visit_date"].astype("datetime64[us]")
    return frame


def events() -> pd.DataFrame:
    rows = [
        (
            "N1",
            pd.Timestamp("2022-04-01"),
            "steroid_injection",
            "",
            ";".join(INJECTED),
            "triamcinolone acetonide",
            40.0,
            "mg",
            pd.NA,
            pd.NA,
            pd.NaT,
        ),
        (
            "N1",
            pd.Timestamp("2022-07-15"),
            "steroid_injection",
            "",
            "leg_r",
            "triamcinolone acetonide",
            20.0,
            "mg",
            pd.NA,
            pd.NA,
            pd.NaT,
        ),
        ("N1", pd.Timestamp("2022-02-01"), "procedure", "Biopsy", "", "", np.nan, "", pd.NA, pd.NA, pd.NaT),
    ]
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["grade"] = frame["grade"].astype("Int64")
    frame["serious"] = frame["serious"].astype("boolean")
    for col in ("date", "end_date"):
        frame[col] = frame[col].astype("datetime64[us]")
    return frame


def test_heatmap_rows_in_catalogue_order():
    spec = patient.site_heatmap(visits(), events()).to_dict()
    view, rows = sw.one(spec, "heatmap_cells")
    expected = [s.display for s in SITES]
    assert view["encoding"]["y"]["sort"] == expected
    assert view["encoding"]["y"]["scale"]["domain"] == expected
    assert expected[7] == "Dorsum of hand (R)"
    assert len(rows) == len(DATES) * len(SITE_CODES)


def test_heatmap_colour_is_the_sequential_score_scale_with_legend():
    spec = patient.site_heatmap(visits(), events()).to_dict()
    color = sw.one(spec, "heatmap_cells")[0]["encoding"]["color"]
    assert color["field"] == "score"
    assert color["scale"]["domain"] == [0, 1, 2, 3]
    assert color["scale"]["range"] == list(palette.SCORE_COLORS)
    assert color["legend"]["values"] == [0, 1, 2, 3]
    assert "severe" in color["legend"]["labelExpr"]


def test_missing_scores_are_drawn_grey():
    spec = patient.site_heatmap(visits(), events()).to_dict()
    view, rows = sw.one(spec, "heatmap_missing")
    assert sw.filters(view) == ["!isValid(datum.score)"]
    assert view["mark"]["color"] == palette.MISSING
    missing = [r for r in rows if r["score"] is None]
    assert [(r["site"], r["date_text"]) for r in missing] == [("abdomen", "2022-04-01")]


def test_injection_markers_on_exactly_the_injected_cells():
    spec = patient.site_heatmap(visits(), events()).to_dict()
    view, rows = sw.one(spec, "injection_markers")
    pairs = {(r["site_label"], pd.Timestamp(r["x"])) for r in rows}
    expected = {(SITES_BY_CODE[c].display, pd.Timestamp("2022-04-01")) for c in INJECTED}
    expected.add((SITES_BY_CODE["leg_r"].display, pd.Timestamp("2022-07-15")))
    assert pairs == expected
    assert len(rows) == len(expected)
    assert view["encoding"]["y"]["field"] == "site_label"
    assert view["encoding"]["shape"]["scale"]["range"] == ["triangle-down"]


def test_heatmap_in_days_mode():
    anchor = pd.Timestamp("2022-04-01")
    spec = patient.site_heatmap(visits(), events(), axis="days", anchor_date=anchor).to_dict()
    _, rows = sw.one(spec, "injection_markers")
    assert {r["x"] for r in rows} == {0.0, 105.0}
    cells = sw.one(spec, "heatmap_cells")[1]
    assert sorted({r["x"] for r in cells}) == [-90.0, 0.0, 91.0, 183.0]


def test_heatmap_cells_stay_inside_the_shared_domain():
    dom = (pd.Timestamp("2022-02-01"), pd.Timestamp("2022-09-01"))
    spec = patient.site_heatmap(visits(), events(), x_domain=dom).to_dict()
    _, rows = sw.one(spec, "heatmap_cells")
    assert min(pd.Timestamp(r["x_left"]) for r in rows) >= dom[0]
    assert max(pd.Timestamp(r["x2"]) for r in rows) <= dom[1]


def test_empty_heatmap_does_not_raise():
    empty_visits = pd.DataFrame({c: pd.Series(dtype="object") for c in VISIT_COLUMNS})
    spec = patient.site_heatmap(empty_visits, None).to_dict()
    assert spec["title"]["text"].startswith("No site scores")


def test_site_trajectories_one_panel_per_site_with_its_injections():
    spec = patient.site_trajectories(visits(), events(), sites=["hand_r", "leg_r", "thigh_l"]).to_dict()
    assert len(spec["concat"]) == 3
    assert [p["title"]["text"] for p in spec["concat"]] == [
        SITES_BY_CODE[c].display for c in ("hand_r", "leg_r", "thigh_l")
    ]
    injections = [[r["date_text"] for r in rows] for _, rows in sw.named(spec, "site_injections")]
    assert injections == [["2022-04-01"], ["2022-07-15"], []]
    scores = sw.named(spec, "site_scores")
    assert scores[0][0]["encoding"]["y"]["axis"]["values"] == [0, 1, 2, 3]
    assert [r["score"] for r in scores[0][1]] == [3.0, 2.0, 1.0, 0.0]
    assert spec["resolve"]["scale"]["x"] == "shared"


def test_site_trajectories_default_to_injected_sites_first():
    spec = patient.site_trajectories(visits(), events()).to_dict()
    titles = [p["title"]["text"] for p in spec["concat"]]
    injected_first = [SITES_BY_CODE[c].display for c in SITE_CODES if c in (*INJECTED, "leg_r")]
    assert titles[: len(injected_first)] == injected_first
