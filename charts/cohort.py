"""Cohort charts for the trial coordinators' screen (PRODUCT.md screen 6), as Vega-Lite dicts (charts/vl.py).

The numbers (change, categories, means, confidence intervals, patients per bin) come from ``analysis/``;
these builders only draw them. The mean's 95 % band is drawn only where at least MIN_PATIENTS_FOR_BAND
patients contribute (with two, the interval is too wide to read), and every mark that could reach past
its axis is clipped to the plot, so that it never squeezes the plot or covers the titles.
"""

from __future__ import annotations

import pandas as pd

from analysis.activity import ACTIVE_FROM
from analysis.stats import round_half_away
from charts import palette, vl
from charts.labels import CHAR_PX, number, signed
from models.catalog import MRSS_MAX, RESPONSE_PERCENT, RESPONSE_POINTS, SITE_CODES, SITES_BY_CODE

CATEGORIES = tuple(palette.CATEGORY_COLORS)  # improved, stable, progressed
CATEGORY_LABELS = {
    "improved": f"improved (fall > {RESPONSE_POINTS:g} points and ≥ {RESPONSE_PERCENT:g}%)",
    "stable": "stable (neither)",
    "progressed": f"progressed (rise > {RESPONSE_POINTS:g} points and ≥ {RESPONSE_PERCENT:g}%)",
}
MRSS_TITLE = f"mRSS, points (0–{MRSS_MAX})"
CHANGE_TITLE = "Change in mRSS from baseline (points)"
# The spaghetti plot's legend: one colour per kind of line.
PATIENT_SERIES = "Each patient"
MEAN_SERIES = "Cohort mean"
CI_SERIES = "95% CI of the mean"
SERIES_COLORS = {PATIENT_SERIES: palette.COHORT_LINE, MEAN_SERIES: palette.COHORT_MEAN, CI_SERIES: palette.COHORT_CI}
MIN_PATIENTS_FOR_BAND = 3
N_LABEL_GAP_PX = 8


def day_zero_text(anchor_drug: str | None) -> str:
    """What day 0 is: the first start of the anchor drug, or the baseline (first) visit."""
    return f"the first start of {anchor_drug}" if anchor_drug else "the baseline visit (first visit with an mRSS)"


def _label_expression(names: dict[str, str]) -> str:
    """A Vega expression giving each legend value its longer label (nested conditionals)."""
    expression = "datum.label"
    for value, label in reversed(list(names.items())):
        expression = f"datum.label === {value!r} ? {label!r} : ({expression})"
    return expression


def _series_color() -> dict:
    return vl.field(
        "series:N",
        scale={"domain": list(SERIES_COLORS), "range": list(SERIES_COLORS.values())},
        legend={"title": None, "orient": "top", "symbolType": "square", "symbolOpacity": 1},
    )


def _band_segments(curve: pd.DataFrame) -> pd.DataFrame:
    """The bins where the band is drawn (n ≥ MIN_PATIENTS_FOR_BAND), each run of neighbouring bins numbered
    as one segment, so that the band breaks where too few patients remain instead of bridging them."""
    rows = curve.dropna(subset=["ci_low", "ci_high"]).sort_values("day").reset_index(drop=True)
    if rows.empty:
        return rows.assign(segment=pd.Series(dtype="int64"))
    steps = rows["day"].diff()
    step = steps[steps > 0].min() if (steps > 0).any() else 1
    enough = pd.to_numeric(rows["n"], errors="coerce").fillna(0) >= MIN_PATIENTS_FOR_BAND
    starts = enough & (~enough.shift(fill_value=False) | (steps > 1.5 * step))
    rows["segment"] = starts.cumsum()
    return rows[enough].reset_index(drop=True)


