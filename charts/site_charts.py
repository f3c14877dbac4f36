"""Site-level charts: the site × visit heat map and per-site trajectories, with injection markers.

Inputs (analysis/frames.py):
- visits: patient_id, visit_date, n_raters, mrss and the 17 site columns (mean score across the visit's
  raters, 0–3, NaN when not scored);
- events: EVENT_COLUMNS; rows of kind ``steroid_injection`` carry the injected sites as ';'-joined site codes;
- changes: ``analysis.what_changed.treatment_changes`` (drug starts, dose changes, stops as thin rules).

Text inside a heat-map cell is drawn only where the cell, at the width the chart is drawn at, is wide enough
for it; an injection marker sits at its date with the cell's number moved beside it, never over it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.stats import round_half_away
from analysis.what_changed import INJECTION, TreatmentChange
from charts import event_rules, labels, palette, vl
from charts.time_axis import X2, TimeAxis, X, chart_window, make_time_axis, y_axis
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
ROW_PX = 20
TEXT_DY = 3  # numbers sit in the lower part of their row, injection markers in the upper part
MAX_HALF_CELL_DAYS = 90
MARKER_Y_OFFSET = -5
TEXT_PAD_PX = 4
PANEL_HEIGHT = 130
MOVED_HEIGHT = 150
SIDE_DASHES = {"R": [1, 0], "L": [6, 3], "": [1, 0]}


def injections(events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (injection, site): date, site (code), site_label, agent, dose_text, date_text."""
    columns = ["date", "site", "site_label", "agent", "dose_text", "date_text"]
    if events is None or events.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, event in events[(events["kind"] == "steroid_injection") & events["date"].notna()].iterrows():
        for code in dict.fromkeys(split_sites(event["sites"] if isinstance(event["sites"], str) else "")):
            if code in SITES_BY_CODE:
                rows.append({
                    "date": event["date"], "site": code, "site_label": labels.site_display(code),
                    "agent": event["agent"] if isinstance(event["agent"], str) else "",
                    "dose_text": labels.dose_label(event["dose"], event["dose_unit"]),
                    "date_text": labels.date_text(event["date"]),
                })
    return pd.DataFrame(rows, columns=columns)


def score_color(*, legend: bool = True) -> dict:
    """Score 0–3 on a sequential colour-blind-safe ramp; a symbol legend with the catalogue's words, above
    the plot (a legend at the side would narrow the plot against the panels above it)."""
    label_expr = (
        " : ".join(f"datum.value == {v} ? '{v} {SITE_SCORE_LABELS[v]}'" for v in palette.SCORE_VALUES)
        + " : datum.label"
    )
    leg = {
        "title": "Site score", "type": "symbol", "values": list(palette.SCORE_VALUES), "labelExpr": label_expr,
        "symbolType": "square", "symbolSize": 180, "symbolStrokeColor": "#888888", "symbolStrokeWidth": 0.5,
        "orient": "top", "direction": "horizontal", "columns": 2,
    } if legend else None
    return vl.field("score:Q", scale={"domain": list(palette.SCORE_VALUES), "range": list(palette.SCORE_COLORS)},
                    legend=leg)


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


# A visit whose assessments are all incomplete (n_raters 0 in analysis.scores.site_visit_scores): its scored sites,
# no mRSS.
INCOMPLETE_NOTE = " (incomplete: some sites not scored, no mRSS)"
CELL_COLUMNS = ["x", "x_left", X2, "site", "site_label", "score", "score_text", "text", "need", "frac", "date_text"]


