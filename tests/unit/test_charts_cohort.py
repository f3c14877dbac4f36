"""Cohort charts: spaghetti, waterfall, site response bars — what they draw, label and explain."""

from __future__ import annotations

import pandas as pd
import pytest

from charts import cohort, palette
from charts.labels import signed
from models.catalog import RESPONSE_POINTS, SITE_CODES, SITES
from tests.unit import chart_spec_cases as sw

TRAJ = pd.DataFrame({"patient_id": ["A", "A", "B", "B"], "day": [0, 90, 0, 90], "mrss": [30.0, 25, 20, 21]})
CURVE = pd.DataFrame({"day": [0, 91, 183, 274, 365], "mean": [25.0, 23, 20, 21, 19], "ci_low": [20.0, 19, -40, 15, 12],
                      "ci_high": [30.0, 27, 80, 27, 26], "n": [5, 4, 2, 3, 3]})


def test_spaghetti_layers():
    spec = cohort.spaghetti(TRAJ, CURVE, anchor_drug="imatinib")
    lines, rows = sw.one(spec, "patient_lines")
    assert lines["encoding"]["detail"]["field"] == "patient_id"
    assert any(t["field"] == "patient_id" for t in lines["encoding"]["tooltip"])
    assert len(rows) == 4
    band = sw.one(spec, "ci_band")[0]
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("ci_low", "ci_high")
    mean, points = sw.one(spec, "mean_line")
    assert mean["encoding"]["y"]["field"] == "mean" and [p["n"] for p in points] == [5, 4, 2, 3, 3]
    assert any(t["field"] == "n" for t in mean["encoding"]["tooltip"])


def test_the_band_is_drawn_only_where_three_or_more_patients_contribute_and_breaks_between():
    band, rows = sw.one(cohort.spaghetti(TRAJ, CURVE), "ci_band")
    assert [(r["day"], r["segment"]) for r in rows] == [(0, 1), (91, 1), (274, 2), (365, 2)]
    assert band["encoding"]["detail"]["field"] == "segment"  # two areas: nothing bridges the bin of two patients
    assert cohort.MIN_PATIENTS_FOR_BAND == 3


def test_the_number_of_patients_of_each_bin_runs_along_the_axis():
    view, rows = sw.one(cohort.spaghetti(TRAJ, CURVE), "bin_counts")
    assert [(r["day"], r["n_text"]) for r in rows] == [(0, "5"), (91, "4"), (183, "2"), (274, "3"), (365, "3")]
    assert view["encoding"]["y"] == {"value": "height"} and view["mark"]["baseline"] == "bottom"
    assert "width" in view["encoding"]["opacity"]["condition"]["test"]  # thinned to fit the drawn width


def test_spaghetti_keeps_a_wide_band_inside_the_plot():
    """A band reaching below 0 or above 51 (few patients late in follow-up) is clipped, not drawn over the titles
    (unclipped, Vega's fit sizing squeezes the whole plot to make room for it)."""
    spec = cohort.spaghetti(TRAJ, CURVE, anchor_drug="imatinib")
    for name in ("patient_lines", "ci_band", "mean_line"):
        view = sw.one(spec, name)[0]
        assert view["mark"]["clip"] is True, name
        assert view["encoding"]["y"]["scale"]["domain"] == [0, 51]


def test_spaghetti_legend_names_each_line():
    spec = cohort.spaghetti(TRAJ, CURVE, anchor_drug="imatinib")
    colors = {name: sw.one(spec, name)[0]["encoding"]["color"] for name in ("patient_lines", "ci_band", "mean_line")}
    scale = colors["mean_line"]["scale"]
    assert scale["domain"] == ["Each patient", "Cohort mean", "95% CI of the mean"]
    assert scale["range"] == [palette.COHORT_LINE, palette.COHORT_MEAN, palette.COHORT_CI]
    assert all(c["scale"] == scale for c in colors.values())
    assert [r["series"] for r in sw.one(spec, "patient_lines")[1]] == ["Each patient"] * 4
    assert {r["series"] for r in sw.one(spec, "mean_line")[1]} == {"Cohort mean"}
    assert colors["mean_line"]["legend"]["symbolOpacity"] == 1  # not the band's faint fill


