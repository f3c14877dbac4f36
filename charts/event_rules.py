"""Point events (injections, procedures, adverse events, gadolinium exposure) as vertical rules.

Input: an EVENT_COLUMNS frame (analysis/frames.py): date, kind, description, sites (';'-joined site
codes), agent, dose, dose_unit, grade (Int64), serious (boolean), end_date.
Each event is a rule across the panel, coloured, dashed and shaped by kind — adverse events by CTCAE
grade — with a short label at the top (staggered in rows so labels do not overlap).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette, vl
from charts.time_axis import TimeAxis, X, make_time_axis, patient_dates
from models.catalog import CTCAE_GRADES, EVENT_KINDS

LABEL_ROWS = 3
ROW_PX = 13
FIRST_ROW_PX = 9
LABEL_CHARS = 26
MIN_LABEL_CHARS = 10


def marker_key(kind: str, grade) -> str:
    """The legend entry of one event: the kind's label, or the adverse event's grade."""
    if kind == "adverse_event" and grade is not None and not pd.isna(grade):
        return f"{EVENT_KINDS['adverse_event']}, {labels.grade_label(grade)}"
    return labels.kind_label(kind)


def _marker_order() -> list[tuple[str, str, str, list[int]]]:
    """(key, colour, shape, dash) for every possible legend entry, in display order."""
    out = []
    for kind in EVENT_KINDS:
        shape, dash = palette.EVENT_KIND_SHAPES[kind], palette.EVENT_KIND_DASHES[kind]
        if kind == "adverse_event":
            for grade in CTCAE_GRADES:
                out.append((marker_key(kind, grade), palette.GRADE_COLORS[grade], shape, dash))
            out.append((labels.kind_label(kind), palette.UNGRADED_ADVERSE_EVENT, shape, dash))
        else:
            out.append((labels.kind_label(kind), palette.EVENT_KIND_COLORS[kind], shape, dash))
    return out


def _short_label(row, max_chars: int = LABEL_CHARS) -> str:
    kind = row["kind"] if row["kind"] in EVENT_KINDS else "other"
    text = row["description"] if isinstance(row["description"], str) and row["description"].strip() else ""
    if not text:
        text = labels.kind_label(kind)
    if kind == "adverse_event" and not pd.isna(row["grade"]):
        return labels.shorten(text, max(4, max_chars - 5)) + f" (G{int(row['grade'])})"
    return labels.shorten(text, max_chars)


def _assign_rows(xs_px: list[float], widths_px: list[float]) -> list[int]:
    """Greedy stacking: each label goes in the first row where it does not overlap the previous."""
    row_end = [float("-inf")] * LABEL_ROWS
    rows = []
    for x, w in zip(xs_px, widths_px, strict=True):
        free = [r for r in range(LABEL_ROWS) if row_end[r] + 4 <= x]
        row = free[0] if free else min(range(LABEL_ROWS), key=lambda r: row_end[r])
        row_end[row] = x + w
        rows.append(row)
    return rows


def prepare_events(events: pd.DataFrame | None, time_axis: TimeAxis, *, width: int) -> pd.DataFrame:
    """One row per dated event with x, legend key, label, label row and tooltip text."""
    columns = [
        "x",
        "date_text",
        "kind",
        "marker",
        "label",
        "row",
        "description",
        "sites_text",
        "agent",
        "dose_text",
        "grade_text",
        "serious_text",
        "end_text",
    ]
    if events is None or events.empty:
        return pd.DataFrame(columns=columns)
    frame = events[events["date"].notna()].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["kind"] = [k if k in EVENT_KINDS else "other" for k in frame["kind"]]
    frame = time_axis.add_x(frame, "date").sort_values(["x", "kind"]).reset_index(drop=True)
    frame["date_text"] = [labels.date_text(d) for d in frame["date"]]
    frame["marker"] = [marker_key(k, g) for k, g in zip(frame["kind"], frame["grade"], strict=True)]
    frame["sites_text"] = [labels.sites_display(s) for s in frame["sites"]]
    frame["dose_text"] = [
        labels.dose_label(d, u) for d, u in zip(frame["dose"], frame["dose_unit"], strict=True)
    ]
    frame["grade_text"] = [labels.grade_label(g) for g in frame["grade"]]
    frame["serious_text"] = ["yes" if s is True else ("no" if s is False else "") for s in frame["serious"]]
    frame["end_text"] = [labels.date_text(d) for d in frame["end_date"]]
    for col in ("description", "agent"):
        frame[col] = frame[col].fillna("").astype(str)
    px_per_day = width / time_axis.span_days()
    low = time_axis.low
    xs_px = [
        ((x - low) if time_axis.is_days else (x - low) / pd.Timedelta(days=1)) * px_per_day
        for x in frame["x"]
    ]
    # A label stops before the next event's rule (which crosses every row), down to MIN_LABEL_CHARS.
    gaps = [b - a for a, b in zip(xs_px, [*xs_px[1:], float(width) + 120], strict=True)]
    frame["label"] = [
        _short_label(r, min(LABEL_CHARS, max(MIN_LABEL_CHARS, int((gap - 16) / labels.CHAR_PX))))
        for (_, r), gap in zip(frame.iterrows(), gaps, strict=True)
    ]
    widths = [len(t) * labels.CHAR_PX + 14 for t in frame["label"]]
    frame["row"] = _assign_rows(xs_px, widths)
    return frame[columns]


def tooltip(time_axis: TimeAxis) -> list[dict]:
    tips = [
        vl.tooltip("date_text:N", "Date"),
        vl.tooltip("marker:N", "Event"),
        vl.tooltip("description:N", "Description"),
        vl.tooltip("sites_text:N", "Injected sites"),
        vl.tooltip("agent:N", "Agent"),
        vl.tooltip("dose_text:N", "Dose"),
        vl.tooltip("serious_text:N", "Serious"),
        vl.tooltip("end_text:N", "Resolved"),
    ]
    if time_axis.is_days:
        tips.insert(1, vl.tooltip("x:Q", time_axis.title.split(" (")[0], format="d"))
    return tips


def _marker_scale(order: list, column: int) -> dict:
    return {"domain": [m[0] for m in order], "range": [m[column] for m in order]}


def event_layers(
    prepared: pd.DataFrame, time_axis: TimeAxis, *, with_labels: bool = True, legend: bool = True
) -> list[dict]:
    """The rule layer (and label layers) to stack onto a panel sharing ``time_axis``."""
    data = vl.inline(prepared)
    if prepared.empty:
        return [vl.view(data, vl.mark("rule"), {"x": time_axis.x(X)}, description="event_rules")]
    present = set(prepared["marker"])
    order = [m for m in _marker_order() if m[0] in present]
    leg = (
        {"title": "Events", "orient": "bottom", "columns": 3, "symbolStrokeWidth": 0, "symbolSize": 90}
        if legend
        else None
    )
    color = vl.field("marker:N", scale=_marker_scale(order, 1), legend=leg)
    shape = vl.field("marker:N", scale=_marker_scale(order, 2), legend=leg)
    dash = vl.field("marker:N", scale=_marker_scale(order, 3), legend=None)
    tips = tooltip(time_axis)
    layers = [
        vl.view(
            data,
            vl.mark("rule", strokeWidth=1.6, opacity=0.85),
            {"x": time_axis.x(X), "color": color, "strokeDash": dash, "tooltip": tips},
            description="event_rules",
        )
    ]
    if with_labels:
        for row in range(LABEL_ROWS):
            in_row = (f"(datum.row === {row})",)
            y = vl.value(FIRST_ROW_PX + row * ROW_PX)
            layers.append(
                vl.view(
                    data,
                    vl.mark("point", filled=True, size=55, opacity=1),
                    {"x": time_axis.x(X), "y": y, "color": color, "shape": shape, "tooltip": tips},
                    description=f"event_markers_{row}",
                    filters=in_row,
                )
            )
            layers.append(
                vl.view(
                    data,
                    vl.mark("text", align="left", baseline="middle", dx=7, fontSize=11),
                    {"x": time_axis.x(X), "y": y, "text": vl.field("label:N"), "tooltip": tips,
                     "color": vl.value(palette.BLACK)},
                    description=f"event_labels_{row}",
                    filters=in_row,
                )
            )
    return layers


def event_rules_spec(
    events: pd.DataFrame,
    *,
    axis: str = "date",
    anchor_date=None,
    x_domain: tuple | None = None,
    width: int = 720,
    height: int = 120,
    with_labels: bool = True,
) -> dict:
    """Vertical rules for the events, labelled, on the shared time axis (standalone or to layer).

    ``x_domain`` is the shared domain from :func:`charts.time_axis.patient_x_domain`; when omitted
    the domain covers the events.
    """
    time_axis, _ = make_time_axis(
        patient_dates(events=events), axis=axis, anchor_date=anchor_date, x_domain=x_domain
    )
    prepared = prepare_events(events, time_axis, width=width)
    return vl.layer(*event_layers(prepared, time_axis, with_labels=with_labels), width=width, height=height)


def event_rules(events: pd.DataFrame, **options) -> alt.LayerChart:
    """:func:`event_rules_spec` as an Altair chart."""
    return vl.as_altair(event_rules_spec(events, **options))
