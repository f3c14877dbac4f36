"""charts/endpoints.py: the CRISS card words a row of analysis.criss.response_frame (improver, step 1, items missing,
no follow-up) without computing anything; the activity chart draws the known indexes with the 2.5 line."""

from __future__ import annotations

import pandas as pd

from analysis.activity import activity_frame
from analysis.criss import response_frame
from charts.endpoints import activity_chart, activity_note, criss_card, reason_words, step1_details

DAY = pd.Timestamp


def visits(*rows):
    return pd.DataFrame([{"patient_id": "P", "visit_date": DAY(d), "mrss": m} for d, m in rows])


def measurements(*rows):
    return pd.DataFrame([{"patient_id": "P", "date": DAY(d), "measure": c, "side": "", "value": v, "unit": "",
                          "rater": ""} for d, c, v in rows],
                        columns=["patient_id", "date", "measure", "side", "value", "unit", "rater"])


EVENTS = pd.DataFrame(columns=["patient_id", "date", "kind", "description"])
BOTH = ("2020-01-01", "2021-01-01")


def criss_inputs(fvc=(70, 75), patient=(6, 3), physician=(6, 3), haq=(1.5, 1.0)):
    return measurements(*[(day, code, value) for code, pair in
                          (("fvc_pct", fvc), ("patient_global", patient), ("physician_global", physician),
                           ("haq_di", haq)) for day, value in zip(BOTH, pair, strict=True)])


def test_an_improver_in_words():
    row = response_frame(["P"], visits((BOTH[0], 30), (BOTH[1], 20)), criss_inputs(), EVENTS).iloc[0]
    card = criss_card(row, 12)
    # L = -5.54 + 8.1 + 1.05 + 1.2 + 1.32 + 1.705 = 7.835 -> P = 0.9996
    assert (card.status, card.badge, card.probability) == ("improved", "Improved", "1.000")
    assert (card.baseline_date, card.followup_date) == BOTH
    assert card.items.set_index("Item").loc["mRSS (0–51)"].tolist() == ["30", "20", "−10"]
    assert card.items.set_index("Item").loc["HAQ-DI (0–3)"].tolist() == ["1.5", "1", "−0.5"]
    # revised: mRSS −33 %, globals −50 %, HAQ −33 %, FVC +7 % (≥ 5 % at any X): 5 items at 20 and 25 %, 3 at 40 %
    # (globals and FVC), 1 at 60 % (FVC)
    assert card.revised == "Revised CRISS: responder at 20 %, 25 %, 40 %; not at 60 %."
    assert card.missing == () and card.step1 == ()


def test_step_1_decides_even_with_items_missing():
    events = pd.DataFrame([{"patient_id": "P", "date": DAY("2020-06-01"), "kind": "pah", "description": "RHC"}])
    row = response_frame(["P"], visits((BOTH[0], 30), (BOTH[1], 20)), measurements(), events).iloc[0]
    card = criss_card(row, 12)
    assert (card.status, card.headline, card.probability) == (
        "step1", "Not improved (step 1: Pulmonary arterial hypertension)", "0.000")
    assert len(card.missing) == 4
    assert step1_details(events, row, card.step1) == [("2020-06-01", "Pulmonary arterial hypertension", "RHC")]


def test_missing_items_say_at_which_visit():
    inputs = criss_inputs()
    inputs = inputs[~((inputs["measure"] == "haq_di") & (inputs["date"] == DAY(BOTH[1])))]
    inputs = inputs[inputs["measure"] != "fvc_pct"]
    row = response_frame(["P"], visits((BOTH[0], 30), (BOTH[1], 20)), inputs, EVENTS).iloc[0]
    card = criss_card(row, 12)
    assert card.status == "not_computable" and card.probability == "–" and card.revised == ""
    assert card.missing == (
        "FVC, % predicted: no value within ±30 days of either visit (baseline 2020-01-01, follow-up 2021-01-01)",
        "HAQ-DI (0–3): no value within ±30 days of the follow-up visit (2021-01-01)")


def test_no_follow_up_visit_names_the_window():
    row = response_frame(["P"], visits((BOTH[0], 30)), criss_inputs(), EVENTS).iloc[0]
    card = criss_card(row, 12, window_days="275–455")
    assert card.status == "no_followup"
    assert card.missing == ("follow-up: no visit with an mRSS in the 12-month window (days 275–455 after baseline)",)
    assert reason_words("followup", month=6) == "no visit with an mRSS in the 6-month window"
    assert reason_words("crp;dlco_pct") == "missing: CRP, DLCO %"


def test_the_activity_chart_draws_known_indexes_and_the_line():
    scored = visits(("2020-01-01", 30), ("2020-06-01", 10))
    items = measurements(*[("2020-01-01", code, value) for code, value in (
        ("skin_worsening", 1), ("digital_ulcers", 0), ("tendon_friction_rubs", 0), ("crp", 2), ("dlco_pct", 80))])
    activity = activity_frame(scored, items)
    spec = activity_chart(activity)
    points = next(layer for layer in spec["layer"] if layer.get("description") == "activity_points")
    line = next(layer for layer in spec["layer"] if layer.get("description") == "activity_threshold")
    rows = spec["layer"][-1].get("data", spec.get("data"))["values"] if "data" in points else spec["data"]["values"]
    assert [(r["date_text"], r["eustar_ai"], r["state"]) for r in rows] == [
        ("2020-01-01", 5.25, "active (≥ 2.5)")]  # 1.5 worsening + 1.5 mRSS > 18 + 2.25 CRP > 1
    assert line["data"]["values"][0]["y"] == 2.5
    assert activity_note(activity) == ("Known at 1 of 2 visits with an mRSS. Not computable, an item missing within "
                                       "±30 days: skin worsening (Δ-skin), active digital ulcers, tendon friction "
                                       "rubs, CRP, DLCO % predicted (1 visit).")


