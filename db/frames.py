"""Turning query results into the DataFrames of analysis/frames.py (types normalised once, here)."""

from __future__ import annotations

import gc
import io
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

TEXT = "text"
DATE = "date"
FLOAT = "float"
INT = "Int64"
BOOL = "bool"
NULLABLE_BOOL = "boolean"
TIMESTAMP = "timestamp"  # a moment (tz-aware in the database) shown as naive UTC, e.g. deleted_at
DAY_NUMBER = "day_number"  # a date read as whole days since 1970-01-01 (SQL computes it): no parsing


def read_frame(engine: Engine, statement, types: dict[str, str]) -> pd.DataFrame:
    """Run `statement` and return its rows with columns typed by `types` (in that order).

    The driver's plain tuples are read (no SQLAlchemy Row per row, no per-value result processors) and
    transposed into columns, which `convert` types: it parses what either driver gives (ISO text or date
    objects for dates, 0/1 or booleans for flags). At registry scale (an export reads millions of values)
    SQLAlchemy's row objects cost as much as the driver's fetch. The cyclic garbage collector is paused
    meanwhile: the rows are plain tuples, and its passes over them would double the time.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with engine.connect() as connection:
            result = connection.execute(statement)
            rows = result.cursor.fetchall() if result.cursor is not None else []
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(types)
        del rows
    finally:
        if collecting:  # as it was: a caller that turned collection off keeps it off
            gc.enable()
    data = {}
    for (name, kind), values in zip(types.items(), columns, strict=True):
        if kind == DAY_NUMBER:
            days = np.array(values, dtype="int64") if values else np.array([], dtype="int64")
            data[name] = pd.Series(days.astype("datetime64[D]").astype("datetime64[us]"))
        elif kind == FLOAT and all(v.__class__ in _REAL or v is None for v in values[:1000]):
            data[name] = pd.Series(_floats(values), dtype="float64")  # NULL -> NaN, as convert() gives
        elif len(values) <= SMALL and kind in (TEXT, DATE) and (quick := _small_column(values, kind)) is not None:
            data[name] = quick
        elif kind in _REPEATING and len(values) > SMALL and (distinct := _by_distinct(values, kind)) is not None:
            data[name] = distinct
        else:
            data[name] = convert(pd.Series(values, dtype=object), kind)
    return pd.DataFrame(data, columns=list(types))


def read_bulk(engine: Engine, statement, types: dict[str, str]) -> pd.DataFrame:
    """`read_frame` for the largest reads (an export's or the cohort's hundreds of thousands of rows): on PostgreSQL
    the rows travel as one COPY … TO STDOUT in CSV, parsed by pandas' C reader instead of one Python object per
    value, then typed as `convert` types them (tests/db/test_read_bulk.py holds the two equal); elsewhere (SQLite,
    or a statement that cannot be rendered with literal values) `read_frame`.

    Text reads as `convert` gives it, NULL and '' alike as ''; dates are written by the server in ISO (DateStyle
    set for the transaction); numbers are parsed to the nearest double (round_trip), as the driver gives them."""
    if engine.dialect.name != "postgresql" or any(kind not in _COPIED for kind in types.values()):
        return read_frame(engine, statement, types)
    try:
        sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # noqa: BLE001 - a parameter without a literal form: the ordinary path
        return read_frame(engine, statement, types)
    if engine.dialect.paramstyle in ("format", "pyformat"):
        # For a driver whose placeholders start with %, SQLAlchemy writes every % of the SQL as %% (literals, the
        # modulo operator), which the driver turns back only when it is given parameters; COPY is sent as it is.
        # Undone here, or a patient_id holding a % ('A%1') read as 'A%%1': that patient's records silently missing.
        sql = sql.replace("%%", "%")
    buffer = io.BytesIO()
    with engine.connect() as connection, connection.begin():  # BEGIN sets the scope for the row-level security
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        # JIT compilation is chosen by cost, and the row-level security policies make these reads look costly: it
        # took 0.3 s of a 0.6 s read of 10,000 patients' assessments, and saves nothing on an index-driven read
        cursor.execute("SET LOCAL jit = off")
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
        cursor.close()
    names = list(types)
    if not buffer.getbuffer().nbytes:  # no row: read_frame's empty frame, exactly
        return read_frame(engine, statement, types)
    buffer.seek(0)
    raw = pd.read_csv(buffer, header=None, names=names, encoding="utf-8", keep_default_na=False, na_values=[""],
                      float_precision="round_trip",
                      dtype={name: "float64" if _COPIED[kind] == "number" else object for name, kind in types.items()})
    data = {}
    for name, kind in types.items():
        values = raw[name]
        if kind == DAY_NUMBER:
            data[name] = pd.Series(values.to_numpy(dtype="int64").astype("datetime64[D]").astype("datetime64[us]"))
        elif kind in (BOOL, NULLABLE_BOOL):  # the server writes t / f
            data[name] = convert(values.map({"t": True, "f": False}).astype(object), kind)
        elif kind in (TEXT, DATE) and (distinct := _by_distinct(values.to_numpy(), kind)) is not None:
            data[name] = distinct
        else:
            data[name] = convert(values, kind)
    return pd.DataFrame(data, columns=names)


BULK = 200  # patients from which a read of their records goes through read_bulk


def read_many(engine: Engine, statement, types: dict[str, str], identifiers) -> pd.DataFrame:
    """The records of many patients (`identifiers` None: every patient) through `read_bulk`; of a few (a chart, a
    form), through `read_frame`, which costs less for a few rows."""
    if identifiers is None or len(identifiers) >= BULK:
        return read_bulk(engine, statement, types)
    return read_frame(engine, statement, types)


_COPIED = {INT: "number", FLOAT: "number", DAY_NUMBER: "number", TEXT: "text", DATE: "text", BOOL: "text",
           NULLABLE_BOOL: "text"}
_REAL = (float, int)  # not bool: a flag is no measurement
# A read of one patient (the chart, a form) makes dozens of short columns, where pandas' per-call cost of
# to_datetime/fillna/astype is most of the read's time: up to this many rows, text and plain dates are built
# directly (the same values and dtypes as `convert`, held so by tests/db/test_frames.py).
SMALL = 5000


def _small_column(values, kind: str) -> pd.Series | None:
    """A short TEXT or DATE column built without `convert`'s passes; None when a value is not one the quick way
    reads exactly as `convert` would (then `convert` does it)."""
    if kind == TEXT:
        return pd.Series(["" if v is None or v != v else str(v) for v in values], dtype=str)
    if all(v is None or v.__class__ is date or _iso_shaped(v) for v in values):
        try:
            days = np.array(values, dtype="datetime64[D]") if values else np.array([], dtype="datetime64[D]")
        except ValueError:
            return None  # not an ISO date: convert() makes it NaT
        return pd.Series(days.astype("datetime64[us]"))
    return None


# Columns of a large read repeat (a chunk's few hundred visit dates, a handful of raters and measures): `convert`
# parses each distinct value once and the column is built by indexing. Only when every distinct value is of the
# plain classes the drivers give, where equal values convert alike (a 1 and a 1.0 hash alike but are different
# text; no value of another class equals a str, a date or a datetime, so checking the distinct ones suffices).
_REPEATING = {TEXT: (str,), DATE: (str, date), TIMESTAMP: (str, datetime)}


def _by_distinct(values, kind: str) -> pd.Series | None:
    """`convert(values, kind)`, converting each distinct value once (missing values: `convert`'s missing value);
    None when a distinct value is not of the kind's plain classes (then `convert` reads the column)."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    if not {u.__class__ for u in uniques} <= set(_REPEATING[kind]):
        return None
    converted = convert(pd.Series([*uniques, None], dtype=object), kind)  # code -1 (missing) takes the last
    return converted.take(codes).reset_index(drop=True)


def _iso_shaped(value) -> bool:
    """YYYY-MM-DD in ASCII digits: the only texts the quick way reads (numpy reads other 10-character texts,
    "0000000000" or "+020-01-01", as dates where convert() makes NaT)."""
    return (value.__class__ is str and len(value) == 10 and value[4] == "-" == value[7] and value.isascii()
            and value[:4].isdigit() and value[5:7].isdigit() and value[8:].isdigit())


def _floats(values) -> np.ndarray:
    """REAL values as float64 (None -> NaN) without pd.to_numeric's pass over Python objects;
    anything numpy cannot take (a stray text value) goes through `convert`, which makes it NaN."""
    try:
        return np.array(values, dtype="float64")
    except (TypeError, ValueError):
        return convert(pd.Series(values, dtype=object), FLOAT).to_numpy()


def convert(series: pd.Series, kind: str) -> pd.Series:
    if kind == TEXT:
        return series.fillna("").astype(str)
    if kind == DATE:
        return pd.to_datetime(series, errors="coerce").astype("datetime64[us]")
    if kind == TIMESTAMP:
        return pd.to_datetime(series, errors="coerce", utc=True).dt.tz_convert(None).astype("datetime64[us]")
    if kind == FLOAT:
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == INT:
        return pd.to_numeric(series, errors="coerce").astype("Int64")
    if kind == BOOL:
        return series.fillna(False).astype(bool)
    if kind == NULLABLE_BOOL:
        return series.astype("boolean")
    raise ValueError(f"unknown column kind {kind!r}")


class code_point_order(FunctionElement):  # noqa: N801 - used like a SQL function: order_by(code_point_order(c))
    """A text column to ORDER BY in code-point order, Python's, on every database: SQLite compares text as
    bytes (BINARY) already; PostgreSQL sorts by the database's collation (en_US puts `dr a` before `Dr B`)
    unless told `COLLATE "C"`. Reads whose order is written out (the export's files) use it, so a bundle
    exported from either database, whatever its locale, is the same file."""

    inherit_cache = True


@compiles(code_point_order)
def _column_as_is(element, compiler, **kw):
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(code_point_order, "postgresql")
def _column_collate_c(element, compiler, **kw):
    (column,) = element.clauses
    return f'{compiler.process(column, **kw)} COLLATE "C"'


def matchable(texts) -> list[str]:
    """The texts a stored value can equal: a NUL or a lone surrogate can never be stored (PostgreSQL refuses them,
    the text rule keeps them out), so a filter holding one matches nothing; dropped here, it never reaches the
    driver, which would raise on it (a patient link ?patient=%00, a hostile audit filter)."""
    out = []
    for text in texts:
        text = str(text)
        if "\x00" in text:
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            continue
        out.append(text)
    return out
