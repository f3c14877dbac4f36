"""Point events and treatment changes as labelled vertical rules across a panel.

Inputs: an EVENT_COLUMNS frame (analysis/frames.py: date, kind, description, sites, agent, dose, dose_unit,
grade, serious, end_date) and the patient's treatment changes (``analysis.what_changed.treatment_changes``:
drug starts, dose changes and stops are drawn as grey rules labelled "imatinib 200 → 400 mg"; an injection
change adds what followed to the tooltip of its injection events).

Labels are never cut: each sits beside its marker at the top of the panel, in the first of LABEL_ROWS rows
where it overlaps no other label, and turns to the left of its rule near the right edge. When the labels do
not fit in those rows, or there are more than MAX_LABELLED events, every marker carries a number instead and
a numbered legend gives each one's date and full text. The layout is computed for the narrowest plot the
chart can be drawn at (:data:`MIN_PLOT_PX`, a 1024-pixel screen) or the fixed width of an image, so it
holds at any wider size. The full text, and what followed a treatment change, are in the tooltip.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd

from analysis.what_changed import INJECTION, TreatmentChange
from charts import labels, palette, vl
from charts.time_axis import TimeAxis, X
from models.catalog import EVENT_KINDS

LABEL_ROWS = 4
ROW_PX = 15
FIRST_ROW_PX = 9
MARKER_PX = 14  # the marker and the gap to its label
LABEL_GAP_PX = 8
MIN_PLOT_PX = 400  # the plot width of a patient panel on a 1024-pixel screen (sidebar open)
MAX_LABELLED = 8  # more events than this are numbered
LEGEND_CHARS = 54  # a legend entry wraps at this many characters: the legend stays within MIN_PLOT_PX
TREATMENT = "treatment"
TREATMENT_KEY = "Drug start, dose change or stop"
TREATMENT_SHAPE = "arrow"

COLUMNS = [
    "x", "date", "date_text", "kind", "key", "label", "text", "number", "row", "align", "legend_text",
    "color", "shape", "dash", "tip",
]


def kind_key(kind: str) -> str:
    """The legend entry of one kind."""
    return TREATMENT_KEY if kind == TREATMENT else labels.kind_label(kind)


def _style(kind: str) -> tuple[str, str, list[int]]:
    if kind == TREATMENT:
        return palette.TREATMENT_RULE, TREATMENT_SHAPE, [1, 0]
    return palette.EVENT_KIND_COLORS[kind], palette.EVENT_KIND_SHAPES[kind], palette.EVENT_KIND_DASHES[kind]


def _event_label(row) -> str:
    kind = row["kind"]
    text = row["description"] if isinstance(row["description"], str) and row["description"].strip() else ""
    text = " ".join(text.split()) or labels.kind_label(kind)
    if kind == "adverse_event" and not pd.isna(row["grade"]):
        text += f" (grade {int(row['grade'])})"
    return text


def _long_label(row) -> str:
    """The label with the kind in front when the label does not say it (for the numbered legend)."""
    label, kind = _event_label(row), labels.kind_label(row["kind"])
    return label if label.lower().startswith(kind.lower()) else f"{kind}: {label}"


# Every tooltip has the same two keys: Streamlit hands the rows to the browser as a table, where a key one row
# lacks would show as "null" in another's tooltip. The title is the tooltip's heading.
TIP_DETAILS = "Details"
FOLLOWED = "what followed in 3–6 months: "


def _event_tip(row, followed: str) -> dict:
    details = [
        " ".join(str(row["description"]).split()) if isinstance(row["description"], str) else "",
        f"injected: {labels.sites_display(row['sites'])}" if labels.sites_display(row["sites"]) else "",
        row["agent"] if isinstance(row["agent"], str) else "",
        labels.dose_label(row["dose"], row["dose_unit"]),
        labels.grade_label(row["grade"]),
        "serious" if row["serious"] is True else ("not serious" if row["serious"] is False else ""),
        f"resolved {labels.date_text(row['end_date'])}" if labels.date_text(row["end_date"]) else "",
        f"{FOLLOWED}{followed}" if followed else "",
    ]
    return {"title": f"{labels.date_text(row['date'])} · {labels.kind_label(row['kind'])}",
            TIP_DETAILS: "; ".join(d for d in details if d) or labels.kind_label(row["kind"])}


def _rows(events: pd.DataFrame | None, changes: Sequence[TreatmentChange]) -> list[dict]:
    rows = []
    followed = {change.date: change.outcome for change in changes if change.kind == INJECTION}
    if events is not None and not events.empty:
        for _, event in events[events["date"].notna()].iterrows():
            event = event.copy()
            event["kind"] = event["kind"] if event["kind"] in EVENT_KINDS else "other"
            day = pd.Timestamp(event["date"])
            extra = followed.get(day.date(), "") if event["kind"] == "steroid_injection" else ""
            rows.append({"date": day, "kind": event["kind"], "label": _event_label(event),
                         "long": _long_label(event), "tip": _event_tip(event, extra)})
    for change in changes:
        if change.kind == INJECTION:
            continue
        tip = {"title": f"{change.date.isoformat()} · {change.label}", TIP_DETAILS: f"{FOLLOWED}{change.outcome}"}
        rows.append({"date": pd.Timestamp(change.date), "kind": TREATMENT, "label": change.label,
                     "long": change.label, "tip": tip})
    return rows


def _layout(xs_px: list[float], widths: list[float], plot_px: float) -> tuple[list[int], list[str]] | None:
    """Rows and alignments so that no label overlaps another, none is crossed by another event's rule (a rule
    runs from its marker down), and none leaves the plot; None if that is impossible in LABEL_ROWS rows."""
    placed: list[tuple[float, int, float, float]] = []  # x, row, label start, label end
    rows, aligns = [], []
    gap = LABEL_GAP_PX
    for x, width in zip(xs_px, widths, strict=True):
        sides = [(align, start, end) for align, start, end in (("left", x, x + width), ("right", x - width, x))
                 if start >= 0 and end <= plot_px]
        found = next(((row, align, start, end) for row in range(LABEL_ROWS) for align, start, end in sides if all(
            (other_row != row or end + gap <= a or start >= b + gap)  # no label beside it in its row
            and (other_row >= row or abs(other_x - x) < 1 or not start - gap < other_x < end + gap)  # no rule
            and (other_row <= row or not a - gap < x < b + gap)  # its own rule crosses no label below
            for other_x, other_row, a, b in placed)), None)
        if found is None:
            return None
        row, align, start, end = found
        placed.append((x, row, start, end))
        rows.append(row)
        aligns.append(align)
    return rows, aligns


def prepare_annotations(events: pd.DataFrame | None, time_axis: TimeAxis,
                        changes: Sequence[TreatmentChange] = ()) -> pd.DataFrame:
    """One row per event and treatment change inside the axis: x, label or number, label row and side,
    legend entry, colour, shape, dash, tooltip. Sorted by date."""
    rows = _rows(events, changes)
    low, high = time_axis.date_bounds()
    rows = [r for r in rows if low <= r["date"] <= high]
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    order = list(EVENT_KINDS) + [TREATMENT]
    rows.sort(key=lambda r: (r["date"], order.index(r["kind"]), r["label"]))
    frame = pd.DataFrame(rows)
    frame = time_axis.add_x(frame, "date")
    frame["date_text"] = [labels.date_text(d) for d in frame["date"]]
    frame["key"] = [kind_key(k) for k in frame["kind"]]
    styles = [_style(k) for k in frame["kind"]]
    frame["color"] = [s[0] for s in styles]
    frame["shape"] = [s[1] for s in styles]
    frame["dash"] = [s[2] for s in styles]
    frame["number"] = [str(i + 1) for i in range(len(frame))]
    plot_px = float(time_axis.width or MIN_PLOT_PX)
    xs = [time_axis.fraction(x) * plot_px for x in frame["x"]]
    layout = None
    if len(frame) <= MAX_LABELLED:
        layout = _layout(xs, [len(t) * labels.CHAR_PX + MARKER_PX for t in frame["label"]], plot_px)
    numbered = layout is None
    if numbered:
        layout = _layout(xs, [len(n) * labels.CHAR_PX + MARKER_PX for n in frame["number"]], plot_px)
        if layout is None:  # numbers crowded beyond every row: the rows repeat, the legend still tells them apart
            layout = ([i % LABEL_ROWS for i in range(len(frame))], ["left"] * len(frame))
    frame["row"], frame["align"] = layout
    frame["text"] = frame["number"] if numbered else frame["label"]
    frame["legend_text"] = [
        "\n".join(textwrap.wrap(f"{n}  {d}  {label}", LEGEND_CHARS, subsequent_indent="      ")) if numbered
        else key
        for n, d, label, key in zip(frame["number"], frame["date_text"], frame["long"], frame["key"], strict=True)
    ]
    out = frame[COLUMNS].reset_index(drop=True)
    out.attrs["numbered"] = numbered
    return out


def legend_scale(prepared: pd.DataFrame, column: str) -> dict:
    """A scale from the legend entries (one per kind, or per event when numbered) to ``column``'s values."""
    entries = prepared.drop_duplicates("legend_text")
    return {"domain": list(entries["legend_text"]), "range": list(entries[column])}


