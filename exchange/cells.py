"""How an export writes one cell: formula protection of text (every format) and the CSV text of every kind.

A column is formatted through its distinct values: a registry's columns repeat (a few hundred dates, scores
0-3, a patient's identifier on each of their rows), so each distinct value is formatted once in Python and
the column is built by indexing (pandas.factorize), not cell by cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.formatting import format_number
from exchange.reader import FORMULA_START
from exchange.spec import DATE, INT, NUMBER, TEXT, YESNO

_RISKY = frozenset(FORMULA_START)
_NEEDS_QUOTES = frozenset(',"\r\n')


def protect_cell(text: str) -> str:
    """Formula-injection protection of one text cell: a `'` before text starting with = + - @ tab CR, or
    with `'` followed by one of them — or by more quotes and then one of them, so that every text keeps
    its own escaped form and the importer's `reader.unescape` gives each back exactly."""
    if text and (text[0] in _RISKY or (text[0] == "'" and text.lstrip("'")[:1] in _RISKY)):
        return "'" + text
    return text


def csv_field(text: str) -> str:
    """One field as the csv module writes it (QUOTE_MINIMAL, doubled quotes)."""
    if _NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _by_distinct(values, label) -> list[str]:
    """`label(v)` for every value, blank for a missing one, computed once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = np.array([label(u) for u in uniques] + [""], dtype=object)  # code -1 (missing) -> the last, ""
    return labels[codes].tolist()


def _int(value) -> str:
    return str(int(np.trunc(float(value))))


SMALL_RANGE = 4096  # whole numbers spanning at most this many values are labelled by offset, not by hashing


def _whole_numbers(numbers: np.ndarray) -> list[str]:
    """Whole-number cells (truncated toward zero; blank where missing). Site scores, days, counts and years span
    a small range: each cell's label is then found by its offset from the smallest value."""
    finite = np.isfinite(numbers)
    whole = np.trunc(numbers[finite])
    if not len(whole) or whole.max() - whole.min() >= SMALL_RANGE:
        return _by_distinct(pd.Series(numbers), _int)
    low = int(whole.min())
    codes = np.full(len(numbers), -1, dtype="int64")
    codes[finite] = whole.astype("int64") - low
    labels = np.array([str(low + i) for i in range(int(whole.max()) - low + 1)] + [""], dtype=object)
    return labels[codes].tolist()


def _yes_no(value) -> str:
    return "yes" if value else "no"


def format_cells(values: pd.Series, kind: str, *, quote: bool = False) -> list[str]:
    """The cells of one column as text: text protected, numbers without a trailing .0 (and without an
    exponent), whole numbers, ISO dates, yes/no; blank where the value is missing. With `quote`, text cells
    are also quoted as a CSV field where they need it (numbers, dates and yes/no never do)."""
    if kind == TEXT:
        label = (lambda v: csv_field(protect_cell(str(v)))) if quote else (lambda v: protect_cell(str(v)))
        if not isinstance(values.dtype, pd.StringDtype):  # mixed objects: None and NaN alike are missing
            values = values.astype(object).where(values.notna(), None)
        return _by_distinct(values, label)
    if kind == NUMBER:
        return _by_distinct(pd.to_numeric(values, errors="coerce").astype("float64"), format_number)
    if kind == INT:
        return _whole_numbers(pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan))
    if kind == DATE:
        codes, uniques = pd.factorize(pd.to_datetime(values, errors="coerce"), use_na_sentinel=True)
        days = np.asarray(uniques).astype("datetime64[D]")
        labels = np.array([*np.datetime_as_string(days, unit="D").tolist(), ""], dtype=object)
        return labels[codes].tolist()
    if kind == YESNO:
        return _by_distinct(values.astype("boolean"), _yes_no)
    raise ValueError(f"unknown column kind {kind!r}")


def protect(values: pd.Series) -> pd.Series:
    """Formula-injection protection of a column of text (missing -> blank)."""
    return pd.Series(format_cells(values, TEXT), index=values.index, dtype=object)


def csv_header(columns) -> str:
    return ",".join(csv_field(c) for c in columns) + "\r\n"


def csv_rows(frame: pd.DataFrame, kinds: dict[str, str]) -> str:
    """The rows of `frame` as CSV text (no header), each line ended by CRLF, exactly as the csv module's
    default dialect writes them; joined in C (str.join) rather than through csv.writer, which is twice as
    slow at registry scale, because each distinct text is quoted once beforehand."""
    if not len(frame):
        return ""
    columns = [format_cells(frame[c], kinds[c], quote=True) for c in frame.columns]
    return "\r\n".join(map(",".join, zip(*columns, strict=True))) + "\r\n"
