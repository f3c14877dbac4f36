"""The shared time axis."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.frames import MEDICATION_COLUMNS
from charts.time_axis import first_start, make_time_axis, resolve_mode

ANCHOR = pd.Timestamp("2023-03-01")


def test_days_mode_gives_day_zero_at_the_anchor_and_negative_before():
    axis, note = make_time_axis([ANCHOR], axis="days", anchor_date=ANCHOR)
    assert note == ""
    frame = pd.DataFrame({"d": pd.to_datetime(["2023-02-27", "2023-03-01", "2023-03-11", None])})
    out = axis.add_x(frame, "d")
    assert out["x"].tolist()[:3] == [-2.0, 0.0, 10.0]
    assert pd.isna(out["x"].iloc[3])
    assert axis.type == "quantitative"


def test_date_mode_keeps_dates_and_uses_datetime_domain():
    axis, _ = make_time_axis(["2023-01-01", "2023-12-31"], axis="date")
    assert axis.type == "temporal"
    low, high = axis.scale_domain()
    assert low["year"] == 2022 and high["year"] == 2024  # padded


def test_explicit_domain_is_used_as_given():
    axis, _ = make_time_axis([], axis="days", anchor_date=ANCHOR, x_domain=(-30.0, 400.0))
    assert axis.scale_domain() == [-30.0, 400.0]


def test_first_start():
    meds = pd.DataFrame(
        [
            ("P", "imatinib", 400.0, "mg", "daily", "oral", pd.Timestamp("2023-07-01"), pd.NaT, ""),
            ("P", "imatinib", 200.0, "mg", "daily", "oral", ANCHOR, pd.Timestamp("2023-06-30"), ""),
        ],
        columns=MEDICATION_COLUMNS,
    )
    assert first_start(meds, "imatinib") == ANCHOR
    assert first_start(meds, "rituximab") is None


def test_modes():
    assert resolve_mode("days", None)[0] == "date"
    with pytest.raises(ValueError):
        resolve_mode("months", None)


@given(
    st.lists(
        st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2060-01-01").date()),
        min_size=1,
        max_size=20,
    )
)
def test_domain_covers_every_date(dates):
    axis, _ = make_time_axis(dates, axis="days", anchor_date=ANCHOR)
    low, high = axis.domain
    for d in dates:
        assert low < axis.value(d) < high