@pytest.mark.parametrize(("anchor", "x_title", "day_zero"), [
    ("imatinib", "Days since the first start of imatinib", "day 0 = the first start of imatinib"),
    (None, "Days since the baseline visit (first visit with an mRSS)",
     "day 0 = the baseline visit (first visit with an mRSS)"),
])
def test_spaghetti_says_what_day_0_is(anchor, x_title, day_zero):
    spec = cohort.spaghetti(TRAJ, CURVE, anchor_drug=anchor)
    assert sw.one(spec, "patient_lines")[0]["encoding"]["x"]["title"] == x_title
    assert day_zero in spec["title"]["subtitle"][0]
    assert [r["day"] for r in sw.one(spec, "day_zero")[1]] == [0]


def test_spaghetti_title_counts_the_patients_drawn():
    assert cohort.spaghetti(TRAJ, CURVE)["title"]["subtitle"][0].startswith("2 patients. Dotted")
    sampled = cohort.spaghetti(TRAJ, CURVE, n_patients=2500)["title"]["subtitle"][0]
    assert sampled.startswith("2 of 2,500 patients drawn; the mean and its band use every patient.")
    one = cohort.spaghetti(TRAJ[TRAJ["patient_id"] == "A"], CURVE.iloc[0:0])
    assert one["title"]["subtitle"][0].startswith("1 patient. Dotted")


def test_waterfall_sorted_coloured_with_reference():
    changes = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C"],
            "change": [-8.0, 7.0, 1.0],
            "change_pct": [-40.0, 35.0, 5.0],
            "baseline": [20.0, 20.0, 20.0],
            "mrss": [12.0, 27.0, 21.0],
            "category": ["improved", "progressed", "stable"],
        }
    )
    spec = cohort.waterfall(changes, window="12 months")
    view, rows = sw.one(spec, "change_bars")
    assert view["encoding"]["x"]["sort"] == ["B", "C", "A"]
    color = view["encoding"]["color"]["scale"]
    assert color["domain"] == ["improved", "stable", "progressed"]
    assert color["range"] == [palette.CATEGORY_COLORS[c] for c in color["domain"]]
    assert sorted(r["y"] for r in sw.one(spec, "response_rules")[1]) == [-RESPONSE_POINTS, RESPONSE_POINTS]
    assert "12 months" in spec["title"]["text"]
    by_patient = {r["patient_id"]: r for r in rows}
    assert (by_patient["A"]["change_text"], by_patient["A"]["pct_text"]) == ("−8.0 points", "−40%")
    assert (by_patient["B"]["change_text"], by_patient["B"]["pct_text"]) == ("+7.0 points", "+35%")
    assert by_patient["A"]["response"].startswith("improved (fall > 5 points and ≥ 25%")
    assert {t["field"] for t in view["encoding"]["tooltip"]} >= {"patient_id", "baseline", "mrss", "change_text"}


def test_waterfall_reference_labels_sit_at_the_right_edge_at_any_width():
    spec = cohort.waterfall(pd.DataFrame({"patient_id": ["A"], "change": [-6.0], "category": ["improved"]}))
    labels = {rows[0]["label"]: view["mark"] for view, rows in sw.find(spec, mark="text")}
    assert labels["+5 points"]["x"] == "width"  # not a pixel count that a stretched chart would leave mid-plot
    assert labels["−5 points"]["x"] == 0


def test_waterfall_hides_patient_labels_when_crowded():
    many = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(41)], "change": [0.0] * 41,
                         "category": ["stable"] * 41})
    axis = sw.one(cohort.waterfall(many), "change_bars")[0]["encoding"]["x"]["axis"]
    assert axis["labels"] is False
    axis = sw.one(cohort.waterfall(many.head(40)), "change_bars")[0]["encoding"]["x"]["axis"]
    assert axis["labels"] is True