def rule_layers(prepared: pd.DataFrame, time_axis: TimeAxis, *, legend: dict | None = None,
                from_markers: bool = False) -> list[dict]:
    """The rules (one per event and treatment change), coloured and dashed by kind: across the whole panel, or
    (``from_markers``) from each marker down, so that no rule crosses a label above its marker. With
    ``legend``, an invisible marker per rule carries the legend (so that its symbols are the markers' shapes)."""
    data = vl.inline(prepared)
    if prepared.empty:
        return [vl.view(data, vl.mark("rule"), {"x": time_axis.x(X)}, description="event_rules")]
    color = vl.field("legend_text:N", scale=legend_scale(prepared, "color"), legend=None)
    encoding = {"x": time_axis.x(X), "color": color,
                "strokeDash": vl.field("legend_text:N", scale=legend_scale(prepared, "dash"), legend=None),
                "tooltip": vl.field("tip", type="nominal")}
    mark = vl.mark("rule", strokeWidth=1.8, opacity=0.9)
    if from_markers:
        layers = [vl.view(data, mark, {**encoding, "y": vl.value(FIRST_ROW_PX + row * ROW_PX),
                                       "y2": vl.value("height")},
                          description="event_rules", filters=(f"datum.row === {row}",))
                  for row in sorted(set(prepared["row"]))]
    else:
        layers = [vl.view(data, mark, encoding, description="event_rules")]
    if legend is not None:
        layers.append(vl.view(
            data,
            vl.mark("point", filled=True, opacity=0),
            {"x": time_axis.x(X), "y": vl.value(0),
             "color": {**color, "legend": {**legend, "symbolOpacity": 1}},
             "shape": vl.field("legend_text:N", scale=legend_scale(prepared, "shape"),
                               legend={**legend, "symbolOpacity": 1})},
            description="events_legend",
        ))
    return layers


