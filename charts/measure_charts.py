"""Measure trajectories (range of motion, function, lungs, labs) against their normal values.

Input: a MEASUREMENT_COLUMNS frame (analysis/frames.py): date, measure (catalogue code), side
("R", "L" or "" for unsided measures), value, unit, rater. Labels, units, plausible ranges and the
normal reference come from ``models.catalog.MEASURES_BY_CODE``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette, vl
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


def _measure_chart(frame: pd.DataFrame, measure: Measure, time_axis: TimeAxis, width: int) -> dict:
    y_scale = {"domain": _y_domain(frame["value"], measure), "nice": False}
    tips = [
        vl.tooltip("date_text:N", "Date"),
        vl.tooltip("side_name:N", "Side"),
        vl.tooltip("value_text:N", measure.label),
        vl.tooltip("rater_name:N", "Rater"),
    ]
    if measure.sided:
        names = [palette.SIDE_NAMES[s] for s in SIDES]
        color = vl.field(
            "side_name:N",
            scale={"domain": names, "range": [palette.SIDE_COLORS[s] for s in SIDES]},
            legend={"title": "Side"},
        )
        shape = vl.field(
            "side_name:N",
            scale={"domain": names, "range": ["circle", "square"]},
            legend={"title": "Side"},
        )
    else:
        color, shape = vl.value(palette.UNSIDED), vl.value("circle")
    layers = []
    if measure.reference:
        low, high = measure.reference
        ref = vl.inline(
            pd.DataFrame(
                {
                    X: [time_axis.low],
                    "x2": [time_axis.high],
                    "lo": [low],
                    "hi": [high],
                    "label": [_reference_text(measure)],
                }
            )
        )
        ref_tip = [vl.tooltip("label:N", "Reference")]
        if low == high:
            layers.append(
                vl.view(
                    ref,
                    vl.mark("rule", color=palette.BLUISH_GREEN, strokeDash=[6, 4], strokeWidth=1.5),
                    {"x": time_axis.x(X), "x2": time_axis.x2("x2"), "y": vl.field("lo:Q", scale=y_scale),
                     "tooltip": ref_tip},
                    description="reference_rule",
                )
            )
        else:
            layers.append(
                vl.view(
                    ref,
                    vl.mark("rect", color=palette.BLUISH_GREEN, opacity=0.15),
                    {"x": time_axis.x(X), "x2": time_axis.x2("x2"), "y": vl.field("lo:Q", scale=y_scale),
                     "y2": vl.field("hi"), "tooltip": ref_tip},
                    description="reference_band",
                )
            )
    data = vl.inline(frame)
    layers.append(
        vl.view(
            data,
            vl.mark("line", strokeWidth=2),
            {"x": time_axis.x(X), "y": vl.field("value:Q", scale=y_scale, title=measure.display),
             "color": color, "detail": vl.field("side_name:N"), "tooltip": tips},
        )
    )
    layers.append(
        vl.view(
            data,
            vl.mark("point", filled=True, size=55, opacity=1),
            {"x": time_axis.x(X), "y": vl.field("value:Q", scale=y_scale, title=measure.display),
             "color": color, "shape": shape, "tooltip": tips},
            description="measure_points",
        )
    )
    subtitle = (
        f"{_reference_text(measure)} (green)" if measure.reference else "no normal value in the catalogue"
    )
    return vl.layer(
        *layers,
        width=width,
        height=160,
        title=vl.title(
            measure.label,
            subtitle=subtitle,
            anchor="start",
            fontSize=13,
            subtitleFontSize=11,
            subtitleColor="#00704F" if measure.reference else "#666666",
        ),
    )


def measure_trajectories(measurements: pd.DataFrame, **options) -> alt.ConcatChart:
    """:func:`measure_trajectories_spec` as an Altair chart."""
    return vl.as_altair(measure_trajectories_spec(measurements, **options))


def measure_trajectories_spec(
    measurements: pd.DataFrame,
    *,
    measures: list[str] | tuple[str, ...] | None = None,
    axis: str = "date",
    anchor_date=None,
    x_domain: tuple | None = None,
    width: int = 720,
    columns: int = 2,
    anchor_label: str = "drug start",
) -> dict:
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
        panels.append(
            vl.view(
                vl.inline(pd.DataFrame({X: []})),
                vl.mark("point"),
                {"x": time_axis.x(X)},
            )
            | {"width": width, "height": 60, "title": vl.title("No measurements recorded yet", anchor="start")}
        )
    subtitle = "Green dashed line or band: normal value" + (f" · {note}" if note else "")
    return vl.concat(
        *panels,
        columns=columns,
        spacing=24,
        resolve={"scale": {"x": "shared"}},
        title=vl.title("Measures", subtitle=subtitle, anchor="start", subtitleFontSize=11),
    )
