"""Cohort charts for the trial coordinators' screen (PRODUCT.md screen 6).

The numbers (change, categories, means, confidence intervals) come from ``analysis/``; these
builders only draw them.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette
from models.catalog import MRSS_MAX, RESPONSE_PERCENT, RESPONSE_POINTS, SITE_CODES, SITES_BY_CODE

CATEGORIES = tuple(palette.CATEGORY_COLORS)  # improved, stable, progressed
MRSS_TITLE = f"mRSS, points (0–{MRSS_MAX})"
CHANGE_TITLE = "Change in mRSS from baseline (points)"


def spaghetti(
    trajectories: pd.DataFrame,
    mean_curve: pd.DataFrame,
    *,
    anchor_label: str = "drug start",
    width: int = 720,
    height: int = 320,
) -> alt.LayerChart:
    """Each patient's mRSS against days since the anchor, with the cohort mean and its CI band.

    trajectories: one row per patient and visit — ``patient_id`` (str), ``day`` (days since the
        anchor, numeric), ``mrss`` (float).
    mean_curve: one row per time point — ``day``, ``mean``, ``ci_low``, ``ci_high`` (optionally
        ``n``, patients contributing).
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
    x = alt.X("day:Q", title=f"Days since first start of {anchor_label}", axis=alt.Axis(format="d"))
    y_scale = alt.Scale(domain=[0, MRSS_MAX], nice=False)
    curve_tips = [
        alt.Tooltip("day:Q", title="Day", format="d"),
        alt.Tooltip("mean:Q", title="Mean mRSS (points)", format=".1f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
        alt.Tooltip("n:Q", title="Patients (n)"),
    ]
    lines = (
        alt.Chart(traj)
        .mark_line(color=palette.COHORT_LINE, strokeWidth=1, opacity=0.7)
        .encode(
            x=x,
            y=alt.Y("mrss:Q", scale=y_scale, title=MRSS_TITLE),
            detail="patient_id:N",
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("day:Q", title="Day", format="d"),
                alt.Tooltip("mrss:Q", title="mRSS (points)", format=".1f"),
            ],
        )
        .properties(description="patient_lines")
    )
    band = (
        alt.Chart(curve)
        .mark_area(color=palette.COHORT_CI, opacity=0.3)
        .encode(x=x, y=alt.Y("ci_low:Q", scale=y_scale), y2="ci_high:Q", tooltip=curve_tips)
        .properties(description="ci_band")
    )
    mean = (
        alt.Chart(curve)
        .mark_line(color=palette.COHORT_MEAN, strokeWidth=3)
        .encode(x=x, y=alt.Y("mean:Q", scale=y_scale), tooltip=curve_tips)
        .properties(description="mean_line")
    )
    zero = alt.Chart(pd.DataFrame({"day": [0]})).mark_rule(color=palette.BLACK, strokeDash=[2, 3]).encode(x=x)
    n_patients = traj["patient_id"].nunique()
    title = alt.Title(
        "mRSS by patient" if n_patients else "No patients in this cohort have an mRSS",
        subtitle=f"Grey: each patient (n = {n_patients}); blue: cohort mean with 95% confidence band; "
        f"dotted: {anchor_label} start (day 0)",
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
        ("improved", "stable" or "progressed"); optionally ``change_pct`` and ``baseline``.
    ``window`` names the visit window (e.g. "12 months") in the title.
    """
    frame = (
        changes.dropna(subset=["change"]).copy()
        if len(changes)
        else pd.DataFrame(columns=["patient_id", "change", "category"])
    )
    for col in ("change_pct", "baseline"):
        if col not in frame:
            frame[col] = float("nan")
    frame = frame.sort_values(["change", "patient_id"], ascending=[False, True]).reset_index(drop=True)
    frame["change_text"] = [f"{labels.number(round(c, 1))} points" for c in frame["change"]]
    frame["pct_text"] = [f"{labels.number(round(p))}%" if not pd.isna(p) else "" for p in frame["change_pct"]]
    order = list(frame["patient_id"].astype(str))
    many = len(order) > 40
    x = alt.X(
        "patient_id:N",
        sort=order,
        title=f"Patients (n = {len(order)}), sorted by change",
        axis=alt.Axis(labels=not many, ticks=not many, labelAngle=-60, labelLimit=90),
    )
    y = alt.Y("change:Q", title=CHANGE_TITLE)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "category:N",
                title="Category",
                scale=alt.Scale(domain=list(CATEGORIES), range=list(palette.CATEGORY_COLORS.values())),
            ),
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("change_text:N", title="Change"),
                alt.Tooltip("pct_text:N", title="% change"),
                alt.Tooltip("baseline:Q", title="Baseline mRSS"),
                alt.Tooltip("category:N", title="Category"),
            ],
        )
        .properties(description="change_bars")
    )
    refs = pd.DataFrame(
        {
            "y": [-RESPONSE_POINTS, RESPONSE_POINTS],
            "label": [f"−{labels.number(RESPONSE_POINTS)}", f"+{labels.number(RESPONSE_POINTS)}"],
        }
    )
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=[5, 4], color=palette.BLACK)
        .encode(y="y:Q", tooltip=[alt.Tooltip("label:N", title="Reference (points)")])
        .properties(description="response_rules")
    )
    rule_text = (
        alt.Chart(refs)
        .mark_text(align="left", dx=4, fontSize=10)
        .encode(x=alt.value(width), y="y:Q", text="label:N")
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#666666").encode(y="y:Q")
    title = alt.Title(
        f"Change in mRSS from baseline{f' at {window}' if window else ''}",
        subtitle=f"Dashed: ±{labels.number(RESPONSE_POINTS)} points; improved / progressed also need "
        f"≥ {labels.number(RESPONSE_PERCENT)}% change",
        anchor="start",
        subtitleFontSize=11,
    )
    return alt.layer(bars, zero, rules, rule_text).properties(width=width, height=height, title=title)


def site_response_bars(
    site_changes: pd.DataFrame,
    *,
    window: str = "",
    width: int = 520,
) -> alt.LayerChart:
    """Mean change per site: 17 horizontal bars in catalogue order, labelled with the value.

    site_changes: one row per site — ``site`` (catalogue code), ``mean_change`` (points, 0–3 scale);
        optionally ``n`` (patients) and ``ci_low``/``ci_high``.
    """
    frame = site_changes.copy() if site_changes is not None else pd.DataFrame(columns=["site", "mean_change"])
    frame = frame[frame["site"].isin(SITE_CODES)] if len(frame) else frame
    frame = pd.DataFrame({"site": list(SITE_CODES)}).merge(frame, on="site", how="left")
    if "n" not in frame:
        frame["n"] = pd.NA
    frame["site_label"] = [SITES_BY_CODE[c].display for c in frame["site"]]
    frame["value_text"] = [
        labels.number(round(v, 2)) if not pd.isna(v) else "–" for v in frame["mean_change"]
    ]
    order = [SITES_BY_CODE[c].display for c in SITE_CODES]
    y = alt.Y("site_label:N", sort=order, scale=alt.Scale(domain=order), title="Site")
    values = [float(v) for v in frame["mean_change"].dropna()] + [0.0]
    pad = max((max(values) - min(values)) * 0.15, 0.1)  # room for the value labels beside the bars
    x = alt.X(
        "mean_change:Q",
        title="Mean change in site score (points, 0–3 scale)",
        scale=alt.Scale(
            domain=[
                min(values) - (pad if min(values) < 0 else 0),
                max(values) + (pad if max(values) > 0 else 0),
            ],
            nice=False,
        ),
    )
    tips = [
        alt.Tooltip("site_label:N", title="Site"),
        alt.Tooltip("value_text:N", title="Mean change"),
        alt.Tooltip("n:Q", title="Patients (n)"),
    ]
    color = alt.condition(
        "datum.mean_change < 0",
        alt.value(palette.CATEGORY_COLORS["improved"]),
        alt.value(palette.CATEGORY_COLORS["progressed"]),
    )
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(x=x, y=y, color=color, tooltip=tips)
        .properties(description="site_bars")
    )
    text = (
        alt.Chart(frame)
        .mark_text(
            fontSize=10,
            dx=alt.expr("datum.mean_change < 0 ? -4 : 4"),
            align=alt.expr("datum.mean_change < 0 ? 'right' : 'left'"),
        )
        .encode(x=x, y=y, text="value_text:N")
    )
    zero = alt.Chart(pd.DataFrame({"v": [0]})).mark_rule(color="#666666").encode(x="v:Q")
    title = alt.Title(
        f"Mean change per site{f' at {window}' if window else ''}",
        subtitle="Blue: fall (improvement); orange: rise",
        anchor="start",
        subtitleFontSize=11,
    )
    return alt.layer(bars, zero, text).properties(width=width, height=17 * 22, title=title)
