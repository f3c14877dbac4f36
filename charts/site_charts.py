"""Site-level charts: the site × visit heat map and per-site trajectories, with injection markers.

Inputs (analysis/frames.py):
- visits: patient_id, visit_date, n_raters, mrss and the 17 site columns (mean score across the
  visit's raters, 0–3, NaN when not scored);
- events: EVENT_COLUMNS; rows of kind ``steroid_injection`` carry the injected sites as ';'-joined
  site codes in ``sites``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import labels, palette, vl
from charts.time_axis import X2, TimeAxis, X, make_time_axis, patient_dates, y_axis
from models.catalog import (
    RESPONSIVE_SITES,
    SITE_CODES,
    SITE_MAX,
    SITE_MIN,
    SITE_SCORE_LABELS,
    SITES_BY_CODE,
    split_sites,
)

SITE_LABELS = [SITES_BY_CODE[c].display for c in SITE_CODES]  # heat-map rows, catalogue order
INJECTION_MARKER = "Steroid injection into this site"
ROW_PX = 17
MAX_HALF_CELL_DAYS = 90
CELL_TEXT_MIN_PX = 18
Y_TITLE = "Site"


def injections(events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (injection, site): date, site (code), site_label, agent, dose_text."""
    columns = ["date", "site", "site_label", "agent", "dose_text", "date_text"]
    if events is None or events.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, event in events[(events["kind"] == "steroid_injection") & events["date"].notna()].iterrows():
        for code in dict.fromkeys(split_sites(event["sites"] if isinstance(event["sites"], str) else "")):
            if code in SITES_BY_CODE:
                rows.append(
                    {
                        "date": event["date"],
                        "site": code,
                        "site_label": labels.site_display(code),
                        "agent": event["agent"] if isinstance(event["agent"], str) else "",
                        "dose_text": labels.dose_label(event["dose"], event["dose_unit"]),
                        "date_text": labels.date_text(event["date"]),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


def score_color(*, legend: bool = True) -> dict:
    """Score 0–3 on a sequential colour-blind-safe ramp; a symbol legend with the catalogue's words."""
    label_expr = (
        " : ".join(f"datum.value == {v} ? '{v} {SITE_SCORE_LABELS[v]}'" for v in palette.SCORE_VALUES)
        + " : datum.label"
    )
    leg = (
        {
            "title": "Site score",
            "type": "symbol",
            "values": list(palette.SCORE_VALUES),
            "labelExpr": label_expr,
            "symbolType": "square",
            "symbolSize": 180,
            "symbolStrokeColor": "#888888",
            "symbolStrokeWidth": 0.5,
            "orient": "right",
        }
        if legend
        else None
    )
    return vl.field(
        "score:Q",
        scale={"domain": list(palette.SCORE_VALUES), "range": list(palette.SCORE_COLORS)},
        legend=leg,
    )


def _cell_edges(dates: list[pd.Timestamp], span_days: float) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Each visit's cell: from the midpoint with the previous visit to the midpoint with the next."""
    single = pd.Timedelta(days=max(7.0, span_days * 0.02))
    cap = pd.Timedelta(days=MAX_HALF_CELL_DAYS)
    edges = []
    for i, date in enumerate(dates):
        before = (date - dates[i - 1]) / 2 if i > 0 else None
        after = (dates[i + 1] - date) / 2 if i + 1 < len(dates) else None
        before = before if before is not None else (after if after is not None else single)
        after = after if after is not None else before
        edges.append((date - min(before, cap), date + min(after, cap)))
    return edges


def heatmap_cells(visits: pd.DataFrame | None, time_axis: TimeAxis, *, width: int) -> pd.DataFrame:
    """Long frame, one row per (visit, site): x, x_left, x2 (cell edges), site_label, score, tooltip text."""
    columns = ["x", "x_left", X2, "site", "site_label", "score", "score_text", "date_text", "cell_px"]
    if visits is None or visits.empty:
        return pd.DataFrame(columns=columns)
    vis = visits[visits["visit_date"].notna()].sort_values("visit_date").drop_duplicates("visit_date")
    if vis.empty:
        return pd.DataFrame(columns=columns)
    dates = [pd.Timestamp(d) for d in vis["visit_date"]]
    edges = _cell_edges(dates, time_axis.span_days())
    px_per_day = width / time_axis.span_days()
    long = vis.melt(id_vars=["visit_date"], value_vars=list(SITE_CODES), var_name="site", value_name="score")
    left = dict(zip(dates, (e[0] for e in edges), strict=True))
    right = dict(zip(dates, (e[1] for e in edges), strict=True))
    low, high = (pd.Timestamp(d) for d in time_axis.date_bounds())
    long["left"] = long["visit_date"].map(left).clip(lower=low)
    long["right"] = long["visit_date"].map(right).clip(upper=high)
    long["cell_px"] = (long["right"] - long["left"]) / pd.Timedelta(days=1) * px_per_day
    long = time_axis.add_x(long, "visit_date", X)
    long = time_axis.add_x(long, "left", "x_left")
    long = time_axis.add_x(long, "right", X2)
    long["site_label"] = long["site"].map(labels.site_display)
    long["score"] = long["score"].astype("float64")
    long["score_text"] = [labels.number(s) if not pd.isna(s) else "not scored" for s in long["score"]]
    long["date_text"] = [labels.date_text(d) for d in long["visit_date"]]
    return long[columns]


def _day_zero_layers(time_axis: TimeAxis, *, text: bool = True) -> list[dict]:
    """In days mode, a dashed rule at day 0 (the chosen drug's first start)."""
    if not time_axis.is_days or not (time_axis.low <= 0 <= time_axis.high):
        return []
    data = vl.inline(pd.DataFrame({X: [0.0], "label": [f"day 0: {time_axis.anchor_label} start"]}))
    rule = vl.view(
        data,
        vl.mark("rule", color=palette.BLACK, strokeDash=[2, 3], strokeWidth=1.2),
        {"x": time_axis.x(X), "tooltip": [vl.tooltip("label:N", "Anchor")]},
    )
    if not text:
        return [rule]
    label = vl.view(
        data,
        vl.mark("text", align="left", baseline="bottom", dx=3, y=-3, fontSize=10),
        {"x": time_axis.x(X), "text": vl.field("label:N")},
    )
    return [rule, label]


def heatmap_chart(visits, events, *, time_axis: TimeAxis, width: int, note: str = "") -> dict:
    """The heat map on an already resolved time axis."""
    cells = heatmap_cells(visits, time_axis, width=width)
    marks = injections(events)
    marks = time_axis.add_x(marks, "date")

    def y() -> dict:
        return vl.field(
            "site_label:N",
            sort=SITE_LABELS,
            scale={"domain": SITE_LABELS},
            axis=y_axis(Y_TITLE, labelFontSize=11),
        )

    tips = [
        vl.tooltip("site_label:N", "Site"),
        vl.tooltip("date_text:N", "Visit date"),
        vl.tooltip("score_text:N", f"Score ({SITE_MIN}–{SITE_MAX}, mean of raters)"),
    ]
    data = vl.inline(cells)
    scored = "isValid(datum.score)"
    layers = [
        vl.view(
            data,
            vl.mark("rect", stroke="white", strokeWidth=1),
            {"x": time_axis.x("x_left"), "x2": time_axis.x2(X2), "y": y(), "color": score_color(),
             "tooltip": tips},
            description="heatmap_cells",
            filters=(scored,),
        ),
        vl.view(
            data,
            vl.mark("rect", stroke="white", strokeWidth=1, color=palette.MISSING),
            {"x": time_axis.x("x_left"), "x2": time_axis.x2(X2), "y": y(), "tooltip": tips},
            description="heatmap_missing",
            filters=("!isValid(datum.score)",),
        ),
        vl.view(
            data,
            vl.mark("text", fontSize=10),
            {
                "x": time_axis.x(X),
                "y": y(),
                "text": vl.field("score_text:N"),
                "tooltip": tips,
                "color": vl.condition(f"datum.score >= {SITE_MAX - 0.5}", "white", "#333333"),
            },
            filters=(scored, f"datum.cell_px >= {CELL_TEXT_MIN_PX}"),
        ),
        *_day_zero_layers(time_axis),
        vl.view(
            vl.inline(marks.assign(marker=INJECTION_MARKER)),
            vl.mark("point", filled=True, size=110, opacity=1, stroke="white", strokeWidth=1.2),
            {
                "x": time_axis.x(X),
                "y": y(),
                "shape": vl.field(
                    "marker:N",
                    scale={"domain": [INJECTION_MARKER], "range": ["triangle-down"]},
                    legend={"title": None, "orient": "right"} if len(marks) else None,
                ),
                "color": vl.value(palette.BLACK),
                "tooltip": [
                    vl.tooltip("site_label:N", "Injected site"),
                    vl.tooltip("date_text:N", "Injection date"),
                    vl.tooltip("agent:N", "Agent"),
                    vl.tooltip("dose_text:N", "Dose"),
                ],
            },
            description="injection_markers",
        ),
    ]
    if cells.empty:
        title = vl.title("No site scores recorded yet", anchor="start")
    else:
        legend_text = "Each column is a visit (mean of raters); grey: not scored"
        if len(marks):
            legend_text += "; ▼ steroid injection into that site"
        subtitle = [legend_text]
        title = vl.title(
            "Site scores by visit",
            subtitle=subtitle + ([note] if note else []),
            anchor="start",
            subtitleFontSize=11,
        )
    return vl.layer(*layers, width=width, height=ROW_PX * len(SITE_LABELS), title=title)


def site_heatmap(visits: pd.DataFrame, events: pd.DataFrame | None = None, **options) -> alt.LayerChart:
    """:func:`site_heatmap_spec` as an Altair chart."""
    return vl.as_altair(site_heatmap_spec(visits, events, **options))


def site_heatmap_spec(
    visits: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    axis: str = "date",
    anchor_date=None,
    x_domain: tuple | None = None,
    width: int = 720,
    anchor_label: str = "drug start",
) -> dict:
    """Site × visit heat map, rows in catalogue order, with markers on the injected cells."""
    dates = patient_dates(visits=visits, events=events)
    time_axis, note = make_time_axis(
        dates, axis=axis, anchor_date=anchor_date, x_domain=x_domain, anchor_label=anchor_label
    )
    return heatmap_chart(visits, events, time_axis=time_axis, width=width, note=note)


def default_sites(events: pd.DataFrame | None) -> list[str]:
    """Injected sites first, then the responsive sites (catalogue order within each group)."""
    injected = set(injections(events)["site"])
    first = [c for c in SITE_CODES if c in injected]
    return first + [c for c in SITE_CODES if c in RESPONSIVE_SITES and c not in injected]


def site_trajectories(visits: pd.DataFrame, events: pd.DataFrame | None = None, **options) -> alt.ConcatChart:
    """:func:`site_trajectories_spec` as an Altair chart."""
    return vl.as_altair(site_trajectories_spec(visits, events, **options))


def site_trajectories_spec(
    visits: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    sites: list[str] | tuple[str, ...] | None = None,
    axis: str = "date",
    anchor_date=None,
    x_domain: tuple | None = None,
    width: int = 720,
    columns: int = 2,
    anchor_label: str = "drug start",
) -> dict:
    """Small multiples, one per chosen site (default: injected sites first), score 0–3 over time.

    Injection dates for the site are blue rules; in days mode a dotted rule marks day 0.
    """
    sites = [s for s in (sites if sites is not None else default_sites(events)) if s in SITES_BY_CODE]
    if not sites:
        sites = list(RESPONSIVE_SITES)
    dates = patient_dates(visits=visits, events=events)
    time_axis, _ = make_time_axis(
        dates, axis=axis, anchor_date=anchor_date, x_domain=x_domain, anchor_label=anchor_label
    )
    time_axis = time_axis.compacted()
    columns = max(1, min(columns, len(sites)))
    cell_width = int((width - 60 * (columns - 1)) / columns)
    cells = heatmap_cells(visits, time_axis, width=width)
    marks = time_axis.add_x(injections(events), "date")

    def y() -> dict:
        return vl.field(
            "score:Q",
            scale={"domain": [SITE_MIN - 0.2, SITE_MAX + 0.2], "nice": False},
            axis={"title": f"Score ({SITE_MIN}–{SITE_MAX})", "values": list(palette.SCORE_VALUES),
                  "tickMinStep": 1},
        )

    tips = [
        vl.tooltip("site_label:N", "Site"),
        vl.tooltip("date_text:N", "Visit date"),
        vl.tooltip("score_text:N", "Score"),
    ]
    injection_color = palette.EVENT_KIND_COLORS["steroid_injection"]
    panels = []
    for code in sites:
        data = vl.inline(cells[(cells["site"] == code) & cells["score"].notna()])
        site_marks = vl.inline(marks[marks["site"] == code])
        rules = vl.view(
            site_marks,
            vl.mark("rule", color=injection_color, strokeWidth=2),
            {
                "x": time_axis.x(X),
                "tooltip": [
                    vl.tooltip("date_text:N", "Steroid injection"),
                    vl.tooltip("agent:N", "Agent"),
                    vl.tooltip("dose_text:N", "Dose"),
                ],
            },
            description="site_injections",
        )
        heads = vl.view(
            site_marks,
            vl.mark("point", shape="triangle-down", filled=True, size=70, opacity=1, color=injection_color),
            {"x": time_axis.x(X), "y": vl.value(0)},
        )
        line = vl.view(
            data,
            vl.mark("line", color=palette.MRSS_LINE, strokeWidth=2, interpolate="linear"),
            {"x": time_axis.x(X), "y": y(), "tooltip": tips},
            description="site_scores",
        )
        points = vl.view(
            data,
            vl.mark("point", filled=True, size=45, color=palette.MRSS_LINE),
            {"x": time_axis.x(X), "y": y(), "tooltip": tips},
        )
        panels.append(
            vl.layer(
                line,
                *_day_zero_layers(time_axis, text=False),
                rules,
                heads,
                points,
                width=cell_width,
                height=130,
                title=vl.title(labels.site_display(code), anchor="start", fontSize=13),
            )
        )
    subtitle = "Score per visit (mean of raters); blue rule ▼: steroid injection into that site"
    if time_axis.is_days:
        subtitle += f"; dotted rule: day 0 ({time_axis.anchor_label} start)"
    return vl.concat(
        *panels,
        columns=columns,
        spacing=24,
        resolve={"scale": {"x": "shared"}},
        title=vl.title("Site trajectories", subtitle=subtitle, anchor="start", subtitleFontSize=11),
    )
