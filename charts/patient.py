"""The patient chart (PRODUCT.md screen 5): every panel of one patient on one shared time axis.

Input frames (analysis/frames.py): assessments (ASSESSMENT_COLUMNS), visits (visit_date, n_raters, mrss,
17 sites, optionally change/change_pct from analysis.baseline), medications (MEDICATION_COLUMNS), events
(EVENT_COLUMNS), measurements (MEASUREMENT_COLUMNS); the treatment changes from analysis.what_changed. Pure:
frames in, Vega-Lite specs (dicts) out.

Every panel takes the patient's :class:`charts.time_axis.TimeAxis` (``chart_window`` → ``make_time_axis``)
and a ``width``: None on screen (each panel fills its container; the panels line up because they share the
domain and reserve the same room for their y labels), a number for images and the PDF, where
:func:`patient_timeline` stacks the mRSS panel and the lanes in one picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.what_changed import TreatmentChange
from charts import vl
from charts.measure_charts import measure_chart, measure_trajectories, recorded_measures
from charts.medication_lanes import medication_lanes
from charts.mrss_panel import mrss_panel
from charts.site_charts import default_sites, site_heatmap, site_trajectories, site_trajectory, sites_that_moved
from charts.time_axis import ChartWindow, TimeAxis, chart_window, first_start, make_time_axis

__all__ = [
    "ChartWindow",
    "TimeAxis",
    "chart_window",
    "default_sites",
    "first_start",
    "make_time_axis",
    "measure_chart",
    "measure_trajectories",
    "medication_lanes",
    "mrss_panel",
    "patient_timeline",
    "recorded_measures",
    "site_heatmap",
    "site_trajectories",
    "site_trajectory",
    "sites_that_moved",
]


def patient_timeline(
    assessments: pd.DataFrame | None,
    visits: pd.DataFrame | None,
    medications: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    baseline_mrss: float | None,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int = 720,
    height: int = 250,
    note: str = "",
    printed: bool = False,
) -> dict:
    """The mRSS panel above the medication lanes, one picture ``width`` plot pixels wide (for downloads and,
    ``printed``, the report). Any frame may be empty or None: the panels then say so, and nothing raises."""
    if time_axis is None:
        time_axis, note = make_time_axis(chart_window(visits=visits, medications=medications, events=events))
    top = mrss_panel(assessments, visits, baseline_mrss=baseline_mrss, events=events, changes=changes,
                     time_axis=time_axis, width=width, height=height, note=note, printed=printed)
    bottom = medication_lanes(medications, events=events, changes=changes, time_axis=time_axis, width=width)
    independent = dict.fromkeys(("y", "color", "shape", "strokeDash", "size", "opacity"), "independent")
    return vl.vconcat(top, bottom, spacing=14, resolve={"scale": {"x": "shared", **independent}})
