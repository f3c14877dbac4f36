"""The shared time axis: its window, its modes and its label rules — years on every span, no two labels closer
than their width on a 1024-pixel screen, as rendered."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.frames import EVENT_COLUMNS, MEDICATION_COLUMNS
from charts import medication_lanes, mrss_panel, site_charts
from charts.time_axis import (
    DATE_LEVELS,
    LABEL_GAP_PX,
    MIN_PAD_DAYS,
    MIN_SPAN_DAYS,
    chart_window,
    choose_level,
    first_start,
    make_time_axis,
    resolve_mode,
)
from tests.unit import chart_spec_cases as cases

ANCHOR = pd.Timestamp("2023-03-01")
LABEL_CHAR_PX = 6.6  # the widest characters of the 11-pixel axis labels
PLOT_1024_PX = cases.SCREEN_1024_CHART_PX - 132 - 10  # the chart column less the y labels and the padding


def visits_on(*days: str) -> pd.DataFrame:
    return pd.DataFrame({"visit_date": pd.to_datetime(list(days))})


def test_default_window_runs_from_the_first_visit_to_the_last_date_padded():
    events = cases.events_frame(cases.event("2012-05-02", "gadolinium_exposure", "contrast MRI"),
                                cases.event("2023-06-01", "procedure", "biopsy"))
    window = chart_window(visits=visits_on("2022-01-10", "2023-01-10"), events=events, today=cases.TODAY)
    span = (pd.Timestamp("2023-06-01") - pd.Timestamp("2022-01-10")).days
    pad = round(max(span * 0.03, MIN_PAD_DAYS))
    assert window.low == pd.Timestamp("2022-01-10") - pd.Timedelta(days=pad)
    assert window.high == pd.Timestamp("2023-06-01") + pd.Timedelta(days=pad)
    assert list(window.before["description"]) == ["contrast MRI"] and window.after.empty


def test_an_ongoing_drug_does_not_stretch_the_default_window_to_today():
    window = chart_window(visits=visits_on("2022-03-07", "2024-03-06"), medications=cases.medications(),
                          today=pd.Timestamp("2027-01-01"))
    assert window.high < pd.Timestamp("2024-05-01")
    assert chart_window(visits=visits_on("2022-03-07", "2024-03-06"), medications=cases.medications(),
                        window="today", today=pd.Timestamp("2027-01-01")).high >= pd.Timestamp("2027-01-01")


def test_whole_history_includes_the_early_events():
    events = cases.events_frame(cases.event("2012-05-02", "gadolinium_exposure"))
    window = chart_window(visits=visits_on("2022-01-10", "2023-01-10"), events=events, window="history")
    assert window.low < pd.Timestamp("2012-05-02") and window.before.empty


def test_a_single_visit_and_an_empty_patient_get_a_window_of_their_own():
    one = chart_window(visits=visits_on("2023-05-05"))
    assert one.low < pd.Timestamp("2023-05-05") < one.high and one.span_days >= MIN_SPAN_DAYS
    nothing = chart_window(today=cases.TODAY)
    assert nothing.high > cases.TODAY > nothing.low
    with pytest.raises(ValueError, match="window"):
        chart_window(window="forever")


def test_days_mode_gives_day_zero_at_the_anchor_and_negative_before():
    axis, note = make_time_axis((ANCHOR - pd.Timedelta(days=30), ANCHOR + pd.Timedelta(days=60)), axis="days",
                                anchor_date=ANCHOR, anchor_label="imatinib")
    assert note == "" and axis.domain == (-30.0, 60.0) and axis.type == "quantitative"
    frame = pd.DataFrame({"d": pd.to_datetime(["2023-02-27", "2023-03-01", "2023-03-11", None])})
    out = axis.add_x(frame, "d")
    assert out["x"].tolist()[:3] == [-2.0, 0.0, 10.0] and pd.isna(out["x"].iloc[3])
    assert axis.title == "Days since the first imatinib start (2023-03-01 = day 0)"
    assert "start start" not in axis.title and "first start of" not in axis.title


def test_days_without_an_anchor_fall_back_to_dates_with_a_note():
    axis, note = make_time_axis((ANCHOR, ANCHOR + pd.Timedelta(days=90)), axis="days", anchor_date=None)
    assert axis.type == "temporal" and "never started" in note
    with pytest.raises(ValueError):
        resolve_mode("months", None)


def test_first_start():
    meds = pd.DataFrame(
        [("P", "imatinib", 400.0, "mg", "daily", "oral", pd.Timestamp("2023-07-01"), pd.NaT, ""),
         ("P", "imatinib", 200.0, "mg", "daily", "oral", ANCHOR, pd.Timestamp("2023-06-30"), "")],
        columns=MEDICATION_COLUMNS)
    assert first_start(meds, "imatinib") == ANCHOR
    assert first_start(meds, "rituximab") is None


@pytest.mark.parametrize(("span_days", "interval", "step"), [
    (61, "month", 1),  # 2 months
    (730, "month", 2),  # 2 years
    (4383, "year", 2),  # 12 years
    (10957, "year", 5),  # 30 years
])
def test_the_level_at_1024_pixels(span_days, interval, step):
    level = choose_level(DATE_LEVELS, span_days, PLOT_1024_PX)
    assert (level.interval, level.step) == (interval, step)
    assert PLOT_1024_PX * level.days / span_days >= level.need_px


@given(st.floats(min_value=30, max_value=40000), st.floats(min_value=120, max_value=3000))
def test_the_chosen_level_is_the_finest_that_fits(span_days, width):
    level = choose_level(DATE_LEVELS, span_days, width)
    fits = [lv for lv in DATE_LEVELS if width * lv.days / span_days >= lv.need_px]
    assert level == (fits[0] if fits else DATE_LEVELS[-1])


@pytest.mark.parametrize(("first", "last"), [
    ("2023-03-10", "2023-05-10"),  # 2 months, no January inside
    ("2022-03-07", "2024-03-06"),  # 2 years (DEMO-0002)
    ("2012-02-01", "2024-02-01"),  # 12 years
    ("1994-06-01", "2024-06-01"),  # 30 years
])
def test_rendered_axis_shows_years_and_no_label_touches_another(first, last):
    """Drawn as a 1024-pixel screen draws it (the chart fitted to its column; the panels sharing the axis have
    the same one, see below): the axis shows a year, and its labels keep at least LABEL_GAP_PX between them,
    measured with the widest characters of their font."""
    axis, _ = make_time_axis(chart_window(visits=visits_on(first, last)))
    spec = medication_lanes.medication_lanes(None, time_axis=axis)
    labels = cases.x_axis_labels(cases.render_svg(spec, container_px=cases.SCREEN_1024_CHART_PX))
    assert len(labels) >= 2
    assert any(re.fullmatch(r"\d{4}", line) for _, _, lines in labels for line in lines), labels
    extents = [cases.label_extent(x, anchor, lines[0], LABEL_CHAR_PX) for x, anchor, lines in labels]
    for (_, right), (left, _) in zip(extents, extents[1:], strict=False):
        assert left - right >= LABEL_GAP_PX, labels


def test_a_wider_screen_gets_denser_labels():
    axis, _ = make_time_axis(chart_window(visits=visits_on("2022-03-07", "2024-03-06")))
    spec = medication_lanes.medication_lanes(None, time_axis=axis)
    narrow = cases.x_axis_labels(cases.render_svg(spec, container_px=cases.SCREEN_1024_CHART_PX))
    wide = cases.x_axis_labels(cases.render_svg(spec, container_px=1200))
    assert len(wide) > len(narrow)


def test_panels_sharing_the_axis_share_its_domain_and_label_rules():
    axis = cases.time_axis()
    specs = [
        mrss_panel.mrss_panel(cases.assessments(), cases.visits(), baseline_mrss=30.0, time_axis=axis),
        medication_lanes.medication_lanes(cases.medications(), time_axis=axis),
        site_charts.site_heatmap(cases.visits(), cases.events(), time_axis=axis),
        site_charts.sites_that_moved(cases.visits(), ["hand_r"], time_axis=axis),
    ]
    encodings = [view["encoding"]["x"] for spec in specs for view, _ in cases.views(spec)
                 if "field" in view.get("encoding", {}).get("x", {})]
    assert len({str(e["scale"]["domain"]) for e in encodings}) == 1
    assert len({(e["axis"]["labelExpr"], str(e["axis"]["tickCount"])) for e in encodings}) == 1
    assert all("width" in e["axis"]["tickCount"]["expr"] for e in encodings)  # chosen from the drawn width


def test_a_fixed_width_writes_its_number_into_the_rules():
    axis = cases.time_axis().sized(600)
    assert "width" not in axis.axis()["tickCount"]["expr"] and "600 *" in axis.axis()["tickCount"]["expr"]


def test_domain_covers_every_date_with_padding():
    @given(st.lists(st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                             max_value=pd.Timestamp("2060-01-01").date()), min_size=1, max_size=20))
    def check(dates):
        window = chart_window(visits=pd.DataFrame({"visit_date": pd.to_datetime(dates)}))
        axis, _ = make_time_axis(window, axis="days", anchor_date=ANCHOR)
        low, high = axis.domain
        for d in dates:
            assert low < axis.value(d) < high

    check()


def test_empty_frames_are_accepted():
    window = chart_window(visits=cases.empty(["visit_date"]), events=cases.empty(EVENT_COLUMNS),
                          medications=cases.empty(MEDICATION_COLUMNS), today=cases.TODAY)
    assert window.before.empty and window.span_days >= MIN_SPAN_DAYS
