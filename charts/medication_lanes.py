"""Medication periods as lanes: one row per drug, one bar segment per constant-dose period.

Input: a MEDICATION_COLUMNS frame (analysis/frames.py): drug, dose (float), dose_unit, frequency,
route, start_date, end_date (NaT while ongoing; inclusive), reason. Consecutive periods of one drug
are dose changes: they form one continuous band whose thickness steps with the dose, each segment
labelled with its dose ("400 mg daily"). An ongoing period runs to ``today`` and ends in a lighter,
dashed tail with an arrow head and the word "ongoing".
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette, vl
from charts.event_rules import event_layers, prepare_events
from charts.time_axis import X2, TimeAxis, X, make_time_axis, patient_dates, y_axis

LANE_PX = 34
MIN_BAR_PX = 9
MAX_BAR_PX = 22
TAIL_PX = 54  # the open-ended tail of an ongoing period
LABEL_PAD_PX = 8
EMPTY_TEXT = "No treatments recorded"
Y_TITLE = "Treatment"


def _today(today) -> pd.Timestamp:
    return pd.Timestamp(today).normalize() if today is not None else pd.Timestamp.today().normalize()


def drug_order(medications: pd.DataFrame) -> list[str]:
    """Drugs in order of their first start."""
    first = medications.groupby("drug", sort=False)["start_date"].min().sort_values(kind="stable")
    return [str(d) for d in first.index]


def prepare_periods(
    medications: pd.DataFrame | None, time_axis: TimeAxis, *, today, width: int
) -> pd.DataFrame:
    """One row per period: x, x2 (end or today), tail_x (start of the ongoing tail), label, tooltip text."""
    columns = [
        "drug",
        "x",
        "x2",
        "tail_x",
        "ongoing",
        "bar_px",
        "label",
        "dose_text",
        "start_text",
        "end_text",
        "route",
        "reason",
        "color",
    ]
    if medications is None or medications.empty:
        return pd.DataFrame(columns=columns)
    frame = medications[medications["start_date"].notna()].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    today = _today(today)
    frame["drug"] = frame["drug"].astype(str)
    frame["ongoing"] = frame["end_date"].isna()
    frame["plot_end"] = frame["end_date"].where(~frame["ongoing"], today)
    frame["plot_end"] = frame[["plot_end", "start_date"]].max(axis=1)
    frame = time_axis.add_x(frame, "start_date", X)
    frame = time_axis.add_x(frame, "plot_end", X2)
    px_per_day = width / time_axis.span_days()
    tail_days = TAIL_PX / px_per_day
    tail = pd.Timedelta(days=round(tail_days))
    tail_start = frame[["start_date"]].assign(t=frame["plot_end"] - tail).max(axis=1)
    frame["tail_x"] = time_axis.convert(tail_start.where(frame["ongoing"], frame["plot_end"]))
    max_dose = frame.groupby("drug")["dose"].transform("max")
    ratio = (frame["dose"] / max_dose).where(max_dose > 0)
    frame["bar_px"] = (MIN_BAR_PX + (MAX_BAR_PX - MIN_BAR_PX) * ratio).fillna(MAX_BAR_PX)
    frame["dose_text"] = [
        labels.dose_label(d, u, f)
        for d, u, f in zip(frame["dose"], frame["dose_unit"], frame["frequency"], strict=True)
    ]
    solid_days = (tail_start.where(frame["ongoing"], frame["plot_end"]) - frame["start_date"]) / pd.Timedelta(
        days=1
    )
    frame["label"] = [
        labels.fit(
            text, days * px_per_day - LABEL_PAD_PX, fallbacks=(labels.dose_label(d, u), labels.number(d))
        )
        for text, days, d, u in zip(
            frame["dose_text"], solid_days, frame["dose"], frame["dose_unit"], strict=True
        )
    ]
    frame["start_text"] = [labels.date_text(d) for d in frame["start_date"]]
    frame["end_text"] = [
        labels.date_text(d) if not o else f"ongoing (drawn to {today:%Y-%m-%d})"
        for d, o in zip(frame["end_date"], frame["ongoing"], strict=True)
    ]
    order = drug_order(frame)
    colors = {drug: palette.drug_color(i) for i, drug in enumerate(order)}
    frame["color"] = frame["drug"].map(colors)
    for col in ("route", "reason"):
        frame[col] = frame[col].fillna("").astype(str)
    frame = frame.sort_values(["drug", "x"]).reset_index(drop=True)
    return frame[columns]


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
    """Bars, ongoing tails, arrow heads and dose labels."""
    order = list(dict.fromkeys(periods["drug"]))
    order = sorted(order, key=lambda d: periods.loc[periods["drug"] == d, "x"].min())

    def y() -> dict:
        return vl.field(
            "drug:N",
            sort=order,
            axis=y_axis(Y_TITLE, labelFontSize=12, labelFontWeight="bold"),
            scale={"paddingInner": 0.25, "paddingOuter": 0.15},
        )

    data = vl.inline(periods)
    tips = _tooltip()
    fill = vl.field("color:N", scale=None)
    size = vl.field("bar_px:Q", scale=None)
    ongoing = ("datum.ongoing",)
    solid = vl.view(
        data,
        vl.mark("bar", opacity=0.75, stroke="white", strokeWidth=1.5, cornerRadius=2),
        {"x": time_axis.x(X), "x2": time_axis.x2("tail_x"), "y": y(), "color": fill, "size": size,
         "tooltip": tips},
        description="medication_bars",
    )
    tail = vl.view(
        data,
        vl.mark("bar", opacity=0.3, stroke=palette.BLACK, strokeDash=[3, 2], strokeWidth=0.8),
        {"x": time_axis.x("tail_x"), "x2": time_axis.x2(X2), "y": y(), "color": fill, "size": size,
         "tooltip": tips},
        description="ongoing_tail",
        filters=ongoing,
    )
    arrow = vl.view(
        data,
        vl.mark("point", shape="triangle-right", filled=True, size=90, opacity=1),
        {"x": time_axis.x(X2), "y": y(), "color": fill, "tooltip": tips},
        description="ongoing_arrow",
        filters=ongoing,
    )
    ongoing_text = vl.view(
        data,
        vl.mark("text", align="right", baseline="middle", dx=-7, fontSize=10, fontStyle="italic",
                color="#333333"),
        {"x": time_axis.x(X2), "y": y(), "text": vl.value("ongoing"), "tooltip": tips},
        description="ongoing_text",
        filters=ongoing,
    )
    dose = vl.view(
        data,
        vl.mark("text", align="left", baseline="middle", dx=LABEL_PAD_PX / 2, fontSize=11, color=palette.BLACK),
        {"x": time_axis.x(X), "y": y(), "text": vl.field("label:N"), "tooltip": tips},
        description="dose_labels",
    )
    return [solid, tail, arrow, ongoing_text, dose]


def lanes_chart(medications, events, *, time_axis: TimeAxis, today, width: int) -> dict:
    """The lanes on an already resolved time axis (used by the composed patient timeline)."""
    periods = prepare_periods(medications, time_axis, today=today, width=width)
    n_lanes = periods["drug"].nunique() if len(periods) else 1
    rules = event_layers(
        prepare_events(events, time_axis, width=width), time_axis, with_labels=False, legend=False
    )
    if periods.empty:
        placeholder = vl.view(
            vl.inline(pd.DataFrame({"text": [EMPTY_TEXT]})),
            vl.mark("text", fontSize=12, color="#666666", fontStyle="italic", align="left", dx=6),
            {"x": vl.value(0), "y": vl.value(LANE_PX / 2), "text": vl.field("text:N")},
            description="no_treatments",
        )
        base_axis = vl.view(
            vl.inline(periods),
            vl.mark("bar"),
            {"x": time_axis.x(X), "y": vl.field("drug:N", axis=y_axis(Y_TITLE, labels=False, ticks=False))},
        )
        layers = [base_axis, *rules, placeholder]
    else:
        layers = [*lane_layers(periods, time_axis), *rules]
    return vl.layer(
        *layers,
        resolve={"scale": {"color": "independent"}},
        width=width,
        height=LANE_PX * n_lanes,
        title=vl.title(
            "Treatments",
            subtitle="Bar thickness steps with the dose; dashed tail: ongoing",
            anchor="start",
            subtitleFontSize=11,
        ),
    )


def medication_lanes(medications: pd.DataFrame, **options) -> alt.LayerChart:
    """:func:`medication_lanes_spec` as an Altair chart (the treatments screen stacks it)."""
    return vl.as_altair(medication_lanes_spec(medications, **options))


def medication_lanes_spec(
    medications: pd.DataFrame,
    *,
    axis: str = "date",
    anchor_date=None,
    today=None,
    events: pd.DataFrame | None = None,
    x_domain: tuple | None = None,
    width: int = 720,
    anchor_label: str = "drug start",
) -> dict:
    """One lane per drug with dose-labelled periods; ongoing periods run to ``today``, open-ended.

    ``events`` (EVENT_COLUMNS), when given, are drawn as unlabelled rules across the lanes.
    """
    today = _today(today)
    dates = patient_dates(medications=medications, events=events, today=today)
    time_axis, _ = make_time_axis(
        dates, axis=axis, anchor_date=anchor_date, today=today, x_domain=x_domain, anchor_label=anchor_label
    )
    return lanes_chart(medications, events, time_axis=time_axis, today=today, width=width)
