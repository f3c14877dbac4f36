"""Site heat map, per-site trajectories and the "sites that moved" picture: what they draw."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.frames import EVENT_COLUMNS, VISIT_COLUMNS
from charts import palette, patient
from charts.time_axis import chart_window, make_time_axis
from models.catalog import SITE_CODES, SITES, SITES_BY_CODE
from tests.unit import chart_spec_cases as cases

DATES = ["2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"]
INJECTED = ("hand_r", "hand_l", "fingers_r", "fingers_l")


def visits() -> pd.DataFrame:
    rows = []
    for i, date in enumerate(DATES):
        rec = {"patient_id": "N1", "visit_date": pd.Timestamp(date), "n_raters": 1}
        rec.update({c: float(max(0, 3 - i)) for c in SITE_CODES})
        rec["abdomen"] = np.nan if i == 1 else 1.0
        rec["face"] = 0.5
        rec["mrss"] = np.nan
        rows.append(rec)
    frame = pd.DataFrame(rows, columns=VISIT_COLUMNS)
    frame["visit_date"] = frame["visit_date"].astype("datetime64[us]")
    return frame


def events() -> pd.DataFrame:
    return cases.events_frame(
        cases.event("2022-04-01", "steroid_injection", sites=";".join(INJECTED)),
        cases.event("2022-07-15", "steroid_injection", sites="leg_r"),
        cases.event("2022-02-01", "procedure", "Biopsy"),
    )


def axis():
    return make_time_axis(chart_window(visits=visits(), events=events()))[0]


def heatmap(**kwargs) -> dict:
    return patient.site_heatmap(visits(), events(), time_axis=axis(), **kwargs)


def test_heatmap_rows_in_catalogue_order_one_cell_per_visit_and_site():
    view, rows = cases.one(heatmap(), "heatmap_cells")
    expected = [s.display for s in SITES]
    assert view["encoding"]["y"]["sort"] == expected == view["encoding"]["y"]["scale"]["domain"]
    assert expected[7] == "Dorsum of hand (R)"
    assert len(rows) == len(DATES) * len(SITE_CODES)
    assert cases.filters(view) == ["isValid(datum.score)"]  # a site not scored goes to the grey layer


def test_heatmap_colour_is_the_sequential_score_scale_with_its_words_above_the_plot():
    color = cases.one(heatmap(), "heatmap_cells")[0]["encoding"]["color"]
    assert color["field"] == "score" and color["scale"]["domain"] == [0, 1, 2, 3]
    assert color["scale"]["range"] == list(palette.SCORE_COLORS)
    assert color["legend"]["orient"] == "top" and "severe" in color["legend"]["labelExpr"]


def test_missing_scores_are_drawn_grey():
    view, rows = cases.one(heatmap(), "heatmap_missing")
    assert cases.filters(view) == ["!isValid(datum.score)"] and view["mark"]["color"] == palette.MISSING
    assert [(r["site"], r["date_text"]) for r in rows if r["score"] is None] == [("abdomen", "2022-04-01")]


def test_cell_numbers_show_only_where_the_drawn_cell_has_room_for_them():
    view, rows = cases.one(heatmap(), "heatmap_text")
    assert view["encoding"]["opacity"]["condition"]["test"] == "datum.frac * width >= datum.need"
    face = next(r for r in rows if r["site"] == "face")
    assert face["text"] == "0.5" and face["need"] > next(r for r in rows if r["site"] == "chest")["need"]
    fixed = patient.site_heatmap(visits(), events(), time_axis=axis(), width=300)
    assert "datum.frac * 300 >=" in cases.one(fixed, "heatmap_text")[0]["encoding"]["opacity"]["condition"]["test"]


def test_injection_markers_on_exactly_the_injected_sites_beside_the_numbers():
    spec = heatmap()
    view, rows = cases.one(spec, "injection_markers")
    pairs = {(r["site_label"], pd.Timestamp(r["x"])) for r in rows}
    expected = {(SITES_BY_CODE[c].display, pd.Timestamp("2022-04-01")) for c in INJECTED}
    expected.add((SITES_BY_CODE["leg_r"].display, pd.Timestamp("2022-07-15")))
    assert pairs == expected and len(rows) == len(expected)
    text = cases.one(spec, "heatmap_text")[0]
    assert view["mark"]["yOffset"] < 0 < text["mark"]["dy"]  # the marker above, the number below: never over it
    assert view["mark"]["color"] == palette.EVENT_KIND_COLORS["steroid_injection"]


def test_treatment_changes_are_marked_above_the_heatmap_with_what_followed():
    axis_ = cases.time_axis()
    spec = patient.site_heatmap(cases.visits(), cases.events(), changes=cases.changes(), time_axis=axis_)
    view, rows = cases.one(spec, "treatment_ticks")
    assert [r["label"] for r in rows] == ["start of imatinib 200 mg", "imatinib 200 → 400 mg"]
    assert view["encoding"]["y"] == {"value": 0} and view["mark"]["yOffset"] < 0
    assert rows[1]["followed"].startswith("mRSS 28 → 20 (−8)")


def test_heatmap_in_days_mode():
    days = make_time_axis(chart_window(visits=visits(), events=events()), axis="days",
                          anchor_date=pd.Timestamp("2022-04-01"))[0]
    spec = patient.site_heatmap(visits(), events(), time_axis=days)
    assert {r["x"] for r in cases.one(spec, "injection_markers")[1]} == {0.0, 105.0}
    assert sorted({r["x"] for r in cases.one(spec, "heatmap_cells")[1]}) == [-90.0, 0.0, 91.0, 183.0]
    assert cases.one(spec, "day_zero")


def test_heatmap_cells_stay_inside_the_window():
    window = (pd.Timestamp("2022-02-01"), pd.Timestamp("2022-09-01"))
    spec = patient.site_heatmap(visits(), events(), time_axis=make_time_axis(window)[0])
    rows = cases.one(spec, "heatmap_cells")[1]
    assert min(pd.Timestamp(r["x_left"]) for r in rows) >= window[0]
    assert max(pd.Timestamp(r["x2"]) for r in rows) <= window[1]
    assert {r["date_text"] for r in rows} == {"2022-04-01", "2022-07-01"}


def test_empty_heatmap_does_not_raise():
    spec = patient.site_heatmap(cases.empty(VISIT_COLUMNS), cases.empty(EVENT_COLUMNS))
    assert spec["title"]["text"].startswith("No site scores")


def test_site_trajectory_draws_one_site_with_its_injections():
    spec = patient.site_trajectory("hand_r", visits(), events(), time_axis=axis())
    assert spec["title"]["text"] == SITES_BY_CODE["hand_r"].display
    view, rows = cases.one(spec, "site_scores")
    assert [r["score"] for r in rows] == [3.0, 2.0, 1.0, 0.0]
    assert view["encoding"]["y"]["axis"]["values"] == [0, 1, 2, 3]
    assert [r["date_text"] for r in cases.one(spec, "site_injections")[1]] == ["2022-04-01"]
    assert "width" not in spec  # fills its column on screen


def test_site_trajectories_picture_one_panel_per_site_in_columns():
    spec = patient.site_trajectories(visits(), events(), sites=["hand_r", "leg_r", "thigh_l"], time_axis=axis())
    assert [p["title"]["text"] for p in spec["concat"]] == [SITES_BY_CODE[c].display for c in
                                                            ("hand_r", "leg_r", "thigh_l")]
    assert [[r["date_text"] for r in rows] for _, rows in cases.named(spec, "site_injections")] == [
        ["2022-04-01"], ["2022-07-15"], []]
    assert spec["columns"] == 2 and all(isinstance(p["width"], int) for p in spec["concat"])


def test_sites_that_moved_draws_the_chosen_sites_one_colour_each_the_side_by_dash():
    spec = patient.sites_that_moved(cases.visits(), ["fingers_l", "hand_r"], events=cases.events(),
                                    changes=cases.changes(), time_axis=cases.time_axis())
    view, rows = cases.one(spec, "moved_lines")
    assert {r["site"] for r in rows} == {"hand_r", "fingers_l"}
    assert view["encoding"]["color"]["scale"]["domain"] == ["Dorsum of hand", "Fingers"]  # catalogue order
    assert view["encoding"]["strokeDash"]["scale"]["domain"] == ["R", "L"]
    widths = view["encoding"]["strokeWidth"]["scale"]["range"]
    assert widths[0] > widths[1]  # equal scores: the first line shows round the second
    assert cases.named(spec, "event_rules") and cases.named(spec, "event_markers")
    hand = sorted((r["date_text"], r["score"]) for r in rows if r["site"] == "hand_r")
    assert hand == [("2023-01-01", 2.0), ("2023-05-10", 2.0), ("2023-11-01", 1.0)]


def test_an_incomplete_visit_is_drawn_with_its_scored_sites_and_says_so():
    """A visit of site_visit_scores without an mRSS (all its assessments incomplete): its column is drawn, the
    unscored site grey, the tooltip and the subtitle say it is incomplete (it used to be a blank gap)."""
    visits = cases.visits()
    extra = visits.iloc[[1]].copy()
    extra["visit_date"] = pd.Timestamp("2023-08-01")
    extra["n_raters"], extra["mrss"], extra["foot_l"] = 0, np.nan, np.nan
    visits = pd.concat([visits, extra]).sort_values("visit_date").reset_index(drop=True)
    spec = patient.site_heatmap(visits, time_axis=cases.time_axis())
    cells = [r for r in cases.all_rows(spec, "heatmap_cells") if r["date_text"].startswith("2023-08-01")]
    assert len(cells) == 17 and [r["site"] for r in cells if r["score"] is None] == ["foot_l"]  # grey
    assert {r["date_text"] for r in cells} == {"2023-08-01 (incomplete: some sites not scored, no mRSS)"}
    assert "incomplete assessment" in spec["title"]["subtitle"][0]
    assert "incomplete" not in patient.site_heatmap(cases.visits(), time_axis=cases.time_axis())["title"]["subtitle"][0]