def heatmap_cells(visits: pd.DataFrame | None, time_axis: TimeAxis, sites: Sequence[str] = SITE_CODES
                  ) -> pd.DataFrame:
    """Long frame, one row per (visit, site of ``sites``) inside the axis: cell edges (x_left, x2), the cell's
    share of the axis (frac), its number (text) and the pixels the number needs (need), tooltip text."""
    if visits is None or visits.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    vis = visits[visits["visit_date"].notna()].sort_values("visit_date").drop_duplicates("visit_date")
    if vis.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    dates = [pd.Timestamp(d) for d in vis["visit_date"]]
    edges = dict(zip(dates, _cell_edges(dates, time_axis.span_days()), strict=True))
    long = vis.melt(id_vars=["visit_date"], value_vars=[c for c in SITE_CODES if c in set(sites)], var_name="site",
                    value_name="score")
    low, high = (pd.Timestamp(d) for d in time_axis.date_bounds())
    long["left"] = long["visit_date"].map(lambda d: edges[d][0]).clip(lower=low)
    long["right"] = long["visit_date"].map(lambda d: edges[d][1]).clip(upper=high)
    long = long[(long["left"] < long["right"]) & (long["visit_date"] >= low) & (long["visit_date"] <= high)].copy()
    long = time_axis.add_x(long, "visit_date", X)
    long = time_axis.add_x(long, "left", "x_left")
    long = time_axis.add_x(long, "right", X2)
    long["frac"] = ((long["right"] - long["left"]) / pd.Timedelta(days=1) / time_axis.span_days()).astype("float64")
    long["site_label"] = long["site"].map(labels.site_display)
    long["score"] = long["score"].astype("float64")
    long["text"] = [labels.number(round_half_away(s, 2)) if not pd.isna(s) else "" for s in long["score"]]
    long["score_text"] = [t or "not scored" for t in long["text"]]
    long["need"] = [len(t) * labels.CHAR_PX + 2 * TEXT_PAD_PX for t in long["text"]]
    no_mrss = set(vis.loc[vis["n_raters"] == 0, "visit_date"]) if "n_raters" in vis else set()
    long["date_text"] = [labels.date_text(d) + (INCOMPLETE_NOTE if d in no_mrss else "") for d in long["visit_date"]]
    return long[CELL_COLUMNS].reset_index(drop=True)


def _day_zero_layers(time_axis: TimeAxis) -> list[dict]:
    """In days mode, a dashed rule at day 0 (the chosen drug's first start)."""
    if not time_axis.is_days or not (time_axis.low <= 0 <= time_axis.high):
        return []
    data = vl.inline(pd.DataFrame({X: [0.0], "label": [f"day 0: first {time_axis.anchor_label} start".strip()]}))
    return [vl.view(data, vl.mark("rule", color=palette.BLACK, strokeDash=[2, 3], strokeWidth=1.2),
                    {"x": time_axis.x(X), "tooltip": [vl.tooltip("label:N", "Day 0")]}, description="day_zero")]


def _treatment_rows(changes: Sequence[TreatmentChange], time_axis: TimeAxis) -> pd.DataFrame:
    low, high = time_axis.date_bounds()
    rows = [{"date": pd.Timestamp(c.date), "label": c.label, "followed": c.outcome} for c in changes
            if c.kind != INJECTION and low <= pd.Timestamp(c.date) <= high]
    frame = time_axis.add_x(pd.DataFrame(rows, columns=["date", "label", "followed"]), "date")
    frame["date_text"] = [labels.date_text(d) for d in frame["date"]]
    return frame[["x", "date_text", "label", "followed"]]


def _treatment_tips() -> list[dict]:
    return [vl.tooltip("date_text:N", "Date"), vl.tooltip("label:N", "Treatment change"),
            vl.tooltip("followed:N", "What followed (3–6 months)")]


def _treatment_rules(changes: Sequence[TreatmentChange], time_axis: TimeAxis) -> list[dict]:
    """Drug starts, dose changes and stops as dashed grey rules, with what followed on hover."""
    frame = _treatment_rows(changes, time_axis)
    if frame.empty:
        return []
    return [vl.view(vl.inline(frame), vl.mark("rule", color=palette.TREATMENT_RULE, strokeWidth=1.5, strokeDash=[5, 3]),
                    {"x": time_axis.x(X), "tooltip": _treatment_tips()}, description="treatment_rules")]


def _treatment_ticks(changes: Sequence[TreatmentChange], time_axis: TimeAxis) -> list[dict]:
    """Drug starts, dose changes and stops as grey arrows just above a plot (a rule across the heat map would
    run through the numbers of its cells), with what followed on hover."""
    frame = _treatment_rows(changes, time_axis)
    if frame.empty:
        return []
    return [vl.view(vl.inline(frame), vl.mark("point", shape="triangle-down", filled=True, size=80, yOffset=-7,
                                              color=palette.TREATMENT_RULE, opacity=1),
                    {"x": time_axis.x(X), "y": vl.value(0), "tooltip": _treatment_tips()},
                    description="treatment_ticks")]