# --- the activity chart on the patient's shared time axis (review: it did not line up with the panels above) ------


def _activity_case():
    """DEMO-0001's pattern: the index known at the first, third and fifth visits, unknown at the second and fourth
    (no item within ±30 days), an adverse event and a dose change in between."""
    from tests.unit import chart_spec_cases as cases

    scored = visits(("2023-01-10", 33), ("2023-04-11", 31), ("2023-07-11", 22), ("2023-10-10", 14),
                    ("2024-01-10", 12))
    rows = []
    for day, worsening, ulcers, crp, dlco in (("2023-01-10", 1, 1, 1.8, 62), ("2023-07-11", 0, 0, 0.9, 63),
                                               ("2024-01-10", 0, 0, 0.4, 64)):
        rows += [(day, "skin_worsening", worsening), (day, "digital_ulcers", ulcers),
                 (day, "tendon_friction_rubs", 0), (day, "crp", crp), (day, "dlco_pct", dlco)]
    activity = activity_frame(scored, measurements(*rows))
    events = cases.events_frame(cases.event("2023-08-14", "adverse_event", "periorbital oedema", grade=1))
    return activity, events, cases


def test_the_activity_chart_lines_up_with_the_mrss_panel_above_it():
    """Drawn in the same column as the mRSS panel, its plot starts at the same pixel, so that a date sits at the
    same x in both: the x-axis labels fall at the same positions (1024-pixel screen and a wide one)."""
    from charts.mrss_panel import mrss_panel
    from charts.time_axis import chart_window, make_time_axis

    activity, events, cases = _activity_case()
    axis, _ = make_time_axis(chart_window(visits=activity, events=events))
    panel = mrss_panel(cases.assessments(), cases.visits(), baseline_mrss=30.0, events=events, time_axis=axis)
    chart = activity_chart(activity, time_axis=axis, events=events)
    for px in (cases.SCREEN_1024_CHART_PX, 1100):
        above = [(round(x), lines) for x, _, lines in cases.x_axis_labels(cases.render_svg(panel, container_px=px))]
        below = [(round(x), lines) for x, _, lines in cases.x_axis_labels(cases.render_svg(chart, container_px=px))]
        assert below == above


def test_the_activity_chart_marks_events_and_does_not_join_points_across_unknown_visits():
    activity, events, cases = _activity_case()
    spec = activity_chart(activity, events=events)
    cases.validate(spec)
    rules = cases.all_rows(spec, "event_rules")
    assert [(r["date_text"], r["kind"]) for r in rules] == [("2023-08-14", "adverse_event")]
    # known at 2023-01-10 (7.75), 2023-07-11 (2.5) and 2024-01-10 (1.0); unknown at the visits between them, so
    # no stretch of line joins two known indexes: each point is its own segment
    line = cases.all_rows(spec, "activity_line")
    assert [(r["date_text"], r["eustar_ai"]) for r in line] == [
        ("2023-01-10", 7.75), ("2023-07-11", 2.5), ("2024-01-10", 1.0)]
    assert len({r["segment"] for r in line}) == 3
    # active or not as analysis.activity decided it (2.5 is active)
    points = cases.all_rows(spec, "activity_points")
    assert [r["state"] for r in points] == ["active (≥ 2.5)", "active (≥ 2.5)", "inactive (< 2.5)"]


def test_the_activity_axis_labels_the_threshold_as_2_5():
    """The axis' ticks at 2.5 and 7.5 read "2.5" and "7.5" (Vega's default format rounded them to "3" and "8",
    beside the dashed 2.5 line)."""
    import re

    activity, events, cases = _activity_case()
    svg = cases.render_svg(activity_chart(activity, events=events), container_px=cases.SCREEN_1024_CHART_PX)
    start = svg.index('aria-label="Y-axis')
    group = svg.index("role-axis-label", start)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg[group:svg.index("</g>", group)])
    assert texts == ["0", "2.5", "5", "7.5", "10"]


def test_every_reason_fits_the_drill_down_column_of_a_1024_pixel_screen():
    """The Cohort screen's not-computable tables showed "missing: FVC, % predicted, Patient global (0–10), Physician
    global (0–1" at 1024 pixels: HAQ-DI, the last item, was cut off. Every reason now fits in REASON_CHARS."""
    from analysis.activity import EUSTAR_AI_MEASURES
    from analysis.criss import CRISS_MEASURES
    from charts.endpoints import REASON_CHARS

    reasons = ["baseline", "followup", ";".join(CRISS_MEASURES), ";".join(EUSTAR_AI_MEASURES)]
    words = [reason_words(r, month=600) for r in reasons]
    assert words[2] == "missing: FVC %, patient global, physician global, HAQ-DI"
    assert words[3] == "missing: Δ-skin, digital ulcers, friction rubs, CRP, DLCO %"
    assert max(len(w) for w in words) <= REASON_CHARS == 64, words
