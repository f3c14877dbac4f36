"""Small vectorised helpers shared by the analysis modules (private)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_float_array(values) -> np.ndarray:
    """`values` (Series, array or list; nullable dtypes allowed) as a float64 array with NaN for missing."""
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.array(values, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)


def join_in_groups(positions: np.ndarray, labels: np.ndarray, size: int, sep: str = "; ") -> np.ndarray:
    """Join `labels` that share a target position into one string per position.

    `positions[i]` is the output row of `labels[i]`; labels keep their given order within a position
    (the caller sorts them). Returns an object array of length `size`, "" where no label falls.
    Vectorised over the rank within a position, so the cost is one pass per simultaneous label.
    """
    out = np.full(size, "", dtype=object)
    if len(positions) == 0:
        return out
    order = np.argsort(positions, kind="stable")
    pos = np.asarray(positions)[order]
    lab = np.asarray(labels, dtype=object)[order]
    idx = np.arange(len(pos))
    starts = np.r_[True, pos[1:] != pos[:-1]]
    rank = idx - np.maximum.accumulate(np.where(starts, idx, 0))
    for k in range(int(rank.max()) + 1):
        sel = rank == k
        if k == 0:
            out[pos[sel]] = lab[sel]
        else:
            out[pos[sel]] = out[pos[sel]] + sep + lab[sel]
    return out


def datetime_dtype(series: pd.Series):
    """The datetime dtype of `series` when it has one, else pandas' default datetime64[us]."""
    return series.dtype if pd.api.types.is_datetime64_dtype(series.dtype) else np.dtype("datetime64[us]")


def join_flagged(flags, names, sep: str = ";") -> np.ndarray:
    """Per row, the `names` whose flag is set, joined by `sep` in the order given ("" when none).

    `flags` is a sequence of bool arrays of one length, aligned to `names`. Each distinct combination is
    joined once, so the cost does not grow with the text (e.g. the `missing` column of the exports).
    """
    names = list(names)
    if not names:
        return np.array([], dtype=object)
    codes = np.zeros(len(flags[0]), dtype="int64")
    for bit, flag in enumerate(flags):
        codes |= np.asarray(flag, dtype=bool).astype("int64") << bit
    uniques, inverse = np.unique(codes, return_inverse=True)
    labels = np.array([sep.join(n for bit, n in enumerate(names) if code >> bit & 1) for code in uniques.tolist()],
                      dtype=object)
    return labels[inverse.reshape(-1)] if len(codes) else np.array([], dtype=object)
