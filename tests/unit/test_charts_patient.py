"""Patient chart builders: inspect chart.to_dict() of small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.frames import ASSESSMENT_COLUMNS, EVENT_COLUMNS, MEDICATION_COLUMNS, VISIT_COLUMNS
from charts import patient
from charts import spec_walk as sw
from charts.mrss_panel import EMPTY_TITLE, improvement_threshold, progression_threshold
from charts.time_axis import first_start
from models.catalog import MRSS_MAX, NOISE_BETWEEN_RATERS, SITE_CODES, SITES_BY_CODE

TODAY = pd.Timestamp("2024-05-01")
START = pd.Timestamp("2023-01-10")


def _dates(frame, *cols):
    for col in cols:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    return frame


def assessments() -> pd.DataFrame:
    rows = []
    for date, rater, total in [
        ("2023-01-01", "Dr Lee", 30),
        ("2023-05-10", "Dr Lee", 26),
        ("2023-05-10", "Dr Okafor", 30),
        ("2023-11-01", "", 20),
    ]:
        rec = {"patient_id": "P1", "visit_date": date, "rater": rater}
        rec.update({c: np.nan for c in SITE_CODES})
        rec.update({"total": float(total), "incomplete": False})
        rows.append(rec)
    return _dates(pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS), "visit_date")


def visits() -> pd.DataFrame:
    rows = []
    for date, n, mrss in [("2023-01-01", 1, 30.0), ("2023-05-10", 2, 28.0), ("2023-11-01", 1, 20.0)]:
        rec = {"patient_id": "P1", "visit_date": date, "n_raters": n, "mrss": mrss}
        rec.update({c: 1.0 for c in SITE_CODES})
        rows.append(rec)
    return _dates(pd.DataFrame(rows, columns=VISIT_COLUMNS), "visit_date")


def medications() -> pd.DataFrame:
    rows = [
        ("P1", "imatinib", 200.0, "mg", "daily", "oral", START, pd.Timestamp("2023-06-30"), "skin"),
        (
            "P1",
            "imatinib",
            400.0,
            "mg",
            "daily",
            "oral",
            pd.Timestamp("2023-07-01"),
            pd.NaT,
            "dose increased",
        ),
    ]
    return _dates(pd.DataFrame(rows, columns=MEDICATION_COLUMNS), "start_date", "end_date")


def events() -> pd.DataFrame:
    rows = [
        (
            "P1",
            "2023-08-01",
            "adverse_event",
            "Periorbital oedema",
            "",
            "",
            np.nan,
            "",
            2,
            False,
            "2023-08-20",
        ),
        (
            "P1",
            "2023-09-01",
            "steroid_injection",
            "",
            "hand_r;fingers_l",
            "triamcinolone acetonide",
            40.0,
            "mg",
            None,
            None,
            None,
        ),
    ]
    frame = _dates(pd.DataFrame(rows, columns=EVENT_COLUMNS), "date", "end_date")
    frame["grade"] = frame["grade"].astype("Int64")
    frame["serious"] = frame["serious"].astype("boolean")
    return frame


def empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def timeline(**kwargs) -> dict:
    args = dict(baseline_mrss=30.0, today=TODAY)
    args.update(kwargs)
    return patient.patient_timeline(assessments(), visits(), medications(), events(), **args).to_dict()


def test_timeline_has_mrss_panel_and_medication_lanes_in_one_vconcat():
    spec = timeline()
    assert len(spec["vconcat"]) == 2
    line, rows = sw.one(spec, "mrss_line")
    assert line["encoding"]["y"]["field"] == "mrss"
    assert line["encoding"]["y"]["scale"]["domain"][0] == 0
    assert line["encoding"]["y"]["scale"]["domain"][1] <= MRSS_MAX
    assert "mRSS" in line["encoding"]["y"]["axis"]["title"]
    assert [r["mrss"] for r in rows] == [30.0, 28.0, 20.0]
    titles = {t["title"] for t in sw.one(spec, "mrss_points")[0]["encoding"]["tooltip"]}
    assert {"Date", "mRSS (points)", "Raters (n)", "Rater totals", "Change from baseline"} <= titles
    for name in (
        "noise_band",
        "improvement_threshold",
        "progression_threshold",
        "rater_points",
        "medication_bars",
        "dose_labels",
    ):
        assert sw.named(spec, name), name
    # event rules on both panels, labels on the top one only
    assert len(sw.named(spec, "event_rules")) == 2
    assert len(sw.named(spec, "event_labels_0")) == 1


def test_x_scale_is_shared_between_panels():
    spec = timeline()
    assert spec["resolve"]["scale"]["x"] == "shared"
    domains = sw.x_domains(spec)
    assert len(domains) > 10
    assert all(d == domains[0] and d is not None for d in domains)


def test_standalone_panels_share_the_patient_domain():
    dom = patient.patient_x_domain(
        assessments=assessments(), visits=visits(), medications=medications(), events=events(), today=TODAY
    )
    charts = [
        patient.mrss_panel(assessments(), visits(), baseline_mrss=30.0, x_domain=dom),
        patient.medication_lanes(medications(), today=TODAY, x_domain=dom),
        patient.event_rules(events(), x_domain=dom),
        patient.site_heatmap(visits(), events(), x_domain=dom),
        patient.site_trajectories(visits(), events(), sites=["hand_r"], x_domain=dom),
    ]
    domains = [d for c in charts for d in sw.x_domains(c.to_dict())]
    assert all(d == domains[0] for d in domains)


def test_noise_band_and_thresholds():
    spec = timeline()
    band = sw.one(spec, "noise_band")[1][0]
    assert (band["lo"], band["hi"]) == (30 - NOISE_BETWEEN_RATERS, 30 + NOISE_BETWEEN_RATERS)
    assert sw.one(spec, "improvement_threshold")[1][0]["y"] == improvement_threshold(30.0) == 22.5
    assert sw.one(spec, "progression_threshold")[1][0]["y"] == progression_threshold(30.0) == 37.5
    assert improvement_threshold(12.0) == 7.0  # the 5-point condition is the stricter one
    assert progression_threshold(0.0) == 5.0


def test_rater_points_only_for_visits_with_two_raters():
    _, rows = sw.one(timeline(), "rater_points")
    assert sorted((r["rater_name"], r["mrss"]) for r in rows) == [("Dr Lee", 26.0), ("Dr Okafor", 30.0)]
    _, visit_rows = sw.one(timeline(), "mrss_points")
    assert visit_rows[1]["rater_totals"] == "Dr Lee: 26; Dr Okafor: 30"
    assert visit_rows[2]["rater_totals"] == "unspecified: 20"
    assert visit_rows[2]["change_text"] == "-10 points (-33%)"


def test_ongoing_period_extends_to_today_and_is_marked_open_ended():
    spec = timeline()
    _, bars = sw.one(spec, "medication_bars")
    ongoing = [b for b in bars if b["ongoing"]]
    assert len(ongoing) == 1
    assert pd.Timestamp(ongoing[0]["x2"]) == TODAY
    assert sw.filters(sw.one(spec, "ongoing_arrow")[0]) == ["datum.ongoing"]
    assert sw.one(spec, "ongoing_arrow")[0]["encoding"]["x"]["field"] == "x2"
    assert sw.one(spec, "ongoing_tail")[0]["mark"]["strokeDash"]
    finished = [b for b in bars if not b["ongoing"]][0]
    assert pd.Timestamp(finished["x2"]) == pd.Timestamp("2023-06-30")


def test_dose_change_gives_two_labelled_steps():
    spec = timeline()
    _, rows = sw.one(spec, "dose_labels")
    assert [(r["drug"], r["label"]) for r in rows] == [
        ("imatinib", "200 mg daily"),
        ("imatinib", "400 mg daily"),
    ]
    widths = [r["bar_px"] for r in rows]
    assert widths[0] < widths[1]  # the band steps up with the dose
    assert sw.one(spec, "dose_labels")[0]["encoding"]["text"]["field"] == "label"


def test_days_axis_puts_day_zero_at_the_drug_start():
    anchor = first_start(medications(), "imatinib")
    assert anchor == START
    spec = timeline(axis="days", anchor_date=anchor)
    _, bars = sw.one(spec, "medication_bars")
    assert bars[0]["x"] == 0.0
    assert bars[1]["x"] == (pd.Timestamp("2023-07-01") - START).days
    _, visit_rows = sw.one(spec, "mrss_points")
    assert visit_rows[0]["x"] == -9.0  # before the start: negative
    line = sw.one(spec, "mrss_line")[0]
    assert line["encoding"]["x"]["type"] == "quantitative"
    assert "imatinib" not in line["encoding"]["x"]["axis"]["title"]  # default label
    assert "day 0 = 2023-01-10" in line["encoding"]["x"]["axis"]["title"]
    domain = line["encoding"]["x"]["scale"]["domain"]
    assert domain[0] < -9 and domain[1] > (TODAY - START).days


def test_days_axis_without_anchor_falls_back_to_dates_with_a_note():
    spec = timeline(axis="days", anchor_date=None)
    assert sw.one(spec, "mrss_line")[0]["encoding"]["x"]["type"] == "temporal"
    assert any("never started" in s for s in spec["vconcat"][0]["title"]["subtitle"])


def test_invalid_axis_is_rejected():
    with pytest.raises(ValueError, match="axis"):
        timeline(axis="weeks")


def test_event_rules_tooltip_has_site_labels_agent_dose_and_grade_colour():
    spec = patient.event_rules(events()).to_dict()
    view, rows = sw.one(spec, "event_rules")
    injection = [r for r in rows if r["kind"] == "steroid_injection"][0]
    expected = f"{SITES_BY_CODE['hand_r'].display}, {SITES_BY_CODE['fingers_l'].display}"
    assert injection["sites_text"] == expected
    assert injection["agent"] == "triamcinolone acetonide"
    assert injection["dose_text"] == "40 mg"
    adverse = [r for r in rows if r["kind"] == "adverse_event"][0]
    assert adverse["marker"] == "Adverse event, grade 2 (moderate)"
    assert adverse["label"].endswith("(G2)")
    scale = view["encoding"]["color"]["scale"]
    assert "Adverse event, grade 2 (moderate)" in scale["domain"]
    titles = {t["title"] for t in view["encoding"]["tooltip"]}
    assert {"Injected sites", "Agent", "Dose", "Date"} <= titles


@pytest.mark.parametrize("missing", ["assessments", "visits", "medications", "events", "all"])
def test_empty_frames_do_not_raise(missing):
    frames = {
        "assessments": assessments(),
        "visits": visits(),
        "medications": medications(),
        "events": events(),
    }
    columns = {
        "assessments": ASSESSMENT_COLUMNS,
        "visits": VISIT_COLUMNS,
        "medications": MEDICATION_COLUMNS,
        "events": EVENT_COLUMNS,
    }
    for key in frames if missing == "all" else [missing]:
        frames[key] = empty(columns[key])
    baseline = None if missing in ("visits", "all") else 30.0
    spec = patient.patient_timeline(
        frames["assessments"],
        frames["visits"],
        frames["medications"],
        frames["events"],
        baseline_mrss=baseline,
        today=TODAY,
    ).to_dict()
    assert spec["resolve"]["scale"]["x"] == "shared"
    if missing in ("visits", "all"):
        assert spec["vconcat"][0]["title"]["text"] == EMPTY_TITLE
    if missing in ("medications", "all"):
        assert sw.named(spec, "no_treatments")


def test_everything_empty_renders_to_png():
    from charts.export import PNG_SIGNATURE, to_png

    chart = patient.patient_timeline(
        empty(ASSESSMENT_COLUMNS),
        empty(VISIT_COLUMNS),
        empty(MEDICATION_COLUMNS),
        empty(EVENT_COLUMNS),
        baseline_mrss=None,
        axis="days",
        anchor_date=START,
        today=TODAY,
    )
    assert to_png(chart, scale=1).startswith(PNG_SIGNATURE)


def test_none_frames_do_not_raise():
    patient.patient_timeline(None, None, None, None, baseline_mrss=None, today=TODAY).to_dict()
