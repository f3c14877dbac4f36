"""Measure trajectories (range of motion, function, lungs, labs) against their normal values.

Input: a MEASUREMENT_COLUMNS frame (analysis/frames.py): date, measure (catalogue code), side
("R", "L" or "" for unsided measures), value, unit, rater. Labels, units, plausible ranges and the
normal reference come from ``models.catalog.MEASURES_BY_CODE``.
"""

from __future__ import annotations

import pandas as pd

from charts import labels, palette, vl
from charts.time_axis import TimeAxis, X, chart_window, make_time_axis
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


def _measure_chart(frame: pd.DataFrame, measure: Measure, time_axis: TimeAxis) -> dict:
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
            legend={"title": "Side", "orient": "top", "direction": "horizontal"},
        )
        shape = vl.field(
            "side_name:N",
            scale={"domain": names, "range": ["circle", "square"]},
            legend={"title": "Side", "orient": "top", "direction": "horizontal"},
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
                    {"x": time_axis.x(X, title=time_axis.short_title), "x2": time_axis.x2("x2"),
                     "y": vl.field("lo:Q", scale=y_scale), "tooltip": ref_tip},
                    description="reference_rule",
                )
            )
        else:
            layers.append(
                vl.view(
                    ref,
                    vl.mark("rect", color=palette.BLUISH_GREEN, opacity=0.15),
                    {"x": time_axis.x(X, title=time_axis.short_title), "x2": time_axis.x2("x2"),
                     "y": vl.field("lo:Q", scale=y_scale), "y2": vl.field("hi"), "tooltip": ref_tip},
                    description="reference_band",
                )
            )
    data = vl.inline(frame)
    layers.append(
        vl.view(
            data,
            vl.mark("line", strokeWidth=2),
            {"x": time_axis.x(X, title=time_axis.short_title), "y": vl.field("value:Q", scale=y_scale,
                                                                              title=measure.display),
             "color": color, "detail": vl.field("side_name:N"), "tooltip": tips},
        )
    )
    layers.append(
        vl.view(
            data,
            vl.mark("point", filled=True, size=55, opacity=1),
            {"x": time_axis.x(X, title=time_axis.short_title), "y": vl.field("value:Q", scale=y_scale,
                                                                              title=measure.display),
             "color": color, "shape": shape, "tooltip": tips},
            description="measure_points",
        )
    )
    subtitle = (
        f"{_reference_text(measure)} (green)" if measure.reference else "no normal value in the catalogue"
    )
    return vl.layer(
        *layers,
        height=160,
        title=vl.title(measure.label, subtitle=subtitle, anchor="start", fontSize=13,
                       subtitleColor="#00704F" if measure.reference else "#666666"),
    )


MEASURE_COLUMNS = ["date", "measure", "side", "value", "unit", "rater"]
SUBTITLE = "Green dashed line or band: normal value"


def _recorded(measurements: pd.DataFrame | None) -> pd.DataFrame:
    frame = measurements if measurements is not None else pd.DataFrame(columns=MEASURE_COLUMNS)
    return frame[frame["date"].notna() & frame["value"].notna()] if len(frame) else frame


def recorded_measures(measurements: pd.DataFrame | None) -> list[str]:
    """The measures with a value, in catalogue order."""
    frame = _recorded(measurements)
    present = set(frame["measure"]) if len(frame) else set()
    return [c for c in MEASURE_CODES if c in present]


def measure_chart(code: str, measurements: pd.DataFrame | None, *, time_axis: TimeAxis | None = None,
                  width: int | None = None) -> dict:
    """One measure over time against its normal value; R and L coloured for sided measures."""
    frame = _recorded(measurements)
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(measurements=frame))
    time_axis = time_axis.sized(width)
    measure = MEASURES_BY_CODE[code]
    data = frame[frame["measure"] == code].copy() if len(frame) else frame.copy()
    data = time_axis.add_x(data, "date").sort_values("date") if len(data) else data.assign(x=[])
    data["side_name"] = [palette.SIDE_NAMES.get(s, "") if measure.sided else "" for s in data["side"]]
    data["date_text"] = [labels.date_text(d) for d in data["date"]]
    data["value_text"] = [f"{labels.number(v)} {measure.unit}" for v in data["value"]]
    data["rater_name"] = [labels.rater_name(r) for r in data["rater"]]
    return vl.sized(_measure_chart(data, measure, time_axis), width)


def measure_trajectories(
    measurements: pd.DataFrame | None,
    *,
    measures: list[str] | tuple[str, ...] | None = None,
    time_axis: TimeAxis | None = None,
    width: int = 720,
    columns: int = 2,
) -> dict:
    """The measures (default: those recorded) as one image of small multiples, ``width`` in all: for
    downloads. The screen draws :func:`measure_chart` per measure in its own columns."""
    frame = _recorded(measurements)
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(measurements=frame))
    measures = [c for c in (measures if measures is not None else recorded_measures(frame)) if c in MEASURES_BY_CODE]
    columns = max(1, min(columns, len(measures) or 1))
    cell_width = int((width - 80 * columns) / columns)
    panels = [measure_chart(code, frame, time_axis=time_axis, width=cell_width) for code in measures]
    if not panels:
        axis = time_axis.sized(width)
        panels.append(vl.view(vl.inline(pd.DataFrame({X: []})), vl.mark("point"), {"x": axis.x(X)})
                      | {"width": width, "height": 60,
                         "title": vl.title("No measurements recorded yet", anchor="start")})
    return vl.concat(*panels, columns=columns, spacing=24, title=vl.title("Measures", subtitle=SUBTITLE,
                                                                          anchor="start"))