def test_site_response_bars_catalogue_order():
    shuffled = list(reversed(SITE_CODES))
    frame = pd.DataFrame({"site": shuffled, "mean_change": [-0.1 * i for i in range(len(shuffled))]})
    spec = cohort.site_response_bars(frame)
    view, rows = sw.one(spec, "site_bars")
    assert view["encoding"]["y"]["sort"] == [s.display for s in SITES]
    assert [r["site"] for r in rows] == list(SITE_CODES)


def test_site_response_bars_show_the_ci_the_values_and_n():
    frame = pd.DataFrame({"site": list(SITE_CODES), "mean_change": [-0.25] * 16 + [0.5], "n": [40] * 16 + [38],
                          "ci_low": [-0.4] * 16 + [0.1], "ci_high": [-0.1] * 16 + [0.9]})
    spec = cohort.site_response_bars(frame, window="12 months")
    bars, rows = sw.one(spec, "site_bars")
    whiskers, ci_rows = sw.one(spec, "site_ci")
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("ci_low", "ci_high")
    assert len(ci_rows) == 17
    domain = bars["encoding"]["x"]["scale"]["domain"]
    assert domain[0] <= -0.4 and domain[1] >= 0.9  # the whiskers fit on the axis
    values = {r["site"]: r["value_text"] for r in sw.one(spec, "site_values")[1]}
    assert values["face"] == "−0.25" and values["foot_l"] == "+0.50"  # true minus signs, two decimals
    assert {r["site"]: r["direction"] for r in rows}["foot_l"] == "rise"
    assert "n = 38–40 per site" in spec["title"]["subtitle"][1] and "12 months" in spec["title"]["text"]
    assert {t["field"] for t in bars["encoding"]["tooltip"]} >= {"n", "ci_text", "value_text"}


def test_signed_numbers():
    # halves away from zero, as every export and analysis.formatting round (−3.25 → −3.3; it read −3.2, half to even)
    assert [signed(v, 1) for v in (-3.25, 0.0, 2, -0.04, None, float("nan"))] == [
        "−3.3", "0.0", "+2.0", "0.0", "–", "–"]
    assert signed(-40.0, 0, "%") == "−40%"
    assert [signed(v, 0, "%") for v in (-12.5, 12.5, 2.5)] == ["−13%", "+13%", "+3%"]
    assert [signed(v) for v in (-1.5, 2.0, 0.0)] == ["−1.5", "+2", "0"]


def test_cohort_charts_accept_empty_frames():
    empty = cohort.spaghetti(
        pd.DataFrame(columns=["patient_id", "day", "mrss"]),
        pd.DataFrame(columns=["day", "mean", "ci_low", "ci_high"]),
    )
    assert empty["title"]["text"] == "No patient of this cohort has a baseline mRSS"
    cohort.waterfall(pd.DataFrame(columns=["patient_id", "change", "category"]))
    cohort.site_response_bars(pd.DataFrame(columns=["site", "mean_change"]))


def test_registry_scale_cohorts_draw():
    """Thousands of patients: the spaghetti sample's visits and one waterfall bar per patient, every row kept
    (Altair's 5,000-row guard once failed the cohort screen on the 20,000-patient registry)."""
    n = 20_000
    rows = range(6000)
    traj = pd.DataFrame({"patient_id": [f"P{i // 20}" for i in rows], "day": [90 * (i % 20) for i in rows],
                         "mrss": [float(i % 40) for i in rows]})
    spec = cohort.spaghetti(traj, CURVE, anchor_drug=None, n_patients=n)
    assert len(sw.one(spec, "patient_lines")[1]) == 6000
    changes = pd.DataFrame({"patient_id": [f"P{i:05d}" for i in range(n)],
                            "change": [float(i % 21 - 10) for i in range(n)], "category": ["stable"] * n})
    spec = cohort.waterfall(changes, window="12 months")
    view, rows = sw.one(spec, "change_bars")
    assert len(rows) == n
    # a numeric slot per patient (a band scale of 20,000 names drew nothing in the browser), bars from 0
    assert (view["encoding"]["x"]["field"], view["encoding"]["x2"]["field"]) == ("rank", "rank_end")
    assert view["encoding"]["x"]["scale"]["domain"] == [0, n] and view["encoding"]["y2"] == {"datum": 0}
    assert sorted(r["rank"] for r in rows) == list(range(n))