def site_heatmap(
    visits: pd.DataFrame | None,
    events: pd.DataFrame | None = None,
    *,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int | None = None,
    row_px: int = ROW_PX,
    printed: bool = False,
) -> dict:
    """Site × visit heat map, rows in catalogue order, with a marker at each injection into a site and the
    drug starts and dose changes marked above. ``time_axis``: the patient's shared axis (default: the window of
    these frames); ``width`` None: the container's width; ``printed``: for paper (no "hover")."""
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(visits=visits, events=events))
    time_axis = time_axis.sized(width)
    cells = heatmap_cells(visits, time_axis)
    low, high = time_axis.date_bounds()
    marks = injections(events)
    marks = marks[(marks["date"] >= low) & (marks["date"] <= high)] if len(marks) else marks
    marks = time_axis.add_x(marks, "date")
    px = vl.px_width(time_axis.width)

    def y() -> dict:
        return vl.field("site_label:N", sort=SITE_LABELS, scale={"domain": SITE_LABELS}, axis=y_axis("Site"))

    tips = [
        vl.tooltip("site_label:N", "Site"),
        vl.tooltip("date_text:N", "Visit date"),
        vl.tooltip("score_text:N", f"Score ({SITE_MIN}–{SITE_MAX}, mean of raters)"),
    ]
    data = vl.inline(cells)
    scored = "isValid(datum.score)"
    layers = [
        vl.view(data, vl.mark("rect", stroke="white", strokeWidth=1),
                {"x": time_axis.x("x_left"), "x2": time_axis.x2(X2), "y": y(), "color": score_color(),
                 "tooltip": tips},
                description="heatmap_cells", filters=(scored,)),
        vl.view(data, vl.mark("rect", stroke="white", strokeWidth=1, color=palette.MISSING),
                {"x": time_axis.x("x_left"), "x2": time_axis.x2(X2), "y": y(), "tooltip": tips},
                description="heatmap_missing", filters=("!isValid(datum.score)",)),
        *_day_zero_layers(time_axis),
        *_treatment_ticks(changes, time_axis),
    ]
    layers.append(vl.view(
        data,
        vl.mark("text", fontSize=vl.FONT_PX, baseline="middle", dy=TEXT_DY),
        {"x": time_axis.x(X), "y": y(), "text": vl.field("text:N"), "tooltip": tips,
         "color": vl.condition(f"datum.score >= {SITE_MAX - 0.5}", "white", palette.TEXT),
         "opacity": vl.condition(f"datum.frac * {px} >= datum.need", 1, 0)},
        description="heatmap_text", filters=(scored,),
    ))
    layers.append(vl.view(
        vl.inline(marks),
        vl.mark("point", shape="triangle-down", filled=True, size=55, opacity=1, stroke="white", strokeWidth=0.8,
                yOffset=MARKER_Y_OFFSET, color=palette.INJECTION_MARKER),
        {
            "x": time_axis.x(X), "y": y(),
            "tooltip": [vl.tooltip("site_label:N", "Injected site"), vl.tooltip("date_text:N", "Injection date"),
                        vl.tooltip("agent:N", "Agent"), vl.tooltip("dose_text:N", "Dose")],
        },
        description="injection_markers",
    ))
    if cells.empty:
        title = vl.title("No site scores recorded yet", anchor="start")
    else:
        subtitle = ["Each column is a visit (mean of raters); grey: not scored"]
        if any(INCOMPLETE_NOTE in text for text in cells["date_text"]):
            subtitle[0] += "; a visit with grey sites and no mRSS is an incomplete assessment"
        if len(marks):
            subtitle.append("▼ steroid injection into that site, at its date")
        if any(c.kind != INJECTION for c in changes):
            subtitle.append("Grey ▼ above: drug start, dose change or stop" + ("" if printed else
                                                                             " (hover: what followed)"))
        title = vl.title("Site scores by visit", subtitle=subtitle, anchor="start")
    spec = vl.layer(*layers, height=row_px * len(SITE_LABELS), title=title)
    return vl.sized(spec, width)


