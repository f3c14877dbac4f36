"""db/frames.py: the quick ways (short text and date columns built directly; long repeating columns converted per
distinct value) give exactly what `convert` gives."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.frames import _REPEATING, DATE, TEXT, TIMESTAMP, _by_distinct, _small_column, convert

TEXTS = st.lists(st.one_of(st.none(), st.text(max_size=12), st.integers(), st.floats(allow_nan=True)), max_size=20)
DATES = st.lists(st.one_of(
    st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.dates().map(date.isoformat),
    st.text(alphabet="0123456789-:T ", min_size=8, max_size=12),  # ISO look-alikes, some not dates at all
    st.datetimes(min_value=datetime(1900, 1, 1)).map(str)), max_size=20)
pytestmark = pytest.mark.filterwarnings("ignore:Could not infer format")  # convert() on the look-alikes


def _equal_to_convert(quick: pd.Series, values, kind: str) -> None:
    slow = convert(pd.Series(values, dtype=object), kind)
    assert quick.dtype == slow.dtype, (values, quick.dtype, slow.dtype)
    pd.testing.assert_series_equal(quick, slow, check_names=False)


def _same(values, kind: str) -> None:
    quick = _small_column(values, kind)
    if quick is None:  # declined: the reader uses convert itself
        assert kind == DATE
        return
    _equal_to_convert(quick, values, kind)


@pytest.mark.parametrize("kind", [TEXT, DATE])
@given(data=st.data())
def test_short_columns_match_convert(kind, data):
    _same(data.draw(COLUMNS[kind]), kind)


def test_hand_picked_cases():
    _same(["2024-02-29", None, "1900-01-01"], DATE)
    assert _small_column(["2024-02-30"], DATE) is None  # no such day: convert() makes it NaT
    assert _small_column([datetime(2024, 1, 1, 10, 30)], DATE) is None  # a moment, not a date
    _same([date(2024, 1, 1), None], DATE)
    _same([], DATE)
    _same([], TEXT)
    _same(["a", None, float("nan"), 5, ""], TEXT)
    assert list(_small_column([np.nan, None, "x"], TEXT)) == ["", "", "x"]


STAMPS = st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1)),
                            st.datetimes(min_value=datetime(1900, 1, 1)).map(str)), max_size=20)
COLUMNS = {TEXT: TEXTS, DATE: DATES, TIMESTAMP: STAMPS}


def _same_by_distinct(values, kind: str) -> None:
    values = values * 3  # repeats, as a large read has them
    quick = _by_distinct(values, kind)
    if quick is None:  # declined: the reader uses convert itself
        assert not {v.__class__ for v in values} <= {*_REPEATING[kind], type(None)}, values
        return
    _equal_to_convert(quick, values, kind)


@pytest.mark.parametrize("kind", [TEXT, DATE, TIMESTAMP])
@given(data=st.data())
def test_repeating_columns_match_convert(kind, data):
    _same_by_distinct(data.draw(COLUMNS[kind]), kind)


def test_repeating_columns_hand_picked():
    _same_by_distinct([None, "2024-01-31", "31/01/2024", "2024-01-31"], DATE)  # the first value fixes the format
    _same_by_distinct(["b", None, "a", "b"], TEXT)
    _same_by_distinct([], TEXT)
    assert _by_distinct(["1", 1], TEXT) is None  # 1 and "1": not the plain classes, convert reads them
    assert _by_distinct(["x", 1.0, True, 1], TEXT) is None  # equal across classes: one distinct, still refused
    assert _by_distinct([datetime(2024, 1, 1)], DATE) is None  # a moment is no date
    assert _by_distinct([float("nan"), None, "a"], TEXT) is not None  # NaN and None: both missing, as in convert
