"""Turning query results into the DataFrames of analysis/frames.py (types normalised once, here)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

TEXT = "text"
DATE = "date"
FLOAT = "float"
INT = "Int64"
BOOL = "bool"
NULLABLE_BOOL = "boolean"
TIMESTAMP = "timestamp"  # a moment (tz-aware in the database) shown as naive UTC, e.g. deleted_at


def read_frame(engine: Engine, statement, types: dict[str, str]) -> pd.DataFrame:
    """Run `statement` and return its rows with columns typed by `types` (in that order)."""
    with engine.connect() as connection:
        result = connection.execute(statement)
        rows = result.fetchall()
    return typed_frame(rows, types)


def typed_frame(rows, types: dict[str, str]) -> pd.DataFrame:
    columns = list(types)
    # Plain tuples: given SQLAlchemy Row objects, pandas probes each one for attributes (slow at registry scale).
    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns) if rows else pd.DataFrame(
        {c: pd.Series([], dtype=object) for c in columns})
    for column, kind in types.items():
        frame[column] = convert(frame[column], kind)
    return frame


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
