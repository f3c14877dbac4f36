"""Measure trajectories against the catalogue's normal values."""

from __future__ import annotations

import pandas as pd

from analysis.frames import MEASUREMENT_COLUMNS
from charts import palette, patient
from charts import spec_walk as sw
from models.catalog import MEASURES_BY_CODE


def measurements() -> pd.DataFrame:
    rows = []
    for i, date in enumerate(["2023-01-01", "2023-04-01", "2023-07-01"]):
        date = pd.Timestamp(date)
        rows += [
            ("P1", date, "wrist_flexion", "R", 50.0 + 5 * i, "deg", "Dr Lee"),
            ("P1", date, "wrist_flexion", "L", 45.0 + 5 * i, "deg", ""),
            ("P1", date, "oral_aperture", "", 30.0 + i, "mm", "Dr Lee"),
        ]
    frame = pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS)
    frame["date"] = frame["date"].astype("datetime64[us]")
    return frame


def test_one_panel_per_measure_with_unit_in_the_y_title():
    spec = patient.measure_trajectories(measurements(), measures=["wrist_flexion", "oral_aperture"]).to_dict()
    assert len(spec["concat"]) == 2
    points = sw.named(spec, "measure_points")
    assert [v["encoding"]["y"]["title"] for v, _ in points] == [
        MEASURES_BY_CODE["wrist_flexion"].display,
        MEASURES_BY_CODE["oral_aperture"].display,
    ]
    assert points[0][0]["encoding"]["y"]["title"].endswith("(deg)")


def test_sided_measure_has_right_and_left_series_with_legend():
    spec = patient.measure_trajectories(measurements(), measures=["wrist_flexion"]).to_dict()
    view, rows = sw.one(spec, "measure_points")
    color = view["encoding"]["color"]
    assert color["field"] == "side_name"
    assert color["scale"]["domain"] == ["Right", "Left"]
    assert color["scale"]["range"] == [palette.SIDE_COLORS["R"], palette.SIDE_COLORS["L"]]
    assert color["legend"]["title"] == "Side"
    assert {r["side_name"] for r in rows} == {"Right", "Left"}
    assert {r["rater_name"] for r in rows} == {"Dr Lee", "unspecified"}
    titles = {t["title"] for t in view["encoding"]["tooltip"]}
    assert {"Date", "Side", "Rater"} <= titles


def test_reference_is_a_rule_for_a_point_and_a_band_for_a_range():
    spec = patient.measure_trajectories(measurements(), measures=["wrist_flexion", "oral_aperture"]).to_dict()
    rule, rule_rows = sw.one(spec, "reference_rule")
    assert rule["mark"]["strokeDash"]
    assert rule_rows[0]["lo"] == MEASURES_BY_CODE["wrist_flexion"].reference[0]
    _, band_rows = sw.one(spec, "reference_band")
    assert (band_rows[0]["lo"], band_rows[0]["hi"]) == MEASURES_BY_CODE["oral_aperture"].reference


def test_defaults_and_empty():
    spec = patient.measure_trajectories(measurements()).to_dict()
    assert len(spec["concat"]) == 2  # the recorded ones, catalogue order
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in MEASUREMENT_COLUMNS})
    spec = patient.measure_trajectories(empty).to_dict()
    assert spec["concat"][0]["title"]["text"].startswith("No measurements")