def default_sites(events: pd.DataFrame | None) -> list[str]:
    """Without sites that moved: injected sites first, then the responsive sites (catalogue order)."""
    injected = set(injections(events)["site"])
    first = [c for c in SITE_CODES if c in injected]
    return first + [c for c in SITE_CODES if c in RESPONSIVE_SITES and c not in injected]


def site_trajectory(
    code: str,
    visits: pd.DataFrame | None,
    events: pd.DataFrame | None = None,
    *,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int | None = None,
    height: int = PANEL_HEIGHT,
) -> dict:
    """One site's score (0–3) over time, with its injections (▼ and a rule) and the treatment changes."""
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(visits=visits, events=events))
    time_axis = time_axis.sized(width)
    cells = heatmap_cells(visits, time_axis, [code])
    low, high = time_axis.date_bounds()
    marks = injections(events)
    marks = marks[(marks["site"] == code) & (marks["date"] >= low) & (marks["date"] <= high)] if len(marks) else marks
    marks = time_axis.add_x(marks, "date")
    y = vl.field("score:Q", scale={"domain": [SITE_MIN - 0.2, SITE_MAX + 0.2], "nice": False},
                 axis={"title": f"Score ({SITE_MIN}–{SITE_MAX})", "values": list(palette.SCORE_VALUES),
                       "tickMinStep": 1})
    tips = [vl.tooltip("site_label:N", "Site"), vl.tooltip("date_text:N", "Visit date"),
            vl.tooltip("score_text:N", "Score")]
    data = vl.inline(cells[(cells["site"] == code) & cells["score"].notna()])
    site_marks = vl.inline(marks)
    layers = [
        *_day_zero_layers(time_axis),
        *_treatment_rules(changes, time_axis),
        vl.view(site_marks, vl.mark("rule", color=palette.INJECTION_MARKER, strokeWidth=2),
                {"x": time_axis.x(X), "tooltip": [vl.tooltip("date_text:N", "Steroid injection"),
                                                  vl.tooltip("agent:N", "Agent"), vl.tooltip("dose_text:N", "Dose")]},
                description="site_injections"),
        vl.view(site_marks, vl.mark("point", shape="triangle-down", filled=True, size=70, opacity=1,
                                    color=palette.INJECTION_MARKER),
                {"x": time_axis.x(X), "y": vl.value(0)}),
        vl.view(data, vl.mark("line", color=palette.MRSS_LINE, strokeWidth=2),
                {"x": time_axis.x(X, title=time_axis.short_title), "y": y, "tooltip": tips},
                description="site_scores"),
        vl.view(data, vl.mark("point", filled=True, size=45, color=palette.MRSS_LINE),
                {"x": time_axis.x(X, title=time_axis.short_title), "y": y, "tooltip": tips}),
    ]
    return vl.sized(vl.layer(*layers, height=height, title=vl.title(labels.site_display(code), anchor="start")),
                    width)


def site_trajectories(
    visits: pd.DataFrame | None,
    events: pd.DataFrame | None = None,
    *,
    sites: Sequence[str] | None = None,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int = 720,
    columns: int = 2,
) -> dict:
    """The chosen sites' trajectories as one image (small multiples, ``columns`` per row, ``width`` in all):
    for downloads and the report. The screen draws :func:`site_trajectory` per site in its own columns."""
    sites = [s for s in (sites if sites is not None else default_sites(events)) if s in SITES_BY_CODE]
    if not sites:
        sites = list(RESPONSIVE_SITES)
    columns = max(1, min(columns, len(sites)))
    cell_width = int((width - 70 * columns) / columns)
    panels = [site_trajectory(code, visits, events, changes=changes, time_axis=time_axis, width=cell_width)
              for code in sites]
    subtitle = ["Score per visit (mean of raters); ▼ and a line: steroid injection into that site"]
    if any(c.kind != INJECTION for c in changes):
        subtitle.append("Dashed: drug start, dose change or stop")
    return vl.concat(*panels, columns=columns, spacing=24,
                     title=vl.title("Site trajectories", subtitle=subtitle, anchor="start"))


def pictured_sites(sites: Sequence[str], *, parts: int = 3) -> list[str]:
    """The first ``sites`` that belong to at most ``parts`` body parts (a left/right pair is one part): few
    enough lines for one picture."""
    chosen: list[str] = []
    for code in sites:
        names = {SITES_BY_CODE[c].label for c in chosen}
        if SITES_BY_CODE[code].label in names or len(names) < parts:
            chosen.append(code)
    return chosen


