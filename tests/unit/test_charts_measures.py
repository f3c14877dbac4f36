"""Measure trajectories against the catalogue's normal values."""

from __future__ import annotations

from analysis.frames import MEASUREMENT_COLUMNS
from charts import palette, patient
from models.catalog import MEASURES_BY_CODE
from tests.unit import chart_spec_cases as cases


def test_one_chart_per_measure_with_unit_in_the_y_title():
    spec = patient.measure_trajectories(cases.measurements(), measures=["wrist_flexion", "oral_aperture"])
    assert len(spec["concat"]) == 2
    points = cases.named(spec, "measure_points")
    assert [v["encoding"]["y"]["title"] for v, _ in points] == [
        MEASURES_BY_CODE["wrist_flexion"].display, MEASURES_BY_CODE["oral_aperture"].display]
    assert points[0][0]["encoding"]["y"]["title"].endswith("(deg)")
    assert "width" not in patient.measure_chart("oral_aperture", cases.measurements())  # fills its column


def test_sided_measure_has_right_and_left_series_with_legend():
    view, rows = cases.one(patient.measure_chart("wrist_flexion", cases.measurements()), "measure_points")
    color = view["encoding"]["color"]
    assert color["field"] == "side_name" and color["scale"]["domain"] == ["Right", "Left"]
    assert color["scale"]["range"] == [palette.SIDE_COLORS["R"], palette.SIDE_COLORS["L"]]
    assert color["legend"]["title"] == "Side"
    assert {r["side_name"] for r in rows} == {"Right", "Left"}
    assert {r["rater_name"] for r in rows} == {"Dr Lee", "unspecified"}
    assert {"Date", "Side", "Rater"} <= {t["title"] for t in view["encoding"]["tooltip"]}


def test_reference_is_a_rule_for_a_point_and_a_band_for_a_range():
    spec = patient.measure_trajectories(cases.measurements(), measures=["wrist_flexion", "oral_aperture"])
    rule, rule_rows = cases.one(spec, "reference_rule")
    assert rule["mark"]["strokeDash"]
    assert rule_rows[0]["lo"] == MEASURES_BY_CODE["wrist_flexion"].reference[0]
    _, band_rows = cases.one(spec, "reference_band")
    assert (band_rows[0]["lo"], band_rows[0]["hi"]) == MEASURES_BY_CODE["oral_aperture"].reference


def test_recorded_measures_in_catalogue_order_and_empty():
    assert patient.recorded_measures(cases.measurements()) == ["oral_aperture", "wrist_flexion"]  # catalogue order
    empty = cases.empty(MEASUREMENT_COLUMNS)
    assert patient.recorded_measures(empty) == []
    assert patient.measure_trajectories(empty)["concat"][0]["title"]["text"].startswith("No measurements")
