"""Measure trajectories (range of motion, function, lungs, labs) against their normal values.

Input: a MEASUREMENT_COLUMNS frame (analysis/frames.py): date, measure (catalogue code), side
("R", "L" or "" for unsided measures), value, unit, rater. Labels, units, plausible ranges and the
normal reference come from ``models.catalog.MEASURES_BY_CODE``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette
from charts.time_axis import TimeAxis, X, make_time_axis, patient_dates
from models.catalog import MEASURE_CODES, MEASURES_BY_CODE, SIDES, Measure


def _reference_text(measure: Measure) -> str:
    low, high = measure.reference
    if low == high:
        return f"normal ≈ {labels.number(low)} {measure.unit}"
    return f"normal {labels.number(low)}–{labels.number(high)} {measure.unit}"


def _y_domain(values: pd.Series, measure: Measure) -> list[float]:
    candidates = [float(v) for v in values.dropna()]
    if measure.reference:
        candidates += list(measure.reference)
    if not candidates:
        return [measure.low, measure.high]
    low, high = min(candidates), max(candidates)
    pad = max((high - low) * 0.15, (measure.high - measure.low) * 0.05)
    return [max(measure.low, low - pad), min(measure.high, high + pad)]


def _measure_chart(frame: pd.DataFrame, measure: Measure, time_axis: TimeAxis, width: int) -> alt.LayerChart:
    y_scale = alt.Scale(domain=_y_domain(frame["value"], measure), nice=False)
    y = alt.Y("value:Q", scale=y_scale, title=measure.display)
    tips = [
        alt.Tooltip("date_text:N", title="Date"),
        alt.Tooltip("side_name:N", title="Side"),
        alt.Tooltip("value_text:N", title=measure.label),
        alt.Tooltip("rater_name:N", title="Rater"),
    ]
    if measure.sided:
        names = [palette.SIDE_NAMES[s] for s in SIDES]
        color = alt.Color(
            "side_name:N",
            scale=alt.Scale(domain=names, range=[palette.SIDE_COLORS[s] for s in SIDES]),
            legend=alt.Legend(title="Side"),
        )
        shape = alt.Shape(
            "side_name:N",
            scale=alt.Scale(domain=names, range=["circle", "square"]),
            legend=alt.Legend(title="Side"),
        )
    else:
        color, shape = alt.value(palette.UNSIDED), alt.value("circle")
    layers = []
    if measure.reference:
        low, high = measure.reference
        ref = pd.DataFrame(
            {
                X: [time_axis.low],
                "x2": [time_axis.high],
                "lo": [low],
                "hi": [high],
                "label": [_reference_text(measure)],
            }
        )
        ref_tip = [alt.Tooltip("label:N", title="Reference")]
        if low == high:
            layers.append(
                alt.Chart(ref)
                .mark_rule(color=palette.BLUISH_GREEN, strokeDash=[6, 4], strokeWidth=1.5)
                .encode(
                    x=time_axis.x(X), x2=time_axis.x2("x2"), y=alt.Y("lo:Q", scale=y_scale), tooltip=ref_tip
                )
                .properties(description="reference_rule")
            )
        else:
            layers.append(
                alt.Chart(ref)
                .mark_rect(color=palette.BLUISH_GREEN, opacity=0.15)
                .encode(
                    x=time_axis.x(X),
                    x2=time_axis.x2("x2"),
                    y=alt.Y("lo:Q", scale=y_scale),
                    y2="hi:Q",
                    tooltip=ref_tip,
                )
                .properties(description="reference_band")
            )
    detail = alt.Detail("side_name:N")
    layers.append(
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(x=time_axis.x(X), y=y, color=color, detail=detail, tooltip=tips)
    )
    layers.append(
        alt.Chart(frame)
        .mark_point(filled=True, size=55, opacity=1)
        .encode(x=time_axis.x(X), y=y, color=color, shape=shape, tooltip=tips)
        .properties(description="measure_points")
    )
    subtitle = (
        f"{_reference_text(measure)} (green)" if measure.reference else "no normal value in the catalogue"
    )
    return alt.layer(*layers).properties(
        width=width,
        height=160,
        title=alt.Title(
            measure.label,
            subtitle=subtitle,
            anchor="start",
            fontSize=13,
            subtitleFontSize=11,
            subtitleColor="#00704F" if measure.reference else "#666666",
        ),
    )


def measure_trajectories(
    measurements: pd.DataFrame,
    *,
    measures: list[str] | tuple[str, ...] | None = None,
    axis: str = "date",
    anchor_date=None,
    x_domain: tuple | None = None,
    width: int = 720,
    columns: int = 2,
    anchor_label: str = "drug start",
) -> alt.ConcatChart:
    """One small chart per measure (default: those recorded, catalogue order); R/L coloured for sided
    measures; the catalogue's normal value as a dashed rule, or a band for a range."""
    frame = (
        measurements
        if measurements is not None
        else pd.DataFrame(columns=["date", "measure", "side", "value", "unit", "rater"])
    )
    frame = frame[frame["date"].notna() & frame["value"].notna()] if len(frame) else frame
    if measures is None:
        present = set(frame["measure"]) if len(frame) else set()
        measures = [c for c in MEASURE_CODES if c in present]
    measures = [c for c in measures if c in MEASURES_BY_CODE]
    time_axis, note = make_time_axis(
        patient_dates(measurements=frame),
        axis=axis,
        anchor_date=anchor_date,
        x_domain=x_domain,
        anchor_label=anchor_label,
    )
    time_axis = time_axis.compacted()
    columns = max(1, min(columns, len(measures) or 1))
    cell_width = int((width - 80 * (columns - 1)) / columns)
    panels = []
    for code in measures:
        measure = MEASURES_BY_CODE[code]
        data = frame[frame["measure"] == code].copy() if len(frame) else frame.copy()
        data = time_axis.add_x(data, "date").sort_values("date") if len(data) else data.assign(x=[])
        data["side_name"] = [palette.SIDE_NAMES.get(s, "") if measure.sided else "" for s in data["side"]]
        data["date_text"] = [labels.date_text(d) for d in data["date"]]
        data["value_text"] = [f"{labels.number(v)} {measure.unit}" for v in data["value"]]
        data["rater_name"] = [labels.rater_name(r) for r in data["rater"]]
        panels.append(_measure_chart(data, measure, time_axis, cell_width))
    if not panels:
        empty = (
            alt.Chart(pd.DataFrame({X: []}))
            .mark_point()
            .encode(x=time_axis.x(X))
            .properties(
                width=width, height=60, title=alt.Title("No measurements recorded yet", anchor="start")
            )
        )
        panels.append(empty)
    subtitle = "Green dashed line or band: normal value" + (f" · {note}" if note else "")
    return (
        alt.concat(*panels, columns=columns, spacing=24)
        .resolve_scale(x="shared")
        .properties(title=alt.Title("Measures", subtitle=subtitle, anchor="start", subtitleFontSize=11))
    )
