"""The patient chart (PRODUCT.md screen 5): every panel of one patient on one shared time axis.

Input frames (analysis/frames.py): assessments (ASSESSMENT_COLUMNS), visits (visit_date, n_raters,
mrss, 17 sites, optionally change/change_pct), medications (MEDICATION_COLUMNS), events
(EVENT_COLUMNS), measurements (MEASUREMENT_COLUMNS). Pure: frames in, chart out — each builder
``*_spec`` returns the Vega-Lite spec as a dict (rows inline; :func:`charts.vl.toplevel` finishes it
for drawing), and the builder of the same name without ``_spec`` the same chart as an Altair object.

Panels built separately line up when given the same ``axis``, ``anchor_date`` and ``x_domain``
(:func:`patient_x_domain`); :func:`patient_timeline` composes the mRSS panel and the medication
lanes in one vconcat whose x scale is shared.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import vl
from charts.event_rules import event_rules, event_rules_spec
from charts.measure_charts import measure_trajectories, measure_trajectories_spec
from charts.medication_lanes import lanes_chart, medication_lanes, medication_lanes_spec
from charts.mrss_panel import mrss_panel, mrss_panel_spec, panel_chart
from charts.site_charts import site_heatmap, site_heatmap_spec, site_trajectories, site_trajectories_spec
from charts.time_axis import first_start, make_time_axis, patient_dates, patient_x_domain

__all__ = [
    "event_rules",
    "event_rules_spec",
    "first_start",
    "measure_trajectories",
    "measure_trajectories_spec",
    "medication_lanes",
    "medication_lanes_spec",
    "mrss_panel",
    "mrss_panel_spec",
    "patient_timeline",
    "patient_timeline_spec",
    "patient_x_domain",
    "site_heatmap",
    "site_heatmap_spec",
    "site_trajectories",
    "site_trajectories_spec",
]


def patient_timeline(*frames, **options) -> alt.VConcatChart:
    """:func:`patient_timeline_spec` as an Altair chart."""
    return vl.as_altair(patient_timeline_spec(*frames, **options))


def patient_timeline_spec(
    assessments: pd.DataFrame,
    visits: pd.DataFrame,
    medications: pd.DataFrame,
    events: pd.DataFrame,
    *,
    baseline_mrss: float | None,
    axis: str = "date",
    anchor_date=None,
    today=None,
    x_domain: tuple | None = None,
    width: int = 720,
    height: int = 260,
    anchor_label: str = "drug start",
) -> dict:
    """mRSS panel (with labelled event rules) above the medication lanes (with the same rules), on one
    shared x axis. Any frame may be empty (or None): the panels then say so, and nothing raises.

    ``axis="days"`` plots days since ``anchor_date`` (the chosen drug's first start, see
    :func:`charts.time_axis.first_start`); without an anchor date the axis falls back to dates, with
    a note under the title.
    """
    today = pd.Timestamp(today).normalize() if today is not None else pd.Timestamp.today().normalize()
    dates = patient_dates(
        assessments=assessments, visits=visits, medications=medications, events=events, today=today
    )
    time_axis, note = make_time_axis(
        dates, axis=axis, anchor_date=anchor_date, today=today, x_domain=x_domain, anchor_label=anchor_label
    )
    top = panel_chart(
        assessments,
        visits,
        events,
        baseline_mrss=baseline_mrss,
        time_axis=time_axis,
        width=width,
        height=height,
        note=note,
    )
    bottom = lanes_chart(medications, events, time_axis=time_axis, today=today, width=width)
    independent = dict.fromkeys(("y", "color", "shape", "strokeDash", "size"), "independent")
    return vl.vconcat(top, bottom, spacing=18, resolve={"scale": {"x": "shared", **independent}})
