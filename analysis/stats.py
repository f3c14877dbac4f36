"""Numerical helpers without scipy: Student's t distribution and the rounding rule of the exports.

The t distribution function uses the regularised incomplete beta function evaluated by its continued
fraction (Lentz's method, as in Press et al., Numerical Recipes, 3rd ed., §6.4); the quantile inverts
it by bisection, which is slow only in relative terms (microseconds) and accurate to ~1e-12.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis._util import as_float_array


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom: 1 − ½·I_{df/(df+t²)}(df/2, ½) for t > 0."""
    if df <= 0:
        raise ValueError("df: must be positive")
    if t == 0:
        return 0.5
    tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=1024)
def student_t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom (t_{0.975, 9} = 2.262...).

    Raises ValueError when p is not strictly between 0 and 1 or df is not positive.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p: must lie strictly between 0 and 1")
    if df <= 0:
        raise ValueError("df: must be positive")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    lo, hi = 0.0, 2.0
    while student_t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if student_t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


class Description(NamedTuple):
    """n, mean, sample SD (n − 1), median and the confidence interval of the mean of some values."""

    n: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float


def confidence_half_width(sd, n, level: float = 0.95):
    """Half the width of the confidence interval of a mean: t_{(1+level)/2, n−1} · SD / √n (Student's t).

    `sd` and `n` are scalars or arrays of the same shape; NaN where n < 2. Returns a float or an array.
    """
    sd_arr, n_arr = np.asarray(sd, dtype="float64"), np.asarray(n, dtype="float64")
    sd_arr, n_arr = np.broadcast_arrays(sd_arr, n_arr)
    t = np.array([student_t_quantile((1.0 + level) / 2.0, k - 1) if k >= 2 else math.nan
                  for k in n_arr.ravel()], dtype="float64").reshape(n_arr.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t * sd_arr / np.sqrt(n_arr)
    return float(half) if half.ndim == 0 else half


def describe(values, level: float = 0.95) -> Description:
    """n, mean, sample SD, median and `level` confidence interval of the mean of `values`.

    Missing values are dropped. mean and median are NaN when n = 0; SD and the interval when n < 2.
    The one place where the windows, the cohort table and the site changes get these figures.
    """
    x = as_float_array(values)
    x = x[~np.isnan(x)]
    n = len(x)
    mean = float(np.mean(x)) if n else math.nan
    sd = float(np.std(x, ddof=1)) if n >= 2 else math.nan
    median = float(np.median(x)) if n else math.nan
    half = confidence_half_width(sd, n, level) if n >= 2 else math.nan
    return Description(n, mean, sd, median, mean - half, mean + half)


def mean_confidence_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Two-sided confidence interval of the mean: mean ± t_{(1+level)/2, n−1} · SD / √n (sample SD).

    Missing values are dropped; (NaN, NaN) when fewer than two values remain.
    """
    description = describe(values, level)
    return (description.ci_low, description.ci_high)


def round_half_away(values, decimals: int):
    """Round to `decimals` places, halves away from zero (2.345 → 2.35, −2.345 → −2.35).

    This is "half up" for positive numbers and mirrors it for negatives, as a spreadsheet's ROUND
    does. A value whose binary form falls a hair short of a half (2.675 is stored as 2.67499…) still
    rounds up, as its decimal writing says it should: a relative tolerance of 1e-9 is applied.
    Accepts a scalar (returns a float, NaN for missing) or a Series/array (returns float64 of the
    same shape, a Series keeping its index and name).
    """
    scale = 10.0 ** decimals
    if isinstance(values, pd.Series):
        arr = as_float_array(values)
        return pd.Series(_round_array(arr, scale), index=values.index, name=values.name)
    if np.ndim(values) == 0:
        if values is None or values is pd.NA:
            return math.nan
        return float(_round_array(np.array([float(values)]), scale)[0])
    return _round_array(as_float_array(values), scale)


def _round_array(arr: np.ndarray, scale: float) -> np.ndarray:
    scaled = np.abs(arr) * scale
    rounded = np.floor(scaled + 0.5 + 1e-9 * np.maximum(1.0, scaled))
    result = np.sign(arr) * rounded / scale
    return result + 0.0  # turns -0.0 into 0.0
