"""The total mRSS over time: visit mean, individual raters, noise band, responder thresholds, and the events
and treatment changes as labelled rules (dose steps: "imatinib 200 → 400 mg").

Inputs (analysis/frames.py):
- assessments: ASSESSMENT_COLUMNS — one row per rater and visit; used for the raters' own totals;
- visits: patient_id, visit_date, n_raters, mrss, 17 site columns, optionally change and change_pct
  (``analysis.baseline.change_from_baseline``; without them the tooltip has no change);
- events: EVENT_COLUMNS; changes: ``analysis.what_changed.treatment_changes``.
The numbers come from ``analysis/``: the thresholds from ``analysis.response_lines``, the change from the
visits frame, what followed each treatment change from the changes. This module only draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from analysis.response_lines import improvement_line, improvement_words, progression_line, progression_words
from analysis.stats import round_half_away
from analysis.what_changed import TreatmentChange
from charts import event_rules, labels, palette, vl
from charts.time_axis import TimeAxis, X, chart_window, make_time_axis, y_axis
from models.catalog import MRSS_MAX, NOISE_BETWEEN_RATERS, RESPONSE_PERCENT, RESPONSE_POINTS

Y_TITLE = f"mRSS, points (0–{MRSS_MAX})"
TITLE = "Total skin score (mRSS)"
THRESHOLD_RULE = (
    f"a change of more than {labels.number(RESPONSE_POINTS)} points and at least "
    f"{labels.number(RESPONSE_PERCENT)}% from baseline (EUSTAR; Wu 2019)"
)
# Short lines: a subtitle wider than a tablet's chart would be cut.
SUBTITLE = [
    "Dots: visit mRSS (mean of raters) · circles: each rater's total",
    f"Grey band: baseline ± {labels.number(NOISE_BETWEEN_RATERS)} points, the noise between raters",
    f"Dashed: improved / progressed (> {labels.number(RESPONSE_POINTS)} points and ≥ "
    f"{labels.number(RESPONSE_PERCENT)}% from baseline)",
]
SCREEN_LINE = "Vertical lines: events, treatment changes; hover one for what followed"
PRINT_LINE = "Vertical lines: events and treatment changes (what followed each: see below)"
EMPTY_TITLE = "No mRSS recorded yet"
HEIGHT = 250
LABEL_MARGIN_PX = 30  # the threshold labels end this far left of the axis, clear of its numbers


def _has_baseline(baseline) -> bool:
    return baseline is not None and not pd.isna(baseline)


def _rater_frame(assessments: pd.DataFrame | None, time_axis: TimeAxis) -> pd.DataFrame:
    cols = ["visit_date", "rater_name", "total", "total_text", "x", "date_text", "n_at_visit"]
    if assessments is None or assessments.empty:
        return pd.DataFrame(columns=cols)
    frame = assessments[assessments["visit_date"].notna()].copy()
    frame["rater_name"] = [labels.rater_name(r) for r in frame["rater"]]
    frame["total_text"] = [labels.number(t) or "incomplete" for t in frame["total"]]
    frame["n_at_visit"] = frame.groupby("visit_date")["rater"].transform("size")
    frame["date_text"] = [labels.date_text(d) for d in frame["visit_date"]]
    frame = time_axis.add_x(frame, "visit_date")
    return frame[cols]


def _change_text(change, pct) -> str:
    if change is None or pd.isna(change):
        return ""
    text = f"{labels.signed(round_half_away(float(change), 1))} points"
    if pct is not None and not pd.isna(pct):
        text += f" ({labels.signed(float(pct), 0)}%)"
    return text


def _visit_frame(visits, raters: pd.DataFrame, time_axis: TimeAxis) -> pd.DataFrame:
    cols = ["x", "mrss", "date_text", "mrss_text", "n_raters", "rater_totals", "change_text"]
    if visits is None or visits.empty:
        return pd.DataFrame(columns=cols)
    frame = visits[visits["mrss"].notna() & visits["visit_date"].notna()].copy()
    if frame.empty:
        return pd.DataFrame(columns=cols)
    by_date = {
        date: "; ".join(f"{n}: {t}" for n, t in zip(g["rater_name"], g["total_text"], strict=True))
        for date, g in raters.groupby("visit_date")
    }
    frame["rater_totals"] = [by_date.get(d, "") for d in frame["visit_date"]]
    frame["date_text"] = [labels.date_text(d) for d in frame["visit_date"]]
    frame["mrss_text"] = [labels.number(round_half_away(m, 2)) for m in frame["mrss"]]
    change = frame["change"] if "change" in frame else pd.Series(float("nan"), index=frame.index)
    pct = frame["change_pct"] if "change_pct" in frame else pd.Series(float("nan"), index=frame.index)
    frame["change_text"] = [_change_text(c, p) for c, p in zip(change, pct, strict=True)]
    frame = time_axis.add_x(frame, "visit_date").sort_values("x")
    return frame[cols]


def y_top(values: list[float], baseline, label_rows: int, height: int) -> float:
    """0–51, or tighter: room above the data for the band, the progression line and the label rows."""
    candidates = [v for v in values if v is not None and not pd.isna(v)]
    if _has_baseline(baseline):
        candidates += [baseline + NOISE_BETWEEN_RATERS, progression_line(baseline) + 2]
    if not candidates:
        return float(MRSS_MAX)
    labels_px = event_rules.FIRST_ROW_PX + label_rows * event_rules.ROW_PX + 6
    top = max(candidates) / max(1 - labels_px / height, 0.4) + 2
    return float(min(MRSS_MAX, math.ceil(top / 5) * 5))


def _reference_layers(baseline, time_axis: TimeAxis, y_scale: dict) -> list[dict]:
    if not _has_baseline(baseline):
        return []
    low, high = time_axis.low, time_axis.high
    top = y_scale["domain"][1]
    band = vl.inline(pd.DataFrame({
        "x": [low], "x2": [high], "lo": [max(0.0, baseline - NOISE_BETWEEN_RATERS)],
        "hi": [min(top, baseline + NOISE_BETWEEN_RATERS)],
        "label": [f"baseline {labels.number(baseline)} ± {labels.number(NOISE_BETWEEN_RATERS)} (noise between raters)"],
    }))
    layers = [
        vl.view(
            band,
            vl.mark("rect", color=palette.NOISE_BAND, opacity=0.35),
            {"x": time_axis.x("x"), "x2": time_axis.x2("x2"), "y": vl.field("lo:Q", scale=y_scale),
             "y2": vl.field("hi"), "tooltip": [vl.tooltip("label:N", "Band")]},
            description="noise_band",
        )
    ]
    lines = []
    improved = improvement_line(baseline)
    if improved > 0:
        lines.append(("improvement_threshold", improved, palette.IMPROVEMENT_LINE, "improved",
                      improvement_words(baseline)))
    progressed = progression_line(baseline)
    if progressed <= top:
        lines.append(("progression_threshold", progressed, palette.PROGRESSION_LINE, "progressed",
                      progression_words(baseline)))
    for name, value, color, word, where in lines:
        short = where.replace(" or lower", "").replace(" or higher", "")
        sign = "≤" if where.endswith("or lower") else "≥" if where.endswith("or higher") else ""
        ref = vl.inline(pd.DataFrame({"x": [low], "x2": [high], "y": [value],
                                      "label": [f"{word}\n{sign} {short}" if sign else f"{word}\n{short}"],
                                      "tip": [f"{word}: {where} — {THRESHOLD_RULE}"]}))
        layers.append(vl.view(
            ref,
            vl.mark("rule", color=color, strokeDash=[6, 4], strokeWidth=1.5),
            {"x": time_axis.x("x"), "x2": time_axis.x2("x2"), "y": vl.field("y:Q", scale=y_scale),
             "tooltip": [vl.tooltip("tip:N", "Threshold")]},
            description=name,
        ))
        # In the room the y axis keeps for its labels (the numbers need little of it), left of the numbers:
        # never over the data, and nothing right of the plot, so the panels below keep the same plot width.
        layers.append(vl.view(
            ref,
            vl.mark("text", align="right", baseline="middle", dx=-LABEL_MARGIN_PX, fontSize=vl.FONT_PX, color=color,
                    fontWeight="bold", lineHeight=13, lineBreak="\n"),
            {"x": vl.value(0), "y": vl.field("y:Q", scale=y_scale), "text": vl.field("label:N"),
             "tooltip": [vl.tooltip("tip:N", "Threshold")]},
            description=f"{name}_label",
        ))
    return layers


def mrss_panel(
    assessments: pd.DataFrame | None,
    visits: pd.DataFrame | None,
    *,
    baseline_mrss: float | None,
    events: pd.DataFrame | None = None,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int | None = None,
    height: int = HEIGHT,
    note: str = "",
    printed: bool = False,
) -> dict:
    """Total mRSS per visit with raters, noise band, thresholds, events and treatment changes.

    ``time_axis`` is the patient's shared axis (charts.time_axis); without it, the default window of these
    frames. ``width`` None: the container's width. ``printed``: for paper (no "hover" in the subtitle).
    """
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(visits=visits, events=events))
    time_axis = time_axis.sized(width)
    raters = _rater_frame(assessments, time_axis)
    vis = _visit_frame(visits, raters, time_axis)
    multi = raters[(raters["n_at_visit"] >= 2) & raters["total"].notna()] if len(raters) else raters
    marks = event_rules.prepare_annotations(events, time_axis, changes)
    rows = int(marks["row"].max()) + 1 if len(marks) else 0
    y_scale = {"domain": [0, y_top(list(vis["mrss"]) + list(multi["total"]), baseline_mrss, rows, height)],
               "nice": False}

    def y() -> dict:
        return vl.field("mrss:Q", scale=y_scale, axis=y_axis(Y_TITLE))

    tips = [
        vl.tooltip("date_text:N", "Date"),
        vl.tooltip("mrss_text:N", "mRSS (points)"),
        vl.tooltip("n_raters:Q", "Raters (n)"),
        vl.tooltip("rater_totals:N", "Rater totals"),
        vl.tooltip("change_text:N", "Change from baseline"),
    ]
    if time_axis.is_days:
        tips.insert(1, vl.tooltip("x:Q", "Day", format="d"))
    visit_rows = vl.inline(vis)
    layers = [
        *_reference_layers(baseline_mrss, time_axis, y_scale),
        *event_rules.rule_layers(marks, time_axis, from_markers=True),
        *event_rules.label_layers(marks, time_axis),
        vl.view(visit_rows, vl.mark("line", color=palette.MRSS_LINE, strokeWidth=2),
                {"x": time_axis.x(X), "y": y(), "tooltip": tips}, description="mrss_line"),
        vl.view(
            vl.inline(multi.rename(columns={"total": "mrss"})),
            vl.mark("point", shape="circle", filled=False, size=38, strokeWidth=1.3, color=palette.MUTED_TEXT),
            {"x": time_axis.x(X), "y": y(), "tooltip": [
                vl.tooltip("date_text:N", "Date"), vl.tooltip("rater_name:N", "Rater"),
                vl.tooltip("total_text:N", "Rater total (points)")]},
            description="rater_points",
        ),
        vl.view(visit_rows, vl.mark("point", filled=True, size=70, color=palette.MRSS_LINE),
                {"x": time_axis.x(X), "y": y(), "tooltip": tips}, description="mrss_points"),
    ]
    title = TITLE if not vis.empty else EMPTY_TITLE
    subtitle = [*SUBTITLE, PRINT_LINE if printed else SCREEN_LINE] + ([note] if note else [])
    return vl.sized(vl.layer(*layers, height=height,
                             title=vl.title(title, subtitle=subtitle, anchor="start")), width)