def sites_that_moved(
    visits: pd.DataFrame | None,
    sites: Sequence[str],
    *,
    events: pd.DataFrame | None = None,
    changes: Sequence[TreatmentChange] = (),
    time_axis: TimeAxis | None = None,
    width: int | None = None,
    height: int = MOVED_HEIGHT,
) -> dict:
    """The chosen sites' scores (0–3) in one panel on the patient's time axis — a colour per site, solid for
    the right side and dashed for the left — with the events and treatment changes of the mRSS panel: the
    picture beside the "what changed" summary (``sites`` from ``analysis.what_changed.sites_that_moved_most``)."""
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(visits=visits, events=events))
    time_axis = time_axis.sized(width)
    codes = [c for c in SITE_CODES if c in set(sites)]
    cells = heatmap_cells(visits, time_axis, codes)
    cells = cells[cells["site"].isin(codes) & cells["score"].notna()].copy()
    cells["part"] = [SITES_BY_CODE[c].label for c in cells["site"]]
    cells["side"] = [SITES_BY_CODE[c].side or "midline" for c in cells["site"]]
    parts = list(dict.fromkeys(SITES_BY_CODE[c].label for c in codes))
    colors = [palette.SITE_LINE_COLORS[i % len(palette.SITE_LINE_COLORS)] for i in range(len(parts))]
    marks = event_rules.prepare_annotations(events, time_axis, changes)
    rows = int(marks["row"].max()) + 1 if len(marks) else 0
    room = (event_rules.FIRST_ROW_PX + rows * event_rules.ROW_PX + 4) / height if rows else 0.0
    top = (SITE_MAX + 0.2 - (SITE_MIN - 0.2) * room) / max(1 - room, 0.4)
    y = vl.field("score:Q", scale={"domain": [SITE_MIN - 0.2, top], "nice": False},
                 axis=y_axis(f"Site score ({SITE_MIN}–{SITE_MAX})", values=list(palette.SCORE_VALUES)))
    sides = sorted(set(cells["side"]), key=["R", "L", "midline"].index)
    color = vl.field("part:N", title="Site", scale={"domain": parts, "range": colors},
                     legend={"orient": "top", "direction": "horizontal", "title": None, "symbolType": "stroke",
                             "symbolStrokeWidth": 3})
    dash = vl.field("side:N", title="Side", scale={"domain": sides, "range": [
        SIDE_DASHES.get(s, [1, 0]) for s in sides]}, legend={"orient": "top", "direction": "horizontal",
                                                             "title": None, "symbolType": "stroke",
                                                             "labelExpr": "datum.label == 'R' ? 'right side' : "
                                                                          "datum.label == 'L' ? 'left side' : "
                                                                          "datum.label"})
    tips = [vl.tooltip("site_label:N", "Site"), vl.tooltip("date_text:N", "Visit date"),
            vl.tooltip("score_text:N", "Score")]
    data = vl.inline(cells)
    layers = [
        *event_rules.rule_layers(marks, time_axis, from_markers=True),
        *event_rules.label_layers(marks, time_axis),
        # Sites with equal scores draw one line over the other: the earlier ones wider, so each shows.
        vl.view(data, vl.mark("line"),
                {"x": time_axis.x(X), "y": y, "color": color, "strokeDash": dash, "detail": vl.field("site:N"),
                 "strokeWidth": vl.field("part:N", scale={"domain": parts, "range": [
                     2 + 1.5 * (len(parts) - 1 - i) for i in range(len(parts))]}, legend=None),
                 "tooltip": tips}, description="moved_lines"),
        vl.view(data, vl.mark("point", filled=True, size=30),
                {"x": time_axis.x(X), "y": y, "color": {**color, "legend": None}, "tooltip": tips},
                description="moved_points"),
    ]
    independent = dict.fromkeys(("color", "strokeDash", "shape"), "independent")
    title = vl.title("Sites that moved most after a treatment change", anchor="start", fontSize=vl.FONT_PX + 1,
                     subtitle="Score per visit (mean of raters)")
    return vl.sized(vl.layer(*layers, height=height, resolve={"scale": independent}, title=title), width)