def spaghetti(
    trajectories: pd.DataFrame,
    mean_curve: pd.DataFrame,
    *,
    anchor_drug: str | None = None,
    n_patients: int | None = None,
    width: int | None = None,
    height: int = 340,
) -> dict:
    """Each patient's mRSS against days since day 0, with the cohort mean, its 95 % CI band where at least
    three patients contribute, and the number of patients of each bin along the axis.

    trajectories: one row per patient and visit — ``patient_id`` (str), ``day`` (days since day 0,
        numeric), ``mrss`` (float).
    mean_curve: one row per bin — ``day``, ``mean``, ``ci_low``, ``ci_high``, ``n`` (patients in the bin),
        as from ``analysis.cohort.mean_curve``.
    anchor_drug: day 0 is the first start of this drug; None: the baseline (first) visit.
    n_patients: patients in the cohort when `trajectories` holds only a sample of them (for the title).
    width: None fills the container.
    """
    traj = (
        trajectories[["patient_id", "day", "mrss"]].dropna(subset=["day", "mrss"]).sort_values(["patient_id", "day"])
        if len(trajectories) else pd.DataFrame(columns=["patient_id", "day", "mrss"])
    )
    curve = mean_curve.copy() if mean_curve is not None else pd.DataFrame(columns=["day", "mean", "ci_low", "ci_high"])
    if "n" not in curve:
        curve["n"] = pd.NA
    curve = curve.sort_values("day").reset_index(drop=True)
    traj = traj.assign(series=PATIENT_SERIES)
    band_rows = _band_segments(curve).assign(series=CI_SERIES)
    counts = curve.dropna(subset=["n"]).reset_index(drop=True)
    counts = counts.assign(n_text=[f"{int(n)}" for n in counts["n"]], index=range(len(counts)))
    curve = curve.assign(series=MEAN_SERIES)
    zero_text = day_zero_text(anchor_drug)
    x = vl.field("day:Q", title=f"Days since {zero_text}", axis={"format": "d"})
    y_scale = {"domain": [0, MRSS_MAX], "nice": False}
    color = _series_color()
    curve_tips = [
        vl.tooltip("day:Q", "Day (centre of a 3-month bin)", format="d"),
        vl.tooltip("mean:Q", "Mean mRSS (points)", format=".1f"),
        vl.tooltip("ci_low:Q", "95% CI from", format=".1f"),
        vl.tooltip("ci_high:Q", "95% CI to", format=".1f"),
        vl.tooltip("n:Q", "Patients in the bin (n)"),
    ]
    lines = vl.view(
        vl.inline(traj),
        vl.mark("line", strokeWidth=1, opacity=0.7, clip=True),
        {"x": x, "y": vl.field("mrss:Q", scale=y_scale, title=MRSS_TITLE), "detail": vl.field("patient_id:N"),
         "color": color, "tooltip": [vl.tooltip("patient_id:N", "Patient"), vl.tooltip("day:Q", "Day", format="d"),
                                     vl.tooltip("mrss:Q", "mRSS (points)", format=".1f")]},
        description="patient_lines",
    )
    band = vl.view(
        vl.inline(band_rows),
        vl.mark("area", opacity=0.35, clip=True),
        {"x": x, "y": vl.field("ci_low:Q", scale=y_scale, title=MRSS_TITLE), "y2": vl.field("ci_high"),
         "detail": vl.field("segment:N"), "color": color, "tooltip": curve_tips},
        description="ci_band",
    )
    # A bin whose neighbours have too few patients has no area to draw: its interval shows as a whisker too.
    whiskers = vl.view(
        vl.inline(band_rows),
        vl.mark("rule", opacity=0.8, strokeWidth=2, clip=True),
        {"x": x, "y": vl.field("ci_low:Q", scale=y_scale, title=MRSS_TITLE), "y2": vl.field("ci_high"),
         "color": color, "tooltip": curve_tips},
        description="ci_whiskers",
    )
    mean = vl.view(
        vl.inline(curve),
        vl.mark("line", strokeWidth=3, clip=True, point={"size": 30, "filled": True}),
        {"x": x, "y": vl.field("mean:Q", scale=y_scale, title=MRSS_TITLE), "color": color, "tooltip": curve_tips},
        description="mean_line",
    )
    zero = vl.view(
        vl.inline(pd.DataFrame({"day": [0], "label": [f"day 0: {zero_text}"]})),
        vl.mark("rule", color=palette.BLACK, strokeDash=[2, 3]),
        {"x": x, "tooltip": [vl.tooltip("label:N", "Day 0")]},
        description="day_zero",
    )
    # n of each bin along the bottom of the plot; every k-th bin when the bins are narrower than the numbers.
    days = [float(d) for d in traj["day"]] + [float(d) for d in curve["day"]]
    span = (max(days) - min(days)) if days else 1.0
    bin_frac = (float(counts["day"].diff().min()) if len(counts) > 1 else span) / max(span, 1.0)
    need = max((len(t) for t in counts["n_text"]), default=1) * CHAR_PX + N_LABEL_GAP_PX
    every = f"max(1, ceil({need:.4g} / ({vl.px_width(width)} * {max(bin_frac, 1e-6):.6g})))"
    n_row = vl.view(
        vl.inline(counts[["day", "n", "n_text", "index"]]),
        vl.mark("text", baseline="bottom", dy=-3, fontSize=vl.FONT_PX - 1, color=palette.MUTED_TEXT, clip=True),
        {"x": x, "y": vl.value("height"), "text": vl.field("n_text:N"),
         "opacity": vl.condition(f"datum.index % {every} == 0", 1, 0),
         "tooltip": [vl.tooltip("day:Q", "Day (centre of a 3-month bin)", format="d"),
                     vl.tooltip("n:Q", "Patients in the bin (n)")]},
        description="bin_counts",
    )
    drawn = traj["patient_id"].nunique()
    total = n_patients if n_patients is not None else drawn
    who = (f"{drawn:,} of {total:,} patients drawn; the mean and its band use every patient" if total > drawn
           else f"{drawn:,} patient{'' if drawn == 1 else 's'}")
    title = vl.title(
        "mRSS of each patient from day 0" if drawn else "No patient of this cohort has a baseline mRSS",
        subtitle=[f"{who}. Dotted line: day 0 = {zero_text}.",
                  f"Band: 95% CI of the mean, where {MIN_PATIENTS_FOR_BAND} or more patients contribute.",
                  "Numbers along the bottom: the patients of each 3-month bin (n)."],
        anchor="start",
    )
    return vl.sized(vl.layer(band, whiskers, lines, zero, mean, n_row, height=height, title=title), width)


