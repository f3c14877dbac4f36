"""The patient chart's composite endpoints (ENDPOINTS.md) in words and a picture: the ACR CRISS card and the
EUSTAR activity index over time.

Every number comes from ``analysis.criss.response_frame`` (one patient's row) and ``analysis.activity.
activity_frame``; this module only words them and draws them. Nothing is recomputed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.activity import ACTIVE_FROM
from analysis.stats import round_half_away
from analysis.what_changed import TreatmentChange
from charts import event_rules, labels, palette, vl
from charts.time_axis import TimeAxis, X, chart_window, make_time_axis, y_axis
from models.catalog import EVENT_KINDS, MRSS_MAX

# The five CRISS items in the card's order (analysis.criss.CRISS_ITEMS), with the words the card uses.
CRISS_ITEM_LABELS: dict[str, str] = {
    "mrss": f"mRSS (0–{MRSS_MAX})",
    "fvc_pct": "FVC, % predicted",
    "patient_global": "Patient global (0–10)",
    "physician_global": "Physician global (0–10)",
    "haq_di": "HAQ-DI (0–3)",
}
ACTIVITY_ITEM_LABELS: dict[str, str] = {
    "skin_worsening": "skin worsening (Δ-skin)",
    "mrss": "mRSS",
    "digital_ulcers": "active digital ulcers",
    "tendon_friction_rubs": "tendon friction rubs",
    "crp": "CRP",
    "dlco_pct": "DLCO % predicted",
}
AI_MAX = 10.0
ACTIVE = "active (≥ 2.5)"  # the legend's words for analysis.activity's `active` flag
INACTIVE = "inactive (< 2.5)"
CRISS_METHOD = ("ACR CRISS (Khanna 2016): an organ event (renal crisis, ILD progression, LV failure, PAH) after "
                "baseline and up to the follow-up visit means not improved (step 1); otherwise the probability "
                "comes from the five changes and ≥ 0.60 is improved. Revised CRISS (Khanna 2021): at least 3 of the "
                "5 items improved by X % of baseline (FVC by 5 %). Follow-up: the visit the windows use at that "
                "month; measures within ±30 days of each visit (ENDPOINTS.md).")
ACTIVITY_CAPTION = ("EUSTAR activity index (Valentini 2017), 0–10, at each visit with an mRSS: 1.5 × skin worsening, "
                    "1.5 × mRSS > 18, 1.5 × an active digital ulcer, 2.25 × tendon friction rubs, 2.25 × CRP > 1 "
                    "mg/dL, 1.0 × DLCO < 70 %, each measure within ±30 days of the visit. Active disease at 2.5 or "
                    "more (dashed line).")


@dataclass(frozen=True)
class CrissCard:
    """What the CRISS card says.

    status: "improved", "not_improved", "step1" (an organ event decided it), "not_computable" (items missing),
    "no_followup" or "no_baseline". badge: the verdict in a word or two; headline: the verdict in words.
    probability: "0.873" or "–".
    items: one row per CRISS item (Item, Baseline, Follow-up, Change) as text. revised: the revised-CRISS
    sentence (empty when undecided). missing: one line per unknown item saying why it is unknown.
    """

    status: str
    badge: str
    headline: str
    baseline_date: str
    followup_date: str
    probability: str
    items: pd.DataFrame
    revised: str
    missing: tuple[str, ...]
    step1: tuple[str, ...]


def _blank(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def _value_text(value) -> str:
    return "–" if _blank(value) else labels.number(round_half_away(float(value), 3))


def criss_card(row: pd.Series | dict, month: int, *, window_days: str = "") -> CrissCard:
    """The card of one patient's row of ``response_frame`` at follow-up month ``month``.

    ``window_days``: the window's days, for the sentence of a patient without a follow-up visit (e.g. "275–455").
    """
    row = pd.Series(row)
    baseline = labels.date_text(row.get("baseline_date"))
    followup = labels.date_text(row.get("followup_date"))
    missing_text = str(row.get("missing") or "")
    step1 = tuple(kind for kind in str(row.get("step1_event") or "").split(";") if kind)
    items = pd.DataFrame({
        "Item": list(CRISS_ITEM_LABELS.values()),
        "Baseline": [_value_text(row.get(f"baseline_{item}")) for item in CRISS_ITEM_LABELS],
        "Follow-up": [_value_text(row.get(f"followup_{item}")) for item in CRISS_ITEM_LABELS],
        "Change": [labels.signed(None if _blank(row.get(f"d_{item}")) else round_half_away(float(row[f"d_{item}"]), 3))
                   for item in CRISS_ITEM_LABELS],
    })
    probability = "–" if _blank(row.get("criss_probability")) else f"{float(row['criss_probability']):.3f}"
    if missing_text == "baseline":
        return CrissCard("no_baseline", "Not computable", "Not computable: no visit with an mRSS, so no baseline",
                         "", "", "–", items, "", ("baseline: no visit with an mRSS",), ())
    if missing_text == "followup":
        window = f" (days {window_days} after baseline)" if window_days else ""
        return CrissCard("no_followup", "Not computable",
                         f"Not computable: no visit with an mRSS in the {month}-month window", baseline, "", "–",
                         items, "", (f"follow-up: no visit with an mRSS in the {month}-month window{window}",), ())
    missing = []
    for item in (m for m in missing_text.split(";") if m):
        ends = [f"the {name} visit ({day})" for name, column, day in (
            ("baseline", f"baseline_{item}", baseline), ("follow-up", f"followup_{item}", followup))
            if _blank(row.get(column))]
        where = ends[0] if len(ends) == 1 else f"either visit (baseline {baseline}, follow-up {followup})"
        missing.append(f"{CRISS_ITEM_LABELS[item]}: no value within ±30 days of {where}")
    decided = {"baseline_date": baseline, "followup_date": followup, "probability": probability, "items": items,
               "revised": _revised_sentence(row)}
    if step1:
        named = ", ".join(EVENT_KINDS[kind] for kind in step1)
        return CrissCard("step1", "Not improved (step 1)", f"Not improved (step 1: {named})", **decided,
                         missing=tuple(missing), step1=step1)
    if _blank(row.get("criss_improved")):
        unknown = ", ".join(CRISS_ITEM_LABELS[m] for m in missing_text.split(";") if m)
        return CrissCard("not_computable", "Not computable", f"Not computable: {unknown} missing",
                         **{**decided, "probability": "–", "revised": ""}, missing=tuple(missing), step1=())
    if bool(row["criss_improved"]):
        return CrissCard("improved", "Improved", "Improved (probability ≥ 0.60)", **decided, missing=(), step1=())
    return CrissCard("not_improved", "Not improved", "Not improved (probability < 0.60)", **decided, missing=(),
                     step1=())


def _revised_sentence(row: pd.Series) -> str:
    thresholds = [int(name.removeprefix("rcriss")) for name in row.index if str(name).startswith("rcriss")]
    decided = {x: row[f"rcriss{x}"] for x in sorted(thresholds) if not _blank(row[f"rcriss{x}"])}
    if not decided:
        return ""
    yes = [f"{x} %" for x, flag in decided.items() if bool(flag)]
    no = [f"{x} %" for x, flag in decided.items() if not bool(flag)]
    parts = []
    if yes:
        parts.append("responder at " + ", ".join(yes))
    if no:
        parts.append("not at " + ", ".join(no) if yes else "not a responder at " + ", ".join(no))
    return "Revised CRISS: " + "; ".join(parts) + "."


def missing_activity_items(missing: str) -> str:
    """The unknown items of an activity row in words ("CRP, DLCO % predicted")."""
    return ", ".join(ACTIVITY_ITEM_LABELS.get(item, item) for item in missing.split(";") if item)


def activity_chart(activity: pd.DataFrame, *, time_axis: TimeAxis | None = None, events: pd.DataFrame | None = None,
                   changes: Sequence[TreatmentChange] = (), width: int | None = None, height: int = 160) -> dict:
    """The EUSTAR activity index at each visit where it is known (``activity_frame`` rows of one patient), on the
    chart's time axis, with the 2.5 line of active disease and the events and treatment changes as rules (coloured
    and dashed as on the mRSS panel; the tooltip says what each is).

    The plot lines up with the panels above it: its y axis takes the room every patient panel reserves
    (``time_axis.y_axis``). Visits without an index are not drawn (the caption says which items they lack) and the
    line does not join two known indexes across such a visit: it would show a course nobody measured. Active or
    not is ``activity_frame``'s ``active`` column; nothing is recomputed here."""
    known = activity[activity["eustar_ai"].notna()].copy() if len(activity) else activity.copy()
    if len(activity):  # a new stretch of line after every visit whose index is unknown
        ordered = activity.sort_values("visit_date", kind="stable")
        segment = ordered["eustar_ai"].isna().cumsum()
        known["segment"] = segment.loc[known.index].astype("int64")
    else:
        known["segment"] = pd.Series(dtype="int64")
    if time_axis is None:
        time_axis, _ = make_time_axis(chart_window(visits=activity, events=events))
    time_axis = time_axis.sized(width)
    known = time_axis.add_x(known, "visit_date") if len(known) else known.assign(x=[])
    known["date_text"] = [labels.date_text(d) for d in known["visit_date"]]
    known["index_text"] = [labels.number(round_half_away(float(v), 2)) for v in known["eustar_ai"]]
    known["state"] = [ACTIVE if bool(flag) else INACTIVE for flag in known["active"]]
    y_scale = {"domain": [0, AI_MAX], "nice": False}
    x = time_axis.x(X, title=time_axis.short_title)
    color = vl.field("state:N", scale={"domain": [ACTIVE, INACTIVE], "range": [palette.VERMILLION, palette.BLUE]},
                     legend={"title": None, "orient": "top", "direction": "horizontal"})
    tips = [vl.tooltip("date_text:N", "Visit"), vl.tooltip("index_text:N", "EUSTAR-AI"),
            vl.tooltip("state:N", "Disease")]
    y = vl.field("eustar_ai:Q", scale=y_scale, axis=y_axis("EUSTAR-AI (0–10)", values=[0, 2.5, 5, 7.5, 10],
                                                                   labelExpr="toString(datum.value)"))
    line = vl.inline(pd.DataFrame({X: [time_axis.low], "x2": [time_axis.high], "y": [ACTIVE_FROM],
                                   "label": ["active disease from 2.5"]}))
    data = vl.inline(known[[X, "eustar_ai", "date_text", "index_text", "state", "segment"]])
    marks = event_rules.prepare_annotations(events, time_axis, changes)
    layers = [
        *event_rules.rule_layers(marks, time_axis),
        vl.view(line, vl.mark("rule", color=palette.VERMILLION, strokeDash=[6, 4], strokeWidth=1.5),
                {"x": x, "x2": time_axis.x2("x2"), "y": vl.field("y:Q", scale=y_scale, axis=y["axis"]),
                 "tooltip": [vl.tooltip("label:N", "Line")]}, description="activity_threshold"),
        vl.view(data, vl.mark("line", strokeWidth=1.5, color=palette.GREY),
                {"x": x, "y": y, "detail": vl.field("segment:N")}, description="activity_line"),
        vl.view(data, vl.mark("point", filled=True, size=70, opacity=1, stroke=palette.MARKER_STROKE,
                              strokeWidth=0.5),
                {"x": x, "y": y, "color": color, "tooltip": tips}, description="activity_points"),
    ]
    subtitle = ["dashed: active disease from 2.5"] + (
        ["vertical lines: events and treatment changes, as on the mRSS panel (hover one)"] if len(marks) else [])
    # the rules' colours and dashes are the event kinds', the points' colour is active or not: separate scales
    return vl.sized(vl.layer(*layers, height=height, resolve={"scale": {"color": "independent"}}, title=vl.title(
        "Disease activity (EUSTAR-AI)", subtitle=subtitle, anchor="start", fontSize=13,
        subtitleColor="#666666")), width)


