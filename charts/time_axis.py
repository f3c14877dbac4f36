"""The one time axis shared by every panel of a patient's chart: its window, its mode and its labels.

Modes: ``"date"`` — calendar dates (Vega-Lite temporal field); ``"days"`` — days since the first start of a
chosen drug (``anchor_date``), negative before it.

Window (:func:`chart_window`): by default from shortly before the first visit to shortly after the last
visit, measure, treatment change or event (``"visits"``); the whole recorded history (``"history"``); or
the default start to today (``"today"``). What falls outside is returned, for the page to list.

Labels (:data:`DATE_LEVELS`, :func:`day_levels`): the tick spacing is the finest level whose labels fit the
plot width with room to spare (month, 2, 3, 6 months; 1, 2, 5, 10, 20 years), decided from the width the
chart is drawn at — in the browser by a Vega expression on the plot's ``width`` signal, in images and the
PDF from the fixed width — by the same table (:func:`choose_level` is that rule in Python). Month labels
carry the year on a second line at every January and at the first tick, so years are always on the axis;
year levels label every tick with its year. Every panel sharing the axis uses the same rules.

Every builder adds the column ``x`` to its frames with :meth:`TimeAxis.add_x` and encodes it with
:meth:`TimeAxis.x`, which carries the explicit shared ``scale.domain``: panels built and drawn separately
(one below the other in Streamlit) line up, as long as they reserve the same room for their y labels
(:func:`y_axis`) and draw nothing right of the plot.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pandas as pd

from charts import vl

AXIS_MODES = ("date", "days")
WINDOWS = ("visits", "history", "today")  # default window, whole history, to today
X = "x"  # the column every builder plots on the horizontal axis
X2 = "x2"  # the end of an interval (medication periods, heat-map cells)

# Every patient panel reserves the same room for its y-axis labels, so that panels stacked one below the
# other have their plot areas, and so their x axes, aligned.
Y_LABEL_EXTENT = 132

MIN_PAD_DAYS = 14.0  # "shortly before / after": 3 % of the span, at least two weeks
PAD_FRACTION = 0.03
MIN_SPAN_DAYS = 62  # a window always holds a month start, so the axis always shows a year
EMPTY_SPAN_DAYS = 365
DAYS_PER_MONTH = 365.25 / 12
CHAR_PX = 6.6  # the widest digit or letter of an 11 px label, on average
LABEL_GAP_PX = 10  # at least this much between two neighbouring labels


@dataclass(frozen=True)
class TickLevel:
    """One spacing of the ticks: ``interval`` × ``step`` (dates) or ``step`` days (days mode)."""

    interval: str  # "month", "year" or "day"
    step: int
    label_chars: int  # the widest label's first line, in characters

    @property
    def days(self) -> float:
        if self.interval == "month":
            return self.step * DAYS_PER_MONTH
        if self.interval == "year":
            return self.step * 365.25
        return float(self.step)

    @property
    def need_px(self) -> float:
        """The room one label needs: its width and the gap to the next."""
        return self.label_chars * CHAR_PX + LABEL_GAP_PX


DATE_LEVELS: tuple[TickLevel, ...] = (
    *(TickLevel("month", step, 3) for step in (1, 2, 3, 6)),
    *(TickLevel("year", step, 4) for step in (1, 2, 5, 10, 20, 50)),
)


def day_levels(low: float, high: float) -> tuple[TickLevel, ...]:
    """Days-mode levels for a domain: weeks to decades, labels as wide as its longest day number."""
    chars = max(len(f"{math.floor(low):d}"), len(f"{math.ceil(high):d}"), 2)
    steps = (7, 14, 30, 60, 90, 180, 365, 730, 1826, 3652, 7305)
    return tuple(TickLevel("day", step, chars if step < 365 else 4) for step in steps)


def choose_level(levels: Iterable[TickLevel], span_days: float, width_px: float) -> TickLevel:
    """The finest level whose labels fit: ``width × level days / span ≥ need``; else the coarsest."""
    levels = tuple(levels)
    for level in levels:
        if width_px * level.days / max(span_days, 1.0) >= level.need_px:
            return level
    return levels[-1]


def _level_expression(levels: tuple[TickLevel, ...], span_days: float, width: int | None, pick) -> str:
    """A Vega expression giving ``pick(level)`` for the level :func:`choose_level` would choose."""
    px = vl.px_width(width)
    expression = pick(levels[-1])
    for level in reversed(levels[:-1]):
        ratio = level.days / max(span_days, 1.0)
        expression = f"({px} * {ratio:.8g} >= {level.need_px:.4g} ? {pick(level)} : {expression})"
    return expression


def _ts(value) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else ts.normalize()


@dataclass(frozen=True)
class TimeAxis:
    """A resolved axis: the mode, the anchor (days mode), the domain (x values) and the plot width the labels
    are laid out for (None: the width the chart is drawn at)."""

    mode: str
    anchor_date: pd.Timestamp | None
    domain: tuple  # (low, high) as Timestamps (date mode) or floats (days mode)
    anchor_label: str = ""  # the anchor drug, for the title
    width: int | None = None

    def sized(self, width: int | None) -> TimeAxis:
        return replace(self, width=width)

    @property
    def is_days(self) -> bool:
        return self.mode == "days"

    @property
    def type(self) -> str:
        return "quantitative" if self.is_days else "temporal"

    @property
    def title(self) -> str | None:
        """Days mode: what day 0 is. Date mode: none — the labels are dates, with their years."""
        if not self.is_days:
            return None
        drug = f"{self.anchor_label} " if self.anchor_label else "drug "
        return f"Days since the first {drug}start ({self.anchor_date:%Y-%m-%d} = day 0)"

    @property
    def short_title(self) -> str | None:
        return f"Days since {self.anchor_label or 'drug'} start" if self.is_days else None

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

    def fraction(self, value) -> float:
        """Where an x value lies on the axis, 0 at the left end, 1 at the right."""
        low, high = self.domain
        if self.is_days:
            return (float(value) - low) / max(high - low, 1e-9)
        return ((pd.Timestamp(value) - low) / pd.Timedelta(days=1)) / self.span_days()

    def scale_domain(self) -> list:
        """The domain as Vega-Lite writes it: day numbers, or DateTime objects (year, month, date)."""
        low, high = self.domain
        if self.is_days:
            return [float(low), float(high)]
        return [{"year": d.year, "month": d.month, "date": d.day} for d in (low, high)]

    def scale(self) -> dict:
        return {"domain": self.scale_domain(), "nice": False}

    def levels(self) -> tuple[TickLevel, ...]:
        return day_levels(*self.domain) if self.is_days else DATE_LEVELS

    def level_for(self, width_px: float) -> TickLevel:
        """The tick level the axis uses at a plot width of ``width_px`` (what the expressions choose)."""
        return choose_level(self.levels(), self.span_days(), width_px)

    def axis(self, *, title: str | None | bool = True, labels: bool = True) -> dict:
        """The x axis: ticks, grid and labels by the level rules. ``title=True``: the axis's own title."""
        levels = self.levels()
        span = self.span_days()
        # Labels centred on their ticks, also at the ends (where they may stand half out of the plot: every
        # panel sharing the axis has the same ones, so their plots stay aligned), never thinned by Vega: the
        # level already leaves room between them, and thinning would drop the years.
        spec: dict = {"title": self.title if title is True else (title or None), "grid": True, "labels": labels,
                      "labelOverlap": False, "labelFlush": False, "labelLineHeight": 13, "labelPadding": 3}
        if self.is_days:
            low, high = self.domain
            step = _level_expression(levels, span, self.width, lambda level: f"{level.step}")
            spec["values"] = {"expr": f"sequence(ceil({low:g} / {step}) * {step}, {high:g} + 0.5, {step})"}
            years = _level_expression(levels, span, self.width, lambda level: "true" if level.step >= 365 else "false")
            spec["labelExpr"] = (f"{years} ? (datum.value == 0 ? '0' : format(datum.value / 365.25, '.0f') + ' y')"
                                 " : format(datum.value, 'd')")
        else:
            spec["tickCount"] = {"expr": _level_expression(
                levels, span, self.width, lambda level: f"{{interval: '{level.interval}', step: {level.step}}}")}
            years = _level_expression(levels, span, self.width, lambda level: "true" if level.interval == "year"
                                      else "false")
            spec["labelExpr"] = (
                f"{years} ? timeFormat(datum.value, '%Y') : "
                "(month(datum.value) == 0 || datum.index == 0 ? "
                "[timeFormat(datum.value, '%b'), timeFormat(datum.value, '%Y')] : timeFormat(datum.value, '%b'))"
            )
        if not labels:
            spec["ticks"] = False
        return spec

    def x(self, field: str = X, *, title: str | None | bool = True, labels: bool = True) -> dict:
        """The x encoding with the shared domain and the axis rules."""
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

    def date_bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The domain as calendar dates (in days mode, converted back through the anchor)."""
        if not self.is_days:
            return self.domain
        return tuple(self.anchor_date + pd.Timedelta(days=float(d)) for d in self.domain)

    def span_days(self) -> float:
        low, high = self.domain
        span = (high - low) / pd.Timedelta(days=1) if not self.is_days else high - low
        return max(float(span), 1.0)


def y_axis(title: str | None, *, near_px: int | None = None, **kwargs) -> dict:
    """A y axis taking exactly Y_LABEL_EXTENT pixels for its labels and title (see above): the title at the
    left edge of that room, or ``near_px`` left of the axis (for short numeric labels)."""
    spec = {"title": title, "minExtent": Y_LABEL_EXTENT, "maxExtent": Y_LABEL_EXTENT,
            "labelLimit": Y_LABEL_EXTENT - 22, **kwargs}
    if title:
        spec.update(titleX=-(near_px or Y_LABEL_EXTENT - 2), titleAlign="center", titleAngle=-90,
                    titleBaseline="top", titleAnchor="middle")
    return spec


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


def _column(frame: pd.DataFrame | None, name: str) -> list:
    return [] if frame is None or frame.empty or name not in frame else list(frame[name])


@dataclass(frozen=True)
class ChartWindow:
    """The dates a chart shows (``low``, ``high``) and the events left outside them."""

    low: pd.Timestamp
    high: pd.Timestamp
    before: pd.DataFrame  # events before the window (EVENT_COLUMNS)
    after: pd.DataFrame  # events after it (only "to today" can leave none)

    @property
    def span_days(self) -> float:
        return (self.high - self.low) / pd.Timedelta(days=1)


def _padded(low: pd.Timestamp, high: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    span = (high - low) / pd.Timedelta(days=1)
    pad = max(span * PAD_FRACTION, MIN_PAD_DAYS)
    low, high = low - pd.Timedelta(days=round(pad)), high + pd.Timedelta(days=round(pad))
    short = MIN_SPAN_DAYS - (high - low) / pd.Timedelta(days=1)
    if short > 0:
        low -= pd.Timedelta(days=math.ceil(short / 2))
        high += pd.Timedelta(days=math.ceil(short / 2))
    return low, high


def chart_window(
    *,
    visits: pd.DataFrame | None = None,
    medications: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    measurements: pd.DataFrame | None = None,
    window: str = "visits",
    today=None,
) -> ChartWindow:
    """The dates the patient's panels show (see the module doc), padded by 3 % (at least two weeks).

    ``"visits"``: from the first visit (or measure) to the last visit, measure, treatment start or end, or
    event — events before the first visit are left out (``before``); ``"history"``: every recorded date;
    ``"today"``: as ``"visits"``, to today. Without visits or measures, the treatments and events set it;
    with nothing at all, the year up to today.
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}; got {window!r}")
    today = _ts(today) or pd.Timestamp.today().normalize()
    care = collect_dates(_column(visits, "visit_date"), _column(measurements, "date"))
    treatments = collect_dates(_column(medications, "start_date"), _column(medications, "end_date"))
    event_dates = collect_dates(_column(events, "date"))
    everything = care + treatments + event_dates
    if not everything:
        low, high = today - pd.Timedelta(days=EMPTY_SPAN_DAYS), today
    elif window == "history" or not care:
        low, high = min(everything), max(everything)
    else:
        low, high = min(care), max(everything)
    if window == "today":
        high = max(high, today)
    low, high = _padded(low, high)
    frame = events if events is not None else pd.DataFrame(columns=["date"])
    dated = frame[frame["date"].notna()] if len(frame) else frame
    before = dated[dated["date"] < low] if len(dated) else dated
    after = dated[dated["date"] > high] if len(dated) else dated
    return ChartWindow(low, high, before, after)


def make_time_axis(
    window: ChartWindow | tuple,
    *,
    axis: str = "date",
    anchor_date=None,
    anchor_label: str = "",
    width: int | None = None,
) -> tuple[TimeAxis, str]:
    """The TimeAxis over a window (:func:`chart_window`, or a (low, high) pair of dates), in the chosen mode.

    Returns the axis and a note ("" unless days were asked for without an anchor date).
    """
    mode, anchor, note = resolve_mode(axis, anchor_date)
    low, high = (window.low, window.high) if isinstance(window, ChartWindow) else window
    if isinstance(low, numbers.Real) and not isinstance(low, bool):
        raise TypeError("a window is a pair of dates; days are computed from the anchor")
    low, high = _ts(low), _ts(high)
    if mode == "days":
        day = pd.Timedelta(days=1)
        domain = (float((low - anchor) / day), float((high - anchor) / day))
    else:
        domain = (low, high)
    return TimeAxis(mode, anchor, domain, anchor_label, width), note