def waterfall(
    changes: pd.DataFrame,
    *,
    window: str = "",
    width: int | None = None,
    height: int = 300,
) -> dict:
    """One bar per patient, sorted by change from baseline (largest rise left), coloured by category.

    changes: one row per patient — ``patient_id`` (str), ``change`` (points, float), ``category``
        ("improved", "stable" or "progressed"); optionally ``change_pct``, ``baseline`` and ``mrss``.
    ``window`` names the visit window (e.g. "12 months") in the title.
    """
    frame = (
        changes.dropna(subset=["change"]).copy()
        if len(changes)
        else pd.DataFrame(columns=["patient_id", "change", "category"])
    )
    for col in ("change_pct", "baseline", "mrss"):
        if col not in frame:
            frame[col] = float("nan")
    frame = frame.sort_values(["change", "patient_id"], ascending=[False, True]).reset_index(drop=True)
    frame["change_text"] = [signed(c, 1, " points") for c in frame["change"]]
    frame["pct_text"] = [signed(p, 0, "%") for p in frame["change_pct"]]
    frame["response"] = [CATEGORY_LABELS.get(c, "") for c in frame["category"]]
    order = list(frame["patient_id"].astype(str))
    many = len(order) > 40
    x_title = f"Patients (n = {len(order)}), sorted by change" + (" — hover a bar for the patient" if many else "")
    extra: dict = {}
    if many:
        # One slot per patient on a numeric axis: a band scale of thousands of patient names draws nothing
        # (Vega gave the 20,000-patient waterfall no height at all), and no name could be read anyway.
        frame["rank"] = range(len(frame))
        frame["rank_end"] = frame["rank"] + 1
        x = vl.field("rank:Q", title=x_title, scale={"domain": [0, len(frame)], "nice": False, "zero": True},
                     axis={"labels": False, "ticks": False, "grid": False})
        extra = {"x2": vl.field("rank_end"), "y2": {"datum": 0}}  # a ranged bar: its slot, from 0
    else:
        x = vl.field("patient_id:N", sort=order, title=x_title,
                     axis={"labels": True, "ticks": True, "labelAngle": -60, "labelLimit": 90})
    y = vl.field("change:Q", title=CHANGE_TITLE)
    bars = vl.view(
        vl.inline(frame),
        vl.mark("bar"),
        {
            "x": x, **extra, "y": y,
            "color": vl.field(
                "category:N", title="Response (CLINICAL.md)",
                scale={"domain": list(CATEGORIES), "range": list(palette.CATEGORY_COLORS.values())},
                legend={"orient": "top", "labelExpr": _label_expression(CATEGORY_LABELS), "symbolType": "square",
                        "symbolOpacity": 1, "labelLimit": 320, "direction": "vertical"},
            ),
            "tooltip": [
                vl.tooltip("patient_id:N", "Patient"),
                vl.tooltip("baseline:Q", "Baseline mRSS (points)", format=".1f"),
                vl.tooltip("mrss:Q", "mRSS at the window visit (points)", format=".1f"),
                vl.tooltip("change_text:N", "Change"),
                vl.tooltip("pct_text:N", "% change"),
                vl.tooltip("response:N", "Response"),
            ],
        },
        description="change_bars",
    )
    refs = pd.DataFrame({"y": [-RESPONSE_POINTS, RESPONSE_POINTS],
                         "label": [f"−{RESPONSE_POINTS:g} points", f"+{RESPONSE_POINTS:g} points"]})
    rules = vl.view(vl.inline(refs), vl.mark("rule", strokeDash=[5, 4], color=palette.BLACK),
                    {"y": vl.field("y:Q"), "tooltip": [vl.tooltip("label:N", "Reference")]},
                    description="response_rules")
    # "+5" above its line at the right edge, "−5" below its line at the left edge: the bars are sorted from the
    # largest rise (left) to the largest fall (right), so those corners stay clear of them at any width.
    rule_text = [
        vl.view(vl.inline(refs[refs["y"] > 0]), vl.mark("text", fontSize=vl.FONT_PX - 1, align="right", dx=-2, dy=-6,
                                                         x="width"),
                {"y": vl.field("y:Q"), "text": vl.field("label:N")}),
        vl.view(vl.inline(refs[refs["y"] < 0]), vl.mark("text", fontSize=vl.FONT_PX - 1, align="left", dx=2, dy=10,
                                                         x=0),
                {"y": vl.field("y:Q"), "text": vl.field("label:N")}),
    ]
    zero = vl.view(vl.inline(pd.DataFrame({"y": [0]})), vl.mark("rule", color="#666666"), {"y": vl.field("y:Q")})
    # A patient with no change has a bar of no height: without a mark the run of them read as a gap, patients
    # missing. Each gets a short thick tick on the zero line, in its category's colour, with the bar's tooltip.
    unchanged = frame[frame["change"] == 0].copy()
    if many:
        unchanged["mid"] = unchanged["rank"] + 0.5
        tick_x = vl.field("mid:Q", title=x_title, scale=x["scale"], axis=x["axis"])
        tick_size = {"expr": f"max(1, width / {len(frame)})"}
    else:
        tick_x, tick_size = x, None
    no_change = vl.view(
        vl.inline(unchanged),
        vl.mark("tick", orient="horizontal", thickness=6, **({"size": tick_size} if tick_size else {})),
        {"x": tick_x, "y": vl.field("change:Q"), "color": bars["encoding"]["color"],
         "tooltip": bars["encoding"]["tooltip"]},
        description="no_change_marks",
    )
    title = vl.title(
        f"Change in mRSS from baseline{f' at {window}' if window else ''}, one bar per patient",
        subtitle=[f"Dashed: ±{RESPONSE_POINTS:g} points. Improved (EUSTAR) / progressed (Wu 2019) also need",
                  f"a change of at least {RESPONSE_PERCENT:g}% of the baseline."]
                 + ([f"A short band on the zero line: no change ({len(unchanged)} patient"
                     f"{'' if len(unchanged) == 1 else 's'})."] if len(unchanged) else []),
        anchor="start",
    )
    return vl.sized(vl.layer(bars, zero, no_change, rules, *rule_text, height=height, title=title), width)