def label_layers(prepared: pd.DataFrame, time_axis: TimeAxis) -> list[dict]:
    """The markers and their labels (or numbers) at the top of the panel, in their rows."""
    if prepared.empty:
        return []
    data = vl.inline(prepared)
    color = vl.field("legend_text:N", scale=legend_scale(prepared, "color"), legend=None)
    shape = vl.field("legend_text:N", scale=legend_scale(prepared, "shape"), legend=None)
    tip = vl.field("tip", type="nominal")
    layers = []
    for row in sorted(set(prepared["row"])):
        y = vl.value(FIRST_ROW_PX + row * ROW_PX)
        in_row = f"datum.row === {row}"
        layers.append(vl.view(
            data,
            vl.mark("point", filled=True, size=70, opacity=1, stroke=palette.MARKER_STROKE, strokeWidth=0.8),
            {"x": time_axis.x(X), "y": y, "color": color, "shape": shape, "tooltip": tip},
            description="event_markers", filters=(in_row,),
        ))
        for align, dx in (("left", MARKER_PX / 2), ("right", -MARKER_PX / 2)):
            layers.append(vl.view(
                data,
                vl.mark("text", align=align, baseline="middle", dx=dx, fontSize=vl.FONT_PX, color=palette.TEXT),
                {"x": time_axis.x(X), "y": y, "text": vl.field("text:N"), "tooltip": tip},
                description="event_labels", filters=(in_row, f"datum.align === '{align}'"),
            ))
    return layers


def events_legend(prepared: pd.DataFrame) -> dict | None:
    """The legend of the events: kinds, or the numbered list (its entries wrapped over lines)."""
    if prepared.empty:
        return None
    numbered = bool(prepared.attrs.get("numbered"))
    widest = max(len(line) for text in prepared["legend_text"] for line in text.split("\n"))
    two_columns = not numbered and 2 * (widest * labels.CHAR_PX + 40) <= MIN_PLOT_PX
    return {"title": "Events, numbered as at the top of the mRSS panel" if numbered else "Events",
            "orient": "bottom", "direction": "vertical", "columns": 2 if two_columns else 1, "symbolStrokeWidth": 0,
            "symbolSize": 90, "labelExpr": "split(datum.label, '\\n')", "labelLimit": 0, "titleLimit": 0,
            "columnPadding": 16}


def marker_numbers(prepared: pd.DataFrame, changes: Sequence[TreatmentChange]) -> list[str | None]:
    """For each change, the number of its marker when the markers are numbered (None otherwise): the words of
    the "what changed" summary can then point at the picture."""
    if prepared.empty or not prepared.attrs.get("numbered"):
        return [None] * len(changes)
    out = []
    for change in changes:
        day = pd.Timestamp(change.date)
        kind = "steroid_injection" if change.kind == INJECTION else TREATMENT
        found = prepared[(prepared["date"] == day) & (prepared["kind"] == kind)]
        if kind == TREATMENT:
            found = found[found["label"] == change.label]
        out.append(found["number"].iloc[0] if len(found) else None)
    return out
