"""The one time axis shared by every panel of a patient's chart.

Two modes:
- ``"date"``: calendar dates (Vega-Lite temporal field);
- ``"days"``: days since the first start of a chosen drug (``anchor_date``), negative before it.

Every builder adds the column ``x`` to its frames with :meth:`TimeAxis.add_x` and encodes it with
:meth:`TimeAxis.x` (a Vega-Lite encoding as a dict, see charts/vl.py) — which always carries the
explicit, shared ``scale.domain`` — so panels built separately (and stacked by Streamlit) line up
exactly, and concatenated panels share one scale. :func:`patient_x_domain` computes that domain from
all of a patient's frames.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pandas as pd

AXIS_MODES = ("date", "days")
X = "x"  # the column every builder plots on the horizontal axis
X2 = "x2"  # the end of an interval (medication periods, heat-map cells)

# Every patient panel reserves the same room for its y-axis labels, so that panels stacked in a
# concat (or one below the other in Streamlit) have their plot areas, and so their x axes, aligned.
Y_LABEL_EXTENT = 145

_MIN_PAD_DAYS = 7.0
_PAD_FRACTION = 0.03
_EMPTY_SPAN_DAYS = 365


def _ts(value) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else ts.normalize()


@dataclass(frozen=True)
class TimeAxis:
    """A resolved axis: the mode, the anchor (days mode) and the padded domain (x values)."""

    mode: str
    anchor_date: pd.Timestamp | None
    domain: tuple  # (low, high) as Timestamps (date mode) or floats (days mode)
    anchor_label: str = "drug start"
    compact: bool = False  # short axis title, for small multiples

    def compacted(self) -> TimeAxis:
        """The same axis with the short title (every layer of a view must use the same title)."""
        return replace(self, compact=True)

    @property
    def is_days(self) -> bool:
        return self.mode == "days"

    @property
    def type(self) -> str:
        return "quantitative" if self.is_days else "temporal"

    @property
    def title(self) -> str:
        if self.compact:
            return self.short_title
        if self.is_days:
            return f"Days since first start of {self.anchor_label} (day 0 = {self.anchor_date:%Y-%m-%d})"
        return "Date"

    def value(self, date) -> object:
        """The x value of one date (a Timestamp, or days since the anchor)."""
        ts = _ts(date)
        if ts is None:
            return None
        return (ts - self.anchor_date) / pd.Timedelta(days=1) if self.is_days else ts

    def convert(self, dates: pd.Series) -> pd.Series:
        """The x values of a column of dates (NaT -> NaT/NaN)."""
        dates = pd.to_datetime(dates)
        if self.is_days:
            return ((dates - self.anchor_date) / pd.Timedelta(days=1)).astype("float64")
        return dates

    def add_x(self, frame: pd.DataFrame, date_col: str, out: str = X) -> pd.DataFrame:
        """A copy of ``frame`` with column ``out`` = the x value of ``date_col``."""
        frame = frame.copy()
        frame[out] = self.convert(frame[date_col]) if len(frame) else pd.Series(dtype="float64")
        return frame

    def scale_domain(self) -> list:
        """The domain as Vega-Lite writes it: day numbers, or DateTime objects (year, month, date)."""
        low, high = self.domain
        if self.is_days:
            return [float(low), float(high)]
        return [{"year": d.year, "month": d.month, "date": d.day} for d in (low, high)]

    def scale(self) -> dict:
        return {"domain": self.scale_domain(), "nice": False}

    def axis(self, *, title: str | None = None, labels: bool = True) -> dict:
        spec = {"title": self.title if title is None else title, "labels": labels, "grid": True}
        if self.is_days:
            spec["format"] = "d"
        else:
            spec["labelExpr"] = (
                "timeFormat(datum.value, '%m') == '01' ? timeFormat(datum.value, '%b %Y')"
                " : timeFormat(datum.value, '%b')"
            )
        if not labels:
            spec["ticks"] = False
        return spec

    def x(self, field: str = X, *, title: str | None = None, labels: bool = True) -> dict:
        """The x encoding with the shared domain."""
        return {"field": field, "type": self.type, "scale": self.scale(),
                "axis": self.axis(title=title, labels=labels)}

    def x2(self, field: str = X2) -> dict:
        return {"field": field}

    @property
    def low(self):
        return self.domain[0]

    @property
    def high(self):
        return self.domain[1]

    @property
    def short_title(self) -> str:
        return f"Days since {self.anchor_label} start" if self.is_days else "Date"

    def date_bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The domain as calendar dates (in days mode, converted back through the anchor)."""
        if not self.is_days:
            return self.domain
        return tuple(self.anchor_date + pd.Timedelta(days=float(d)) for d in self.domain)

    def span_days(self) -> float:
        low, high = self.domain
        span = (high - low) / pd.Timedelta(days=1) if not self.is_days else high - low
        return max(float(span), 1.0)


