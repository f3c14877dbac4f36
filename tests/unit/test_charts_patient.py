"""The mRSS panel, the medication lanes and the events: what each draws — layers, encodings and the numbers in
their rows — from hand-made frames (tests/unit/chart_spec_cases.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.frames import ASSESSMENT_COLUMNS, EVENT_COLUMNS, MEDICATION_COLUMNS, VISIT_COLUMNS
from analysis.response_lines import improvement_line, progression_line
from charts import event_rules, palette, patient
from charts.labels import CHAR_PX
from charts.mrss_panel import EMPTY_TITLE
from models.catalog import EVENT_KINDS, MRSS_MAX, NOISE_BETWEEN_RATERS, SITES_BY_CODE
from tests.unit import chart_spec_cases as cases


def panel(**kwargs) -> dict:
    args = {"baseline_mrss": 30.0, "events": cases.events(), "changes": cases.changes(),
            "time_axis": cases.time_axis()}
    args.update(kwargs)
    return patient.mrss_panel(cases.assessments(), cases.visits(), **args)


def lanes(**kwargs) -> dict:
    args = {"events": cases.events(), "changes": cases.changes(), "time_axis": cases.time_axis()}
    args.update(kwargs)
    return patient.medication_lanes(cases.medications(), **args)


def test_mrss_panel_draws_the_visit_means_the_raters_and_the_references():
    spec = panel()
    line, rows = cases.one(spec, "mrss_line")
    assert line["encoding"]["y"]["field"] == "mrss"
    assert line["encoding"]["y"]["scale"]["domain"][0] == 0 <= line["encoding"]["y"]["scale"]["domain"][1] <= MRSS_MAX
    assert [r["mrss"] for r in rows] == [30.0, 28.0, 20.0]
    titles = {t["title"] for t in cases.one(spec, "mrss_points")[0]["encoding"]["tooltip"]}
    assert {"Date", "mRSS (points)", "Raters (n)", "Rater totals", "Change from baseline"} <= titles
    band = cases.one(spec, "noise_band")[1][0]
    assert (band["lo"], band["hi"]) == (30 - NOISE_BETWEEN_RATERS, 30 + NOISE_BETWEEN_RATERS)
    _, raters = cases.one(spec, "rater_points")
    assert sorted((r["rater_name"], r["mrss"]) for r in raters) == [("Dr Lee", 26.0), ("Dr Okafor", 30.0)]
    assert cases.one(spec, "mrss_points")[1][1]["rater_totals"] == "Dr Lee: 26; Dr Okafor: 30"


def test_thresholds_are_the_analysis_lines_labelled_beside_the_axis():
    spec = panel()
    assert cases.one(spec, "improvement_threshold")[1][0]["y"] == improvement_line(30.0) == 22.5
    assert cases.one(spec, "progression_threshold")[1][0]["y"] == progression_line(30.0) == 37.5
    label, rows = cases.one(spec, "improvement_threshold_label")
    assert rows[0]["label"] == "improved\n≤ 22.5" and label["mark"]["lineBreak"] == "\n"
    assert label["encoding"]["x"] == {"value": 0} and label["mark"]["align"] == "right"  # left of the plot
    assert cases.one(spec, "improvement_threshold")[0]["mark"]["color"] == palette.IMPROVEMENT_LINE
    assert cases.one(spec, "progression_threshold_label")[1][0]["label"] == "progressed\n≥ 37.5"
    low = panel(baseline_mrss=12.0)
    assert cases.one(low, "improvement_threshold_label")[1][0]["label"] == "improved\nbelow 7"


def test_the_change_from_baseline_is_the_one_passed_in_never_recomputed():
    visits = cases.visits()
    visits["change"] = [0.0, -1.5, -7.25]  # whatever analysis said
    visits["change_pct"] = [0.0, -12.5, -24.2]
    spec = patient.mrss_panel(cases.assessments(), visits, baseline_mrss=30.0, time_axis=cases.time_axis())
    # rounded halves away from zero, as the exports round (−7.25 → −7.3, −12.5 % → −13 %)
    assert [r["change_text"] for r in cases.one(spec, "mrss_points")[1]] == ["0 points (0%)", "−1.5 points (−13%)",
                                                                           "−7.3 points (−24%)"]
    bare = patient.mrss_panel(cases.assessments(), cases.visits(with_change=False), baseline_mrss=30.0)
    assert {r["change_text"] for r in cases.one(bare, "mrss_points")[1]} == {""}


def test_a_dose_step_is_a_labelled_rule_with_what_followed_on_hover():
    rows = cases.all_rows(panel(width=1200), "event_labels")
    step = next(r for r in rows if r["kind"] == event_rules.TREATMENT and "→" in r["label"])
    assert step["text"] == step["label"] == "imatinib 200 → 400 mg"
    assert step["date_text"] == "2023-07-01" and step["color"] == palette.TREATMENT_RULE
    assert step["tip"] == {"title": "2023-07-01 · imatinib 200 → 400 mg", "Details": (
        "what followed in 3–6 months: mRSS 28 → 20 (−8) from 2023-05-10 to 2023-11-01; right hand and left fingers "
        "−1 each (also in this window: the injections into right hand and left fingers on 2023-09-01)")}
    injection = next(r for r in rows if r["kind"] == "steroid_injection")
    assert "what followed in 3–6 months: " in injection["tip"]["Details"]


def test_labels_are_never_cut_never_overlap_and_no_rule_crosses_them_at_the_narrowest_width():
    long = "Periorbital oedema with swelling of both upper eyelids, resolved without treatment"
    events = cases.events_frame(
        cases.event("2023-03-01", "adverse_event", long, grade=2),
        cases.event("2023-03-20", "procedure", "Skin biopsy, left forearm"),
        cases.event("2023-04-02", "steroid_injection", "", sites="hand_r"),
    )
    axis = cases.time_axis().sized(900)
    rules = cases.named(patient.mrss_panel(None, None, baseline_mrss=None, events=events, time_axis=axis),
                        "event_rules")
    assert all(v["encoding"]["y2"] == {"value": "height"} for v, _ in rules)  # from the marker down
    axis = cases.time_axis()
    prepared = event_rules.prepare_annotations(events, axis, cases.changes())
    full = {r["date"]: r for _, r in prepared.iterrows()}
    assert full[pd.Timestamp("2023-03-01")]["label"] == f"{long} (grade 2)"  # the whole text, nowhere shortened
    if prepared.attrs["numbered"]:
        assert list(prepared["text"]) == [str(i) for i in range(1, len(prepared) + 1)]
        assert all(f"{r['number']}  {r['date_text']}" in r["legend_text"] for _, r in prepared.iterrows())
    widths = [len(t) * CHAR_PX + event_rules.MARKER_PX for t in prepared["text"]]
    xs = [axis.fraction(x) * event_rules.MIN_PLOT_PX for x in prepared["x"]]
    spans = [((x, x + w) if a == "left" else (x - w, x), row) for x, w, a, row in
             zip(xs, widths, prepared["align"], prepared["row"], strict=True)]
    for i, ((a, b), row) in enumerate(spans):
        assert 0 <= a and b <= event_rules.MIN_PLOT_PX
        for (c, d), other in spans[i + 1:]:
            assert row != other or b + event_rules.LABEL_GAP_PX <= c or d + event_rules.LABEL_GAP_PX <= a
        for x, ((_, _), other) in zip(xs, spans, strict=True):  # a rule runs from its marker down
            assert other >= row or abs(x - xs[i]) < 1 or not a < x < b, "a rule crosses a label"


def test_few_short_labels_are_written_out_and_many_are_numbered_with_a_legend():
    axis = cases.time_axis().sized(1200)
    few = event_rules.prepare_annotations(cases.events(), axis, cases.changes())
    assert not few.attrs["numbered"] and list(few["text"]) == list(few["label"])
    many = cases.events_frame(*(cases.event(f"2023-{m:02d}-15", "procedure", f"procedure {m}") for m in range(1, 11)))
    numbered = event_rules.prepare_annotations(many, axis)
    assert numbered.attrs["numbered"] and list(numbered["text"]) == [str(i) for i in range(1, 11)]
    legend = event_rules.events_legend(numbered)
    assert legend["labelLimit"] == 0 and "split" in legend["labelExpr"]
    assert max(len(line) for t in numbered["legend_text"] for line in t.split("\n")) <= event_rules.LEGEND_CHARS


def test_every_event_kind_has_its_own_colour_and_shape_apart_from_the_thresholds():
    kinds = list(EVENT_KINDS)
    events = cases.events_frame(*(cases.event(f"2023-{i + 1:02d}-10", kind) for i, kind in enumerate(kinds)))
    prepared = event_rules.prepare_annotations(events, cases.time_axis())
    colors = dict(zip(prepared["kind"], prepared["color"], strict=True))
    shapes = dict(zip(prepared["kind"], prepared["shape"], strict=True))
    assert set(colors) == set(kinds)
    assert len(set(colors.values())) == len(kinds) and len(set(shapes.values())) == len(kinds)
    assert not set(colors.values()) & {palette.IMPROVEMENT_LINE, palette.PROGRESSION_LINE}
    assert colors["adverse_event"] != palette.CATEGORY_COLORS["progressed"]
    assert palette.BLACK not in colors.values()  # the organ events had provisional black


def test_event_tooltips_name_sites_agent_dose_and_grade_and_leave_out_what_is_blank():
    prepared = event_rules.prepare_annotations(cases.events(), cases.time_axis())
    tips = {r["kind"]: r["tip"] for _, r in prepared.iterrows()}
    hand, fingers = SITES_BY_CODE["hand_r"].display, SITES_BY_CODE["fingers_l"].display
    assert tips["steroid_injection"] == {"title": "2023-09-01 · Intralesional steroid injection",
                                         "Details": f"injected: {hand}, {fingers}; triamcinolone acetonide; 40 mg"}
    assert tips["adverse_event"] == {"title": "2023-08-01 · Adverse event", "Details": (
        "Periorbital oedema; grade 2 (moderate); not serious; resolved 2023-08-20")}
    assert all(set(tip) == {"title", "Details"} for tip in tips.values())  # the same keys in every row


def test_lanes_draw_dose_steps_and_an_ongoing_period_to_the_edge_with_its_start_date():
    spec = lanes()
    _, bars = cases.one(spec, "medication_bars")
    assert [(b["dose_text"], b["past_right"]) for b in bars] == [("200 mg daily", False), ("400 mg daily", True)]
    assert bars[0]["bar_px"] < bars[1]["bar_px"]  # the band steps up with the dose
    axis = cases.time_axis()
    assert pd.Timestamp(bars[1]["x2"]) == axis.high  # to the edge of the window, not to a fixed-width tail
    assert bars[1]["text_0"] == "400 mg daily, ongoing since 2023-07-01"
    arrow, rows = cases.one(spec, "ongoing_arrow")
    assert cases.filters(arrow) == ["datum.past_right"] and arrow["mark"]["shape"] == "triangle-right"
    assert arrow["encoding"]["x"]["field"] == "x2" and arrow["mark"]["xOffset"] < 0  # inside the plot
    texts = cases.named(spec, "dose_labels")
    assert all("width" in v["encoding"]["opacity"]["condition"]["test"] for v, _ in texts)  # chosen when drawn


def test_a_period_that_began_before_the_window_comes_in_from_the_left_with_its_start_date():
    meds = cases.medications()
    meds.loc[0, "start_date"] = pd.Timestamp("2015-02-01")
    spec = patient.medication_lanes(meds, time_axis=cases.time_axis())
    _, bars = cases.one(spec, "medication_bars")
    assert bars[0]["past_left"] and pd.Timestamp(bars[0]["x"]) == cases.time_axis().low
    assert bars[0]["text_0"] == "200 mg daily, since 2015-02-01"
    assert cases.one(spec, "earlier_arrow")[1]


def test_the_lanes_carry_the_events_legend_and_the_panel_above_does_not():
    assert any(v["encoding"]["color"].get("legend") for v, _ in cases.named(lanes(), "events_legend"))
    assert not cases.named(panel(), "events_legend")
    no_legend = lanes(legend=False)
    assert not cases.named(no_legend, "events_legend")


def test_days_axis_puts_day_zero_at_the_drug_start():
    axis = cases.time_axis(axis="days", anchor_date=cases.START, anchor_label="imatinib")
    spec = panel(time_axis=axis)
    _, visit_rows = cases.one(spec, "mrss_points")
    assert visit_rows[0]["x"] == -9.0
    x = cases.one(spec, "mrss_line")[0]["encoding"]["x"]
    assert x["type"] == "quantitative" and x["axis"]["title"] == "Days since the first imatinib start (2023-01-10 " \
                                                                  "= day 0)"
    _, bars = cases.one(lanes(time_axis=axis), "medication_bars")
    assert bars[1]["x"] == (pd.Timestamp("2023-07-01") - cases.START).days


def test_the_timeline_picture_stacks_the_panels_on_one_x_scale():
    spec = patient.patient_timeline(cases.assessments(), cases.visits(), cases.medications(), cases.events(),
                                    baseline_mrss=30.0, changes=cases.changes(), time_axis=cases.time_axis())
    assert len(spec["vconcat"]) == 2 and spec["resolve"]["scale"]["x"] == "shared"
    domains = cases.x_domains(spec)
    assert len(domains) > 10 and all(d == domains[0] for d in domains)
    assert all(part["width"] == 720 for part in spec["vconcat"])


@pytest.mark.parametrize("missing", ["assessments", "visits", "medications", "events", "all"])
def test_empty_frames_do_not_raise(missing):
    frames = {"assessments": cases.assessments(), "visits": cases.visits(), "medications": cases.medications(),
              "events": cases.events()}
    columns = {"assessments": ASSESSMENT_COLUMNS, "visits": VISIT_COLUMNS, "medications": MEDICATION_COLUMNS,
               "events": EVENT_COLUMNS}
    for key in frames if missing == "all" else [missing]:
        frames[key] = cases.empty(columns[key])
    baseline = None if missing in ("visits", "all") else 30.0
    spec = patient.patient_timeline(frames["assessments"], frames["visits"], frames["medications"],
                                    frames["events"], baseline_mrss=baseline)
    if missing in ("visits", "all"):
        assert spec["vconcat"][0]["title"]["text"] == EMPTY_TITLE
    if missing in ("medications", "all"):
        assert cases.named(spec, "no_treatments")
    patient.patient_timeline(None, None, None, None, baseline_mrss=None)
