"""The total mRSS over time: visit mean, individual raters, noise band and responder thresholds.

Inputs (analysis/frames.py):
- assessments: ASSESSMENT_COLUMNS — one row per rater and visit (visit_date, rater, 17 sites, total,
  incomplete); used for the raters' own totals;
- visits: patient_id, visit_date, n_raters, mrss, 17 site columns, optionally change and change_pct
  (from analysis; computed here as mrss − baseline when absent).
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from charts import labels, palette, vl
from charts.event_rules import event_layers, prepare_events
from charts.time_axis import TimeAxis, X, make_time_axis, patient_dates, y_axis
from models.catalog import MRSS_MAX, NOISE_BETWEEN_RATERS, RESPONSE_PERCENT, RESPONSE_POINTS

Y_TITLE = f"mRSS, points (0–{MRSS_MAX})"
SUBTITLE = (
    f"Line: visit mRSS (mean of raters) · hollow circles: each rater's total · grey band: baseline "
    f"± {labels.number(NOISE_BETWEEN_RATERS)} (measurement noise between raters)"
)
THRESHOLD_RULE = (
    f"a change of more than {labels.number(RESPONSE_POINTS)} points and at least "
    f"{labels.number(RESPONSE_PERCENT)}% from baseline (EUSTAR; Wu 2019)"
)
THRESHOLD_SUBTITLE = f"Dashed lines: improved / progressed = {THRESHOLD_RULE}"
EMPTY_TITLE = "No mRSS recorded yet"


def improvement_threshold(baseline: float) -> float:
    """Improved needs a fall of > RESPONSE_POINTS and ≥ RESPONSE_PERCENT %: the stricter line."""
    return min(baseline - RESPONSE_POINTS, baseline * (1 - RESPONSE_PERCENT / 100))


def progression_threshold(baseline: float) -> float:
    """Progressed needs a rise of > RESPONSE_POINTS and ≥ RESPONSE_PERCENT %: the stricter line."""
    return max(baseline + RESPONSE_POINTS, baseline * (1 + RESPONSE_PERCENT / 100))


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
    text = f"{'+' if change > 0 else ''}{labels.number(round(float(change), 1))} points"
    if pct is not None and not pd.isna(pct):
        text += f" ({'+' if pct > 0 else ''}{labels.number(round(float(pct)))}%)"
    return text


def _visit_frame(visits, raters: pd.DataFrame, baseline, time_axis: TimeAxis) -> pd.DataFrame:
    cols = ["x", "mrss", "date_text", "mrss_text", "n_raters", "rater_totals", "change_text"]
    if visits is None or visits.empty:
        return pd.DataFrame(columns=cols)
    frame = visits[visits["mrss"].notna() & visits["visit_date"].notna()].copy()
    if frame.empty:
        return pd.DataFrame(columns=cols)
    if "change" not in frame:
        frame["change"] = frame["mrss"] - baseline if _has_baseline(baseline) else float("nan")
    if "change_pct" not in frame:
        ok = _has_baseline(baseline) and baseline > 0
        frame["change_pct"] = 100 * frame["change"] / baseline if ok else float("nan")
    by_date = {
        date: "; ".join(f"{n}: {t}" for n, t in zip(g["rater_name"], g["total_text"], strict=True))
        for date, g in raters.groupby("visit_date")
    }
    frame["rater_totals"] = [by_date.get(d, "") for d in frame["visit_date"]]
    frame["date_text"] = [labels.date_text(d) for d in frame["visit_date"]]
    frame["mrss_text"] = [labels.number(round(m, 2)) for m in frame["mrss"]]
    frame["change_text"] = [
        _change_text(c, p) for c, p in zip(frame["change"], frame["change_pct"], strict=True)
    ]
    frame = time_axis.add_x(frame, "visit_date").sort_values("x")
    return frame[cols]


def y_top(values: list[float], baseline) -> float:
    """0–51, or tighter (leaving headroom for the event labels at the top)."""
    candidates = [v for v in values if v is not None and not pd.isna(v)]
    if _has_baseline(baseline):
        candidates += [baseline + NOISE_BETWEEN_RATERS, progression_threshold(baseline)]
    if not candidates:
        return float(MRSS_MAX)
    top = math.ceil((max(candidates) * 1.2 + 6) / 5) * 5
    return float(min(MRSS_MAX, top))


def _reference_layers(baseline, time_axis: TimeAxis, y_scale: dict) -> list[dict]:
    if not _has_baseline(baseline):
        return []
    low, high = time_axis.low, time_axis.high
    top = y_scale["domain"][1]
    band = vl.inline(
        pd.DataFrame(
            {
                "x": [low],
                "x2": [high],
                "lo": [max(0.0, baseline - NOISE_BETWEEN_RATERS)],
                "hi": [min(top, baseline + NOISE_BETWEEN_RATERS)],
                "label": [
                    f"baseline {labels.number(baseline)} ± {labels.number(NOISE_BETWEEN_RATERS)}"
                    " (noise between raters)"
                ],
            }
        )
    )
    layers = [
        vl.view(
            band,
            vl.mark("rect", color=palette.NOISE_BAND, opacity=0.35),
            {
                "x": time_axis.x("x"),
                "x2": time_axis.x2("x2"),
                "y": vl.field("lo:Q", scale=y_scale, axis=y_axis(Y_TITLE, title_near_px=36)),
                "y2": vl.field("hi"),
                "tooltip": [vl.tooltip("label:N", "Band")],
            },
            description="noise_band",
        ),
        vl.view(
            band,
            vl.mark("text", align="left", baseline="bottom", dx=4, dy=-2, fontSize=10, color="#555555"),
            {"x": time_axis.x("x"), "y": vl.field("hi:Q", scale=y_scale), "text": vl.field("label:N")},
        ),
    ]
    lines, names = [], []
    improved = improvement_threshold(baseline)
    if improved > 0:
        names.append("improvement_threshold")
        lines.append(
            (improved, palette.IMPROVEMENT_LINE, f"improved\nbelow {labels.number(round(improved, 2))}")
        )
    progressed = progression_threshold(baseline)
    if progressed <= top:
        names.append("progression_threshold")
        lines.append(
            (progressed, palette.PROGRESSION_LINE, f"progressed\nabove {labels.number(round(progressed, 2))}")
        )
    for name, (value, color, text) in zip(names, lines, strict=True):
        ref = vl.inline(
            pd.DataFrame(
                {
                    "x": [low],
                    "x2": [high],
                    "y": [value],
                    "label": [text],
                    "tip": [text.replace("\n", " ") + " — " + THRESHOLD_RULE],
                }
            )
        )
        layers.append(
            vl.view(
                ref,
                vl.mark("rule", color=color, strokeDash=[6, 4], strokeWidth=1.5),
                {
                    "x": time_axis.x("x"),
                    "x2": time_axis.x2("x2"),
                    "y": vl.field("y:Q", scale=y_scale),
                    "tooltip": [vl.tooltip("tip:N", "Threshold")],
                },
                description=name,
            )
        )
        # Outside the plot, to the right: never over the data or the event rules.
        layers.append(
            vl.view(
                ref,
                vl.mark("text", align="left", baseline="middle", dx=6, fontSize=10, color=color,
                        lineBreak="\n", fontWeight="bold"),
                {"x": time_axis.x("x2"), "y": vl.field("y:Q", scale=y_scale), "text": vl.field("label:N")},
            )
        )
    return layers


def mrss_layers(
    assessments, visits, events, *, baseline_mrss, time_axis: TimeAxis, width: int
) -> tuple[list[dict], bool]:
    """The panel's layers (reference, events, data) and whether there is any mRSS to show."""
    raters = _rater_frame(assessments, time_axis)
    vis = _visit_frame(visits, raters, baseline_mrss, time_axis)
    multi = raters[(raters["n_at_visit"] >= 2) & raters["total"].notna()] if len(raters) else raters
    values = list(vis["mrss"]) + list(multi["total"])
    y_scale = {"domain": [0, y_top(values, baseline_mrss)], "nice": False}

    def y() -> dict:
        return vl.field("mrss:Q", scale=y_scale, axis=y_axis(Y_TITLE, title_near_px=36))

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
    layers = [*_reference_layers(baseline_mrss, time_axis, y_scale)]
    layers += event_layers(prepare_events(events, time_axis, width=width), time_axis)
    layers.append(
        vl.view(
            visit_rows,
            vl.mark("line", color=palette.MRSS_LINE, strokeWidth=2),
            {"x": time_axis.x(X), "y": y(), "tooltip": tips},
            description="mrss_line",
        )
    )
    layers.append(
        vl.view(
            vl.inline(multi.rename(columns={"total": "mrss"})),
            vl.mark("point", shape="circle", filled=False, size=38, strokeWidth=1.3, color="#555555"),
            {
                "x": time_axis.x(X),
                "y": y(),
                "tooltip": [
                    vl.tooltip("date_text:N", "Date"),
                    vl.tooltip("rater_name:N", "Rater"),
                    vl.tooltip("total_text:N", "Rater total (points)"),
                ],
            },
            description="rater_points",
        )
    )
    layers.append(
        vl.view(
            visit_rows,
            vl.mark("point", filled=True, size=70, color=palette.MRSS_LINE),
            {"x": time_axis.x(X), "y": y(), "tooltip": tips},
            description="mrss_points",
        )
    )
    return layers, not vis.empty


