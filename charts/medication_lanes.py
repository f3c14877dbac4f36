"""Medication periods as lanes: one row per drug, one bar segment per constant-dose period.

Input: a MEDICATION_COLUMNS frame (analysis/frames.py): drug, dose (float), dose_unit, frequency, route,
start_date, end_date (NaT while ongoing; inclusive), reason. Consecutive periods of one drug are dose changes:
they form one continuous band whose thickness steps with the dose. A period running past the window — an
ongoing one, or one ending after the chart's last date — is drawn to the right edge and ends in an arrow, with
its start date in its label ("400 mg daily, ongoing since 2022-03-14"); one that started before the window
comes in from the left edge with an arrow. Labels are chosen by the space the segment has when drawn: the
longest text that fits, never a cut one (the tooltip has everything). Events and treatment changes cross the
lanes as rules; their legend is drawn under the lanes, the last panel of the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.what_changed import TreatmentChange
from charts import event_rules, labels, palette, vl
from charts.time_axis import X2, TimeAxis, X, chart_window, make_time_axis, y_axis

LANE_PX = 34
MIN_BAR_PX = 9
MAX_BAR_PX = 22
LABEL_PAD_PX = 6
ARROW_PX = 12
EMPTY_TEXT = "No treatments recorded"
TITLE = "Treatments"
SUBTITLE = ["Bar thickness steps with the dose", "An arrow at an edge: the period goes on beyond the chart"]
VARIANTS = 4  # label texts per segment, longest first

COLUMNS = ["drug", "x", "x2", "frac", "bar_px", "past_left", "past_right", *(f"text_{i}" for i in range(VARIANTS)),
           *(f"px_{i}" for i in range(VARIANTS)), "dose_text", "start_text", "end_text", "route", "reason", "color"]


def drug_order(medications: pd.DataFrame) -> list[str]:
    """Drugs in order of their first start."""
    first = medications.groupby("drug", sort=False)["start_date"].min().sort_values(kind="stable")
    return [str(d) for d in first.index]


def _texts(dose: str, amount: str, start: str, end: str, ongoing: bool, past_left: bool, past_right: bool) -> list:
    """The label variants of one segment, longest first; "" where a shorter one would repeat."""
    if past_right and ongoing:
        texts = [f"{dose}, ongoing since {start}", f"{amount}, since {start}", f"since {start}", amount]
    elif past_right:
        texts = [f"{dose}, {start} to {end}", f"{amount}, to {end}", f"to {end}", amount]
    elif past_left:
        texts = [f"{dose}, since {start}", f"{amount}, since {start}", amount, ""]
    else:
        texts = [dose, amount, "", ""]
    return texts


def prepare_periods(medications: pd.DataFrame | None, time_axis: TimeAxis) -> pd.DataFrame:
    """One row per period inside the window, clipped to it: x, x2, the fraction of the axis it spans, bar
    thickness, whether it goes on past either edge, its label variants and their widths, tooltip text."""
    if medications is None or medications.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = medications[medications["start_date"].notna()].copy()
    low, high = time_axis.date_bounds()
    frame = frame[(frame["start_date"] <= high) & (frame["end_date"].isna() | (frame["end_date"] >= low))]
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["drug"] = frame["drug"].astype(str)
    ongoing = frame["end_date"].isna()
    frame["past_left"] = frame["start_date"] < low
    frame["past_right"] = ongoing | (frame["end_date"] > high)
    frame["plot_start"] = frame["start_date"].where(~frame["past_left"], low)
    frame["plot_end"] = frame["end_date"].where(~frame["past_right"], high)
    frame = time_axis.add_x(frame, "plot_start", X)
    frame = time_axis.add_x(frame, "plot_end", X2)
    frame["frac"] = [time_axis.fraction(b) - time_axis.fraction(a) for a, b in zip(frame[X], frame[X2], strict=True)]
    lo, hi = frame["dose"].min(), frame["dose"].max()
    if pd.isna(lo) or hi == lo:
        frame["bar_px"] = (MIN_BAR_PX + MAX_BAR_PX) / 2
    else:
        frame["bar_px"] = MIN_BAR_PX + (frame["dose"].fillna(lo) - lo) / (hi - lo) * (MAX_BAR_PX - MIN_BAR_PX)
    frame["dose_text"] = [labels.dose_label(d, u, f) for d, u, f in
                          zip(frame["dose"], frame["dose_unit"], frame["frequency"], strict=True)]
    frame["start_text"] = [labels.date_text(d) for d in frame["start_date"]]
    frame["end_text"] = [labels.date_text(d) if not o else "ongoing" for d, o in
                         zip(frame["end_date"], ongoing, strict=True)]
    texts = [
        _texts(dose, labels.dose_label(d, u), start, end, bool(o), bool(left), bool(right))
        for dose, d, u, start, end, o, left, right in zip(
            frame["dose_text"], frame["dose"], frame["dose_unit"], frame["start_text"], frame["end_text"], ongoing,
            frame["past_left"], frame["past_right"], strict=True)
    ]
    for i in range(VARIANTS):
        frame[f"text_{i}"] = [t[i] for t in texts]
        # the room a text needs: itself, the padding, and the arrows at the edges it must not cover
        frame[f"px_{i}"] = [len(t[i]) * labels.CHAR_PX + 2 * LABEL_PAD_PX + ARROW_PX * (left + right) if t[i]
                            else 1e9 for t, left, right in zip(texts, frame["past_left"], frame["past_right"],
                                                               strict=True)]
    colors = {drug: palette.drug_color(i) for i, drug in enumerate(drug_order(frame))}
    frame["color"] = frame["drug"].map(colors)
    for col in ("route", "reason"):
        frame[col] = frame[col].fillna("").astype(str)
    frame = frame.sort_values(["drug", "x"]).reset_index(drop=True)
    return frame[COLUMNS]


def _tooltip() -> list[dict]:
    return [
        vl.tooltip("drug:N", "Drug"),
        vl.tooltip("dose_text:N", "Dose"),
        vl.tooltip("route:N", "Route"),
        vl.tooltip("start_text:N", "Start"),
        vl.tooltip("end_text:N", "End"),
        vl.tooltip("reason:N", "Reason"),
    ]


def lane_layers(periods: pd.DataFrame, time_axis: TimeAxis) -> list[dict]:
    """Bars, edge arrows and the labels that fit."""
    order = sorted(dict.fromkeys(periods["drug"]), key=lambda d: periods.loc[periods["drug"] == d, "x"].min())

    def y() -> dict:
        return vl.field("drug:N", sort=order, axis=y_axis(None, labelFontWeight="bold"),
                        scale={"paddingInner": 0.25, "paddingOuter": 0.15})

    data = vl.inline(periods)
    tips = _tooltip()
    fill = vl.field("color:N", scale=None)
    px = vl.px_width(time_axis.width)
    layers = [
        vl.view(
            data,
            vl.mark("bar", opacity=0.8, stroke="white", strokeWidth=1.5, cornerRadius=2),
            {"x": time_axis.x(X), "x2": time_axis.x2(X2), "y": y(), "color": fill,
             "size": vl.field("bar_px:Q", scale=None), "tooltip": tips},
            description="medication_bars",
        ),
        vl.view(
            data,
            vl.mark("point", shape="triangle-right", filled=True, size=110, opacity=1, xOffset=-6,
                    color=palette.TEXT),
            {"x": time_axis.x(X2), "y": y(), "tooltip": tips},
            description="ongoing_arrow", filters=("datum.past_right",),
        ),
        vl.view(
            data,
            vl.mark("point", shape="triangle-left", filled=True, size=110, opacity=1, xOffset=6,
                    color=palette.TEXT),
            {"x": time_axis.x(X), "y": y(), "tooltip": tips},
            description="earlier_arrow", filters=("datum.past_left",),
        ),
    ]
    for i in range(VARIANTS):
        # Shown when it fits and the longer text before it does not.
        test = f"datum.frac * {px} >= datum.px_{i}" + (f" && datum.frac * {px} < datum.px_{i - 1}" if i else "")
        for past_left, dx in ((False, LABEL_PAD_PX), (True, LABEL_PAD_PX + ARROW_PX)):
            layers.append(vl.view(
                data,
                vl.mark("text", align="left", baseline="middle", dx=dx, fontSize=vl.FONT_PX, color=palette.BLACK),
                {"x": time_axis.x(X), "y": y(), "text": vl.field(f"text_{i}:N"), "tooltip": tips,
                 "opacity": vl.condition(test, 1, 0)},
                description="dose_labels",
                filters=("datum.past_left" if past_left else "!datum.past_left",),
            ))
    return layers


def medication_lanes(
    medications: pd.DataFrame | None,
    *,
    events: pd.DataFrame | None = None,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int | None = None,
    legend: bool = True,
) -> dict:
    """One lane per drug with dose-labelled periods, the events and treatment changes as rules across them,
    and (``legend``) the events' legend underneath. ``time_axis``: the patient's shared axis (default: the
    window of these frames); ``width`` None: the container's width."""
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(medications=medications, events=events))
    time_axis = time_axis.sized(width)
    periods = prepare_periods(medications, time_axis)
    n_lanes = periods["drug"].nunique() if len(periods) else 1
    marks = event_rules.prepare_annotations(events, time_axis, changes)
    rules = event_rules.rule_layers(marks, time_axis, legend=event_rules.events_legend(marks) if legend else None)
    if periods.empty:
        placeholder = vl.view(
            vl.inline(pd.DataFrame({"text": [EMPTY_TEXT]})),
            vl.mark("text", fontSize=vl.FONT_PX + 1, color=palette.MUTED_TEXT, fontStyle="italic", align="left",
                    dx=6),
            {"x": vl.value(0), "y": vl.value(LANE_PX / 2), "text": vl.field("text:N")},
            description="no_treatments",
        )
        base_axis = vl.view(
            vl.inline(periods),
            vl.mark("bar"),
            {"x": time_axis.x(X), "y": vl.field("drug:N", axis=y_axis(None, labels=False, ticks=False))},
        )
        layers = [base_axis, *rules, placeholder]
    else:
        lanes = lane_layers(periods, time_axis)
        texts = [layer for layer in lanes if layer.get("description") == "dose_labels"]
        layers = [*(layer for layer in lanes if layer not in texts), *rules, *texts]
    spec = vl.layer(*layers, resolve={"scale": {"color": "independent", "shape": "independent"}},
                    height=LANE_PX * n_lanes, title=vl.title(TITLE, subtitle=SUBTITLE, anchor="start"))
    return vl.sized(spec, width)