@pytest.mark.parametrize("n", [3, 58])
def test_waterfall_marks_patients_with_no_change(n):
    """The demo's 12-month waterfall: eight patients at 0 drew nothing, a gap between the rises and the falls that read
    as missing patients. Each patient with no change gets a tick on the zero line, in the colour of their category,
    in the bars' slots (a band of names up to 40 patients, numbered slots beyond)."""
    changes = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                            "change": [2.0] + [0.0] * (n - 2) + [-6.0],
                            "category": ["stable"] * (n - 1) + ["improved"]})
    spec = cohort.waterfall(changes, window="12 months")
    sw.validate(spec)
    view, rows = sw.one(spec, "no_change_marks")
    assert [r["patient_id"] for r in rows] == [f"P{i:02d}" for i in range(1, n - 1)]
    no_change = f"A short band on the zero line: no change ({n - 2} patient{'s' * (n > 3)})."
    assert spec["title"]["subtitle"][-1] == no_change
    bars = sw.one(spec, "change_bars")[0]
    assert view["encoding"]["color"] == bars["encoding"]["color"]
    if n > 40:
        assert [r["mid"] for r in rows][:2] == [1.5, 2.5]  # the middle of the bars' slots 1–2 and 2–3
        assert view["encoding"]["x"]["scale"] == bars["encoding"]["x"]["scale"]
    else:
        assert view["encoding"]["x"]["sort"] == bars["encoding"]["x"]["sort"]


def test_the_activity_distribution_draws_a_bar_per_value_in_each_panel_with_the_threshold():
    from analysis.activity import activity_distribution

    spec = cohort.activity_distribution([
        ("Baseline: 3 patients with a known index", activity_distribution([1.5, 7.75, 1.5])),
        ("Month 12: 1 patient with a known index", activity_distribution([1.0])),
    ])
    sw.validate(spec)
    top, bottom = spec["vconcat"]
    assert [p["title"]["text"] for p in (top, bottom)] == ["Baseline: 3 patients with a known index",
                                                           "Month 12: 1 patient with a known index"]
    bars = sw.named(spec, "activity_bars")
    assert [[(r["low"], r["high"], r["n"], r["state"]) for r in rows] for _, rows in bars] == [
        [(1.4, 1.6, 2, "inactive (< 2.5)"), (7.65, 7.85, 1, "active (≥ 2.5)")],
        [(0.9, 1.1, 1, "inactive (< 2.5)")],
    ]
    assert [r["n_text"] for r in bars[0][1]] == ["2 (67%)", "1 (33%)"]
    rules = sw.named(spec, "activity_threshold")
    assert len(rules) == 2 and all(rows == [{"x": 2.5, "label": "active disease from 2.5"}] for _, rows in rules)
    # one 0-10 axis for both panels, titled once, under the last
    assert all(view["encoding"]["x"]["scale"]["domain"] == [0, 10] for view, _ in bars)
    assert [view["encoding"]["x"]["title"] for view, _ in bars] == [None, "EUSTAR activity index (0–10)"]


def test_an_empty_panel_still_draws_its_axis_and_threshold():
    from analysis.activity import activity_distribution

    spec = cohort.activity_distribution([("Month 12: 0 patients with a known index", activity_distribution([]))])
    sw.validate(spec)
    assert sw.named(spec, "activity_bars")[0][1] == [] and len(sw.named(spec, "activity_threshold")) == 1