def site_response_bars(
    site_changes: pd.DataFrame,
    *,
    window: str = "",
    width: int | None = None,
) -> dict:
    """Mean change per site: 17 horizontal bars in catalogue order, with 95 % CI whiskers and values.

    site_changes: one row per site — ``site`` (catalogue code), ``mean_change`` (points, 0–3 scale);
        optionally ``n`` (patients) and ``ci_low``/``ci_high``.
    """
    frame = site_changes.copy() if site_changes is not None else pd.DataFrame(columns=["site", "mean_change"])
    frame = frame[frame["site"].isin(SITE_CODES)] if len(frame) else frame
    frame = pd.DataFrame({"site": list(SITE_CODES)}).merge(frame, on="site", how="left")
    for column in ("n", "ci_low", "ci_high"):
        if column not in frame:
            frame[column] = float("nan")
    for column in ("n", "mean_change", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["site_label"] = [SITES_BY_CODE[c].display for c in frame["site"]]
    frame["value_text"] = [signed(v, 2) for v in frame["mean_change"]]
    frame["ci_text"] = [f"{signed(lo, 2)} to {signed(hi, 2)}" if not pd.isna(lo) else "–"
                        for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)]
    frame["direction"] = ["fall" if v < 0 else "rise" if v > 0 else "none" for v in frame["mean_change"].fillna(0)]
    order = [SITES_BY_CODE[c].display for c in SITE_CODES]
    y = vl.field("site_label:N", sort=order, scale={"domain": order}, title="Site")
    extent = [v for column in ("mean_change", "ci_low", "ci_high") for v in frame[column].dropna()] + [0.0]
    low, high = min(extent), max(extent)
    pad = max((high - low) * 0.04, 0.02)
    x_title = "Mean change in site score from baseline (points, 0–3 scale)"
    x_scale = {"domain": [low - (pad if low < 0 else 0), high + (pad if high > 0 else 0)], "nice": False}
    tips = [
        vl.tooltip("site_label:N", "Site"),
        vl.tooltip("value_text:N", "Mean change (points)"),
        vl.tooltip("ci_text:N", "95% CI of the mean"),
        vl.tooltip("n:Q", "Patients scored at both visits (n)", format="d"),
    ]
    color = vl.field(
        "direction:N",
        scale={"domain": ["fall", "rise", "none"],
               "range": [palette.CATEGORY_COLORS["improved"], palette.CATEGORY_COLORS["progressed"],
                         palette.CATEGORY_COLORS["stable"]]},
        legend=None,
    )
    data = vl.inline(frame)
    bars = vl.view(data, vl.mark("bar"),
                   {"x": vl.field("mean_change:Q", title=x_title, scale=x_scale), "y": y, "color": color,
                    "tooltip": tips}, description="site_bars")
    whiskers = vl.view(
        vl.inline(frame.dropna(subset=["ci_low", "ci_high"])),
        vl.mark("rule", color=palette.BLACK, strokeWidth=1.2),
        {"x": vl.field("ci_low:Q", scale=x_scale, title=x_title), "x2": vl.field("ci_high"), "y": y, "tooltip": tips},
        description="site_ci",
    )
    text = vl.view(  # the values as a column right of the plot, clear of the bars and whiskers
        data, vl.mark("text", fontSize=vl.FONT_PX - 1, align="left", dx=8, x="width"),
        {"y": y, "text": vl.field("value_text:N"), "tooltip": tips}, description="site_values",
    )
    zero = vl.view(vl.inline(pd.DataFrame({"v": [0]})), vl.mark("rule", color="#666666"), {"x": vl.field("v:Q")})
    counted = frame["n"].dropna()
    counted = counted[counted > 0] if len(counted) else counted
    n_text = (f"n = {int(counted.min())}" if counted.min() == counted.max() else
              f"n = {int(counted.min())}–{int(counted.max())} per site") if len(counted) else "n = 0"
    title = vl.title(
        f"Mean change per site from baseline{f' to {window}' if window else ''}",
        subtitle=["Blue: fall (softer skin); orange: rise. Whiskers: 95% CI of the mean. Right: the mean.",
                  f"{n_text} patients with the site scored at both visits."],
        anchor="start",
    )
    return vl.sized(vl.layer(bars, whiskers, zero, text, height=17 * 22, title=title), width)