def mrss_panel(assessments: pd.DataFrame, visits: pd.DataFrame, **options) -> alt.LayerChart:
    """:func:`mrss_panel_spec` as an Altair chart."""
    return vl.as_altair(mrss_panel_spec(assessments, visits, **options))


def mrss_panel_spec(
    assessments: pd.DataFrame,
    visits: pd.DataFrame,
    *,
    baseline_mrss: float | None,
    axis: str = "date",
    anchor_date=None,
    today=None,
    events: pd.DataFrame | None = None,
    x_domain: tuple | None = None,
    width: int = 720,
    height: int = 260,
    anchor_label: str = "drug start",
) -> dict:
    """Total mRSS per visit with raters, noise band and improvement/progression thresholds.

    ``events`` (EVENT_COLUMNS), when given, are layered on as labelled rules. ``x_domain`` is the
    shared domain from :func:`charts.time_axis.patient_x_domain`.
    """
    dates = patient_dates(assessments=assessments, visits=visits, events=events)
    time_axis, note = make_time_axis(
        dates, axis=axis, anchor_date=anchor_date, today=today, x_domain=x_domain, anchor_label=anchor_label
    )
    return panel_chart(
        assessments,
        visits,
        events,
        baseline_mrss=baseline_mrss,
        time_axis=time_axis,
        width=width,
        height=height,
        note=note,
    )


def panel_chart(
    assessments,
    visits,
    events,
    *,
    baseline_mrss,
    time_axis: TimeAxis,
    width: int,
    height: int,
    note: str = "",
) -> dict:
    """The panel on an already resolved time axis (used by the composed patient timeline)."""
    layers, has_data = mrss_layers(
        assessments, visits, events, baseline_mrss=baseline_mrss, time_axis=time_axis, width=width
    )
    title = "Total skin score (mRSS)" if has_data else EMPTY_TITLE
    subtitle = [SUBTITLE, THRESHOLD_SUBTITLE] + ([note] if note else [])
    return vl.layer(
        *layers,
        width=width,
        height=height,
        title=vl.title(title, subtitle=subtitle, anchor="start", subtitleFontSize=11),
    )
