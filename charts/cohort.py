"""Cohort charts for the trial coordinators' screen (PRODUCT.md screen 6).

The numbers (change, categories, means, confidence intervals) come from ``analysis/``; these
builders only draw them. Every mark that could reach past its axis (a wide confidence band at the
end of follow-up, where few patients remain) is clipped to the plot, so that it never squeezes the
plot or covers the titles.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import palette
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


def signed(value, digits: int = 1, unit: str = "") -> str:
    """A number with a true minus sign (−3.5) and an explicit plus for rises (+2.0); "–" when missing."""
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    text = f"{abs(value):.{digits}f}"
    sign = "−" if value < 0 and float(text) != 0 else "+" if value > 0 and float(text) != 0 else ""
    return f"{sign}{text}{unit}"


def day_zero_text(anchor_drug: str | None) -> str:
    """What day 0 is: the first start of the anchor drug, or the baseline (first) visit."""
    return f"the first start of {anchor_drug}" if anchor_drug else "the baseline visit (first visit with an mRSS)"


def _label_expression(names: dict[str, str]) -> str:
    """A Vega expression giving each legend value its longer label (nested conditionals)."""
    expression = "datum.label"
    for value, label in reversed(list(names.items())):
        expression = f"datum.label === {value!r} ? {label!r} : ({expression})"
    return expression


def _series_color() -> alt.Color:
    return alt.Color(
        "series:N",
        scale=alt.Scale(domain=list(SERIES_COLORS), range=list(SERIES_COLORS.values())),
        legend=alt.Legend(title=None, orient="top", symbolType="square", symbolOpacity=1, labelFontSize=11),
    )


def _rows(frame: pd.DataFrame) -> alt.InlineData:
    """The frame as inline values. Altair refuses a DataFrame of more than 5,000 rows (a guard meant for
    notebooks); a cohort of thousands of patients has more rows than that, and the browser draws them well."""
    return alt.InlineData(values=alt.utils.sanitize_pandas_dataframe(frame).to_dict(orient="records"))


def spaghetti(
    trajectories: pd.DataFrame,
    mean_curve: pd.DataFrame,
    *,
    anchor_drug: str | None = None,
    n_patients: int | None = None,
    width: int = 860,
    height: int = 340,
) -> alt.LayerChart:
    """Each patient's mRSS against days since day 0, with the cohort mean and its 95 % CI band.

    trajectories: one row per patient and visit — ``patient_id`` (str), ``day`` (days since day 0,
        numeric), ``mrss`` (float).
    mean_curve: one row per time point — ``day``, ``mean``, ``ci_low``, ``ci_high`` (optionally
        ``n``, patients contributing).
    anchor_drug: day 0 is the first start of this drug; None: the baseline (first) visit.
    n_patients: patients in the cohort when `trajectories` holds only a sample of them (for the title).
    """
    traj = (
        trajectories[["patient_id", "day", "mrss"]]
        .dropna(subset=["day", "mrss"])
        .sort_values(["patient_id", "day"])
        if len(trajectories)
        else pd.DataFrame(columns=["patient_id", "day", "mrss"])
    )
    curve = (
        mean_curve.copy()
        if mean_curve is not None
        else pd.DataFrame(columns=["day", "mean", "ci_low", "ci_high"])
    )
    if "n" not in curve:
        curve["n"] = pd.NA
    traj = traj.assign(series=PATIENT_SERIES)
    band_rows = curve.dropna(subset=["ci_low", "ci_high"]).assign(series=CI_SERIES)
    curve = curve.assign(series=MEAN_SERIES)
    zero_text = day_zero_text(anchor_drug)
    x = alt.X("day:Q", title=f"Days since {zero_text}", axis=alt.Axis(format="d"))
    y_scale = alt.Scale(domain=[0, MRSS_MAX], nice=False)
    color = _series_color()
    curve_tips = [
        alt.Tooltip("day:Q", title="Day (centre of a 3-month bin)", format="d"),
        alt.Tooltip("mean:Q", title="Mean mRSS (points)", format=".1f"),
        alt.Tooltip("ci_low:Q", title="95% CI from", format=".1f"),
        alt.Tooltip("ci_high:Q", title="95% CI to", format=".1f"),
        alt.Tooltip("n:Q", title="Patients in the bin (n)"),
    ]
    lines = (
        alt.Chart(_rows(traj))
        .mark_line(strokeWidth=1, opacity=0.7, clip=True)
        .encode(
            x=x,
            y=alt.Y("mrss:Q", scale=y_scale, title=MRSS_TITLE),
            detail="patient_id:N",
            color=color,
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("day:Q", title="Day", format="d"),
                alt.Tooltip("mrss:Q", title="mRSS (points)", format=".1f"),
            ],
        )
        .properties(description="patient_lines")
    )
    band = (
        alt.Chart(band_rows)
        .mark_area(opacity=0.35, clip=True)
        .encode(x=x, y=alt.Y("ci_low:Q", scale=y_scale, title=MRSS_TITLE), y2="ci_high:Q", color=color,
                tooltip=curve_tips)
        .properties(description="ci_band")
    )
    mean = (
        alt.Chart(curve)
        .mark_line(strokeWidth=3, clip=True, point=alt.OverlayMarkDef(size=30, filled=True))
        .encode(x=x, y=alt.Y("mean:Q", scale=y_scale, title=MRSS_TITLE), color=color, tooltip=curve_tips)
        .properties(description="mean_line")
    )
    zero = (
        alt.Chart(pd.DataFrame({"day": [0], "label": [f"day 0: {zero_text}"]}))
        .mark_rule(color=palette.BLACK, strokeDash=[2, 3])
        .encode(x=x, tooltip=[alt.Tooltip("label:N", title="Day 0")])
        .properties(description="day_zero")
    )
    drawn = traj["patient_id"].nunique()
    total = n_patients if n_patients is not None else drawn
    who = (f"{drawn:,} of {total:,} patients drawn; the mean and its band use every patient" if total > drawn
           else f"{drawn:,} patient{'' if drawn == 1 else 's'}")
    title = alt.Title(
        "mRSS of each patient from day 0" if drawn else "No patient of this cohort has a baseline mRSS",
        subtitle=f"{who}. Dotted line: day 0 = {zero_text}.",
        anchor="start",
        subtitleFontSize=11,
    )
    return alt.layer(band, lines, zero, mean).properties(width=width, height=height, title=title)


def waterfall(
    changes: pd.DataFrame,
    *,
    window: str = "",
    width: int = 720,
    height: int = 300,
) -> alt.LayerChart:
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
    if many:
        # One slot per patient on a numeric axis: a band scale of thousands of patient names draws nothing
        # (Vega gave the 20,000-patient waterfall no height at all), and no name could be read anyway.
        frame["rank"] = range(len(frame))
        frame["rank_end"] = frame["rank"] + 1
        x = alt.X("rank:Q", title=x_title, scale=alt.Scale(domain=[0, len(frame)], nice=False, zero=True),
                  axis=alt.Axis(labels=False, ticks=False, grid=False))
        x2 = {"x2": alt.X2("rank_end"), "y2": alt.datum(0)}  # a ranged bar: from its slot's start to its end
    else:
        x = alt.X("patient_id:N", sort=order, title=x_title,
                  axis=alt.Axis(labels=True, ticks=True, labelAngle=-60, labelLimit=90))
        x2 = {}
    y = alt.Y("change:Q", title=CHANGE_TITLE)
    bars = (
        alt.Chart(_rows(frame))
        .mark_bar()
        .encode(
            x=x,
            **x2,
            y=y,
            color=alt.Color(
                "category:N",
                title="Response (CLINICAL.md)",
                scale=alt.Scale(domain=list(CATEGORIES), range=list(palette.CATEGORY_COLORS.values())),
                legend=alt.Legend(orient="top", labelExpr=_label_expression(CATEGORY_LABELS), symbolType="square",
                                  symbolOpacity=1, labelLimit=320),
            ),
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("baseline:Q", title="Baseline mRSS (points)", format=".1f"),
                alt.Tooltip("mrss:Q", title="mRSS at the window visit (points)", format=".1f"),
                alt.Tooltip("change_text:N", title="Change"),
                alt.Tooltip("pct_text:N", title="% change"),
                alt.Tooltip("response:N", title="Response"),
            ],
        )
        .properties(description="change_bars")
    )
    refs = pd.DataFrame(
        {
            "y": [-RESPONSE_POINTS, RESPONSE_POINTS],
            "label": [f"−{RESPONSE_POINTS:g} points", f"+{RESPONSE_POINTS:g} points"],
        }
    )
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=[5, 4], color=palette.BLACK)
        .encode(y="y:Q", tooltip=[alt.Tooltip("label:N", title="Reference")])
        .properties(description="response_rules")
    )
    # "+5" above its line at the right edge, "−5" below its line at the left edge: the bars are sorted from the
    # largest rise (left) to the largest fall (right), so those corners stay clear of them at any width.
    rule_text = alt.layer(
        alt.Chart(refs[refs["y"] > 0]).mark_text(fontSize=10, align="right", dx=-2, dy=-6, x="width")
        .encode(y="y:Q", text="label:N"),
        alt.Chart(refs[refs["y"] < 0]).mark_text(fontSize=10, align="left", dx=2, dy=10, x=0)
        .encode(y="y:Q", text="label:N"),
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#666666").encode(y="y:Q")
    title = alt.Title(
        f"Change in mRSS from baseline{f' at {window}' if window else ''}, one bar per patient",
        subtitle=f"Dashed: ±{RESPONSE_POINTS:g} points. Improved (EUSTAR) / progressed (Wu 2019) also need a "
        f"change of at least {RESPONSE_PERCENT:g}% of the baseline.",
        anchor="start",
        subtitleFontSize=11,
    )
    return alt.layer(bars, zero, rules, rule_text).properties(width=width, height=height, title=title)


def site_response_bars(
    site_changes: pd.DataFrame,
    *,
    window: str = "",
    width: int = 560,
) -> alt.LayerChart:
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
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce").astype("float64")
    frame["mean_change"] = pd.to_numeric(frame["mean_change"], errors="coerce").astype("float64")
    frame["ci_low"] = pd.to_numeric(frame["ci_low"], errors="coerce").astype("float64")
    frame["ci_high"] = pd.to_numeric(frame["ci_high"], errors="coerce").astype("float64")
    frame["site_label"] = [SITES_BY_CODE[c].display for c in frame["site"]]
    frame["value_text"] = [signed(v, 2) for v in frame["mean_change"]]
    frame["ci_text"] = [f"{signed(lo, 2)} to {signed(hi, 2)}" if not pd.isna(lo) else "–"
                        for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)]
    frame["direction"] = ["fall" if v < 0 else "rise" if v > 0 else "none" for v in frame["mean_change"].fillna(0)]
    order = [SITES_BY_CODE[c].display for c in SITE_CODES]
    y = alt.Y("site_label:N", sort=order, scale=alt.Scale(domain=order), title="Site")
    extent = [v for column in ("mean_change", "ci_low", "ci_high") for v in frame[column].dropna()] + [0.0]
    low, high = min(extent), max(extent)
    pad = max((high - low) * 0.04, 0.02)
    x_title = "Mean change in site score from baseline (points, 0–3 scale)"
    x_scale = alt.Scale(domain=[low - (pad if low < 0 else 0), high + (pad if high > 0 else 0)], nice=False)
    x = alt.X("mean_change:Q", title=x_title, scale=x_scale)
    tips = [
        alt.Tooltip("site_label:N", title="Site"),
        alt.Tooltip("value_text:N", title="Mean change (points)"),
        alt.Tooltip("ci_text:N", title="95% CI of the mean"),
        alt.Tooltip("n:Q", title="Patients scored at both visits (n)", format="d"),
    ]
    color = alt.Color(
        "direction:N",
        scale=alt.Scale(domain=["fall", "rise", "none"],
                        range=[palette.CATEGORY_COLORS["improved"], palette.CATEGORY_COLORS["progressed"],
                               palette.CATEGORY_COLORS["stable"]]),
        legend=None,
    )
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(x=x, y=y, color=color, tooltip=tips)
        .properties(description="site_bars")
    )
    whiskers = (
        alt.Chart(frame.dropna(subset=["ci_low", "ci_high"]))
        .mark_rule(color=palette.BLACK, strokeWidth=1.2)
        .encode(x=alt.X("ci_low:Q", scale=x_scale, title=x_title), x2="ci_high:Q", y=y, tooltip=tips)
        .properties(description="site_ci")
    )
    text = (  # the values as a column right of the plot, clear of the bars and whiskers
        alt.Chart(frame)
        .mark_text(fontSize=10, align="left", dx=8, x="width")
        .encode(y=y, text="value_text:N", tooltip=tips)
        .properties(description="site_values")
    )
    zero = alt.Chart(pd.DataFrame({"v": [0]})).mark_rule(color="#666666").encode(x="v:Q")
    counted = frame["n"].dropna()
    counted = counted[counted > 0] if len(counted) else counted
    n_text = (f"n = {int(counted.min())}" if counted.min() == counted.max() else
              f"n = {int(counted.min())}–{int(counted.max())} per site") if len(counted) else "n = 0"
    title = alt.Title(
        f"Mean change per site from baseline{f' to {window}' if window else ''}",
        subtitle=f"Blue: fall (softer skin); orange: rise. Whiskers: 95% CI of the mean. Right: the mean. "
        f"{n_text} patients with the site scored at both visits.",
        anchor="start",
        subtitleFontSize=11,
    )
    return alt.layer(bars, whiskers, zero, text).properties(width=width, height=17 * 22, title=title)