ACTIVITY_STATES = {"active": f"active (≥ {ACTIVE_FROM:g})", "inactive": f"inactive (< {ACTIVE_FROM:g})"}
ACTIVITY_COLORS = {ACTIVITY_STATES["active"]: palette.VERMILLION, ACTIVITY_STATES["inactive"]: palette.BLUE}
AI_MAX = 10.0
BAR_HALF_WIDTH = 0.1  # index points each side of a value: the closest two values the index takes are 0.25 apart


def activity_distribution(panels: list[tuple[str, pd.DataFrame]], *, width: int | None = None,
                          height: int = 110) -> dict:
    """The EUSTAR activity index of the cohort's patients at each time point, one panel per (title, counts) in
    ``panels``, one below the other on the same 0–10 axis: a bar per value the index takes, as tall as the patients
    who have it, coloured active or inactive, with the 2.5 threshold dashed.

    counts: ``analysis.activity.activity_distribution`` rows (eustar_ai, n, pct, active); nothing is counted here.
    """
    x_scale = {"domain": [0, AI_MAX], "nice": False}
    x_axis = {"values": [0, 1, 2, ACTIVE_FROM, 3, 4, 5, 6, 7, 8, 9, 10], "labelExpr": "toString(datum.value)"}
    color = vl.field("state:N", scale={"domain": list(ACTIVITY_COLORS), "range": list(ACTIVITY_COLORS.values())},
                     legend={"title": None, "orient": "top", "direction": "horizontal", "symbolType": "square",
                             "symbolOpacity": 1})
    threshold = vl.inline(pd.DataFrame({"x": [ACTIVE_FROM], "label": [f"active disease from {ACTIVE_FROM:g}"]}))
    charts = []
    for position, (heading, counts) in enumerate(panels):
        frame = counts.copy() if len(counts) else pd.DataFrame(columns=["eustar_ai", "n", "pct", "active"])
        frame["low"] = frame["eustar_ai"].astype("float64") - BAR_HALF_WIDTH
        frame["high"] = frame["eustar_ai"].astype("float64") + BAR_HALF_WIDTH
        frame["state"] = [ACTIVITY_STATES["active" if flag else "inactive"] for flag in frame["active"]]
        frame["value_text"] = [number(v) for v in frame["eustar_ai"]]
        frame["n_text"] = [f"{int(n):,} ({number(round_half_away(float(share), 0))}%)"
                           for n, share in zip(frame["n"], frame["pct"], strict=True)]
        last = position == len(panels) - 1
        x = vl.field("low:Q", scale=x_scale, title="EUSTAR activity index (0–10)" if last else None,
                     axis={**x_axis, "labels": True})
        bars = vl.view(
            vl.inline(frame[["low", "high", "n", "state", "value_text", "n_text"]]), vl.mark("bar"),
            # x and x2 make a bar ranged along x: y2 at 0 makes it rise from the axis instead of a flat tick
            {"x": x, "x2": vl.field("high"), "y2": {"datum": 0},
             "y": vl.field("n:Q", title="Patients", scale={"zero": True},
                           axis={"tickMinStep": 1, "format": "d"}),
             "color": color,
             "tooltip": [vl.tooltip("value_text:N", "EUSTAR-AI"), vl.tooltip("n_text:N", "Patients (% of known)"),
                         vl.tooltip("state:N", "Disease")]},
            description="activity_bars")
        rule = vl.view(threshold, vl.mark("rule", color=palette.VERMILLION, strokeDash=[6, 4], strokeWidth=1.5),
                       {"x": vl.field("x:Q", scale=x_scale), "tooltip": [vl.tooltip("label:N", "Line")]},
                       description="activity_threshold")
        charts.append(vl.sized(vl.layer(bars, rule, height=height,
                                        title=vl.title(heading, anchor="start", fontSize=12)), width))
    return vl.vconcat(*charts, spacing=18, resolve={"scale": {"y": "independent"}})