def activity_note(activity: pd.DataFrame) -> str:
    """Which visits have no index, and the items they lack (one patient's ``activity_frame`` rows)."""
    unknown = activity[activity["eustar_ai"].isna()] if len(activity) else activity
    if unknown.empty:
        return ""
    counts = unknown["missing"].map(missing_activity_items).value_counts(sort=False)
    listed = "; ".join(f"{items} ({n} visit{'s' if n != 1 else ''})" for items, n in counts.items())
    return (f"Known at {len(activity) - len(unknown)} of {len(activity)} visits with an mRSS. Not computable, "
            f"an item missing within ±30 days: {listed}.")


def step1_details(events: pd.DataFrame, row: pd.Series | dict, step1: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """The organ events behind a step-1 verdict (kinds of ``step1``, after the baseline date and up to the
    follow-up date of ``row``) as (date, kind label, description), in date order, for the card to show."""
    if not step1 or events is None or events.empty:
        return []
    row = pd.Series(row)
    inside = events[events["kind"].isin(step1) & (events["date"] > row["baseline_date"])
                    & (events["date"] <= row["followup_date"])].sort_values("date", kind="stable")
    return [(labels.date_text(day), labels.kind_label(kind), "" if _blank(text) else str(text))
            for day, kind, text in zip(inside["date"], inside["kind"], inside["description"], strict=True)]


# The items in the few words a drill-down table's narrow "why" column holds (1024-pixel screen).
SHORT_ITEM_LABELS: dict[str, str] = {
    "mrss": "mRSS", "fvc_pct": "FVC %", "patient_global": "patient global", "physician_global": "physician global",
    "haq_di": "HAQ-DI", "skin_worsening": "Δ-skin", "digital_ulcers": "digital ulcers",
    "tendon_friction_rubs": "friction rubs", "crp": "CRP", "dlco_pct": "DLCO %",
}
REASON_CHARS = 64  # what the reason column of the Cohort screen's drill-down shows on a 1024-pixel screen


def reason_words(reason: str, *, month: int | None = None) -> str:
    """Why a patient's CRISS or activity index is not computable, in words short enough for the drill-down table's
    column (at most REASON_CHARS): the `missing` text of response.csv or activity.csv ("baseline", "followup", or
    items joined by ";"), or a reason already in words."""
    if reason == "baseline":
        return "no baseline: no mRSS visit (or none in the 90 days to the start)"
    if reason == "followup":
        return f"no visit with an mRSS in the {month}-month window" if month else "no follow-up visit"
    items = [item for item in str(reason).split(";") if item]
    if items and all(item in SHORT_ITEM_LABELS for item in items):
        return "missing: " + ", ".join(SHORT_ITEM_LABELS[item] for item in items)
    return str(reason)