def y_axis(title: str, *, title_near_px: int | None = None, **kwargs) -> dict:
    """A y axis taking exactly Y_LABEL_EXTENT pixels for its labels (see above).

    ``title_near_px`` puts the title that many pixels left of the axis line (for short numeric
    labels, where the reserved extent would leave the title far from its labels).
    """
    if title_near_px is not None:
        kwargs.update(titleX=-title_near_px, titleAlign="center", titleAngle=-90, titleBaseline="bottom")
    return {"title": title, "minExtent": Y_LABEL_EXTENT, "maxExtent": Y_LABEL_EXTENT,
            "labelLimit": Y_LABEL_EXTENT - 8, **kwargs}


def resolve_mode(axis: str, anchor_date) -> tuple[str, pd.Timestamp | None, str]:
    """The usable mode, the anchor, and a note when days were asked for without an anchor."""
    if axis not in AXIS_MODES:
        raise ValueError(f"axis must be one of {', '.join(AXIS_MODES)}; got {axis!r}")
    anchor = _ts(anchor_date)
    if axis == "days" and anchor is None:
        return "date", None, "The chosen drug was never started: showing calendar dates."
    return axis, anchor, ""


def first_start(medications: pd.DataFrame, drug: str) -> pd.Timestamp | None:
    """The first start date of ``drug`` in a MEDICATION_COLUMNS frame (None if never started)."""
    if medications is None or medications.empty:
        return None
    starts = medications.loc[medications["drug"] == drug, "start_date"].dropna()
    return None if starts.empty else pd.Timestamp(starts.min())


def collect_dates(*columns: Iterable) -> list[pd.Timestamp]:
    """All non-missing dates of the given columns/iterables."""
    out: list[pd.Timestamp] = []
    for column in columns:
        if column is None:
            continue
        for value in pd.Series(column, dtype="object").tolist():
            ts = _ts(value) if not (isinstance(value, str) and not value) else None
            if ts is not None:
                out.append(ts)
    return out


def patient_dates(
    *,
    assessments: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    medications: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    measurements: pd.DataFrame | None = None,
    today=None,
) -> list[pd.Timestamp]:
    """Every date a patient's panels will plot (ongoing medications run to ``today``)."""
    columns: list = []
    if assessments is not None and not assessments.empty:
        columns.append(assessments["visit_date"])
    if visits is not None and not visits.empty:
        columns.append(visits["visit_date"])
    if medications is not None and not medications.empty:
        columns.append(medications["start_date"])
        columns.append(medications["end_date"])
        if today is not None and medications["end_date"].isna().any():
            columns.append([today])
    if events is not None and not events.empty:
        columns.append(events["date"])
    if measurements is not None and not measurements.empty:
        columns.append(measurements["date"])
    return collect_dates(*columns)


def make_time_axis(
    dates: Iterable,
    *,
    axis: str = "date",
    anchor_date=None,
    today=None,
    x_domain: tuple | None = None,
    anchor_label: str = "drug start",
) -> tuple[TimeAxis, str]:
    """A TimeAxis whose domain covers ``dates`` (padded), or exactly ``x_domain`` when given.

    Returns the axis and a note ("" unless days were asked for without an anchor date).
    ``x_domain`` is in x units: Timestamps for dates, day numbers for days — as returned by
    :func:`patient_x_domain` — so that several builders share exactly one domain.
    """
    mode, anchor, note = resolve_mode(axis, anchor_date)
    if x_domain is not None and _domain_matches(x_domain, mode):
        low, high = x_domain
        domain = (float(low), float(high)) if mode == "days" else (_ts(low), _ts(high))
        return TimeAxis(mode, anchor, domain, anchor_label), note
    stamps = collect_dates(dates)
    if not stamps:
        end = _ts(today) or pd.Timestamp.today().normalize()
        stamps = [end - pd.Timedelta(days=_EMPTY_SPAN_DAYS), end]
        if anchor is not None:
            stamps.append(anchor)
    low, high = min(stamps), max(stamps)
    span = (high - low) / pd.Timedelta(days=1)
    pad = max(span * _PAD_FRACTION, _MIN_PAD_DAYS)
    if mode == "days":
        day = pd.Timedelta(days=1)
        domain = (float(round((low - anchor) / day - pad)), float(round((high - anchor) / day + pad)))
    else:
        delta = pd.Timedelta(days=round(pad))
        domain = (low - delta, high + delta)
    return TimeAxis(mode, anchor, domain, anchor_label), note


def _domain_matches(x_domain, mode: str) -> bool:
    low, _high = x_domain
    is_number = isinstance(low, numbers.Real) and not isinstance(low, (bool, pd.Timestamp))
    return is_number if mode == "days" else not is_number


def patient_x_domain(
    *,
    assessments: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    medications: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    measurements: pd.DataFrame | None = None,
    axis: str = "date",
    anchor_date=None,
    today=None,
) -> tuple:
    """The shared x domain of all of a patient's panels; pass it as ``x_domain=`` to each builder."""
    dates = patient_dates(
        assessments=assessments,
        visits=visits,
        medications=medications,
        events=events,
        measurements=measurements,
        today=today,
    )
    time_axis, _ = make_time_axis(dates, axis=axis, anchor_date=anchor_date, today=today)
    return time_axis.domain
