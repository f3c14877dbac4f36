"""Vega-Lite specs as plain dicts: the one chart API of charts/.

Every builder in charts/ returns a Vega-Lite spec as a dict, written with the helpers below (no Altair at run
time: composing Altair objects deep-copies and validates every sub-chart, which was most of a screen run).
:func:`toplevel` finishes a builder's spec for drawing; the tests validate every builder's finished spec
against the Vega-Lite JSON schema that Altair ships (tests/unit/chart_spec_cases.py).

Data: a view carries its rows inline (``{"values": rows}``, rows from :func:`records`); :func:`toplevel`
moves them to ``datasets`` under content-hash names, so views with equal rows share one dataset. A
composition whose parts all carry the *same* data object (one :func:`inline` of one frame) carries it itself:
build the ``data`` once per frame and pass that object to every view drawn from the frame.

Width: a builder given ``width=None`` leaves the width to its container (Streamlit sets it to the column's
width and fits the chart in it); :func:`px_width` is the expression that reads the drawn plot width, so that
label density follows the space there is — or the number itself when the width is fixed (images, the PDF).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
import pandas as pd

SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.4.1.json"
VEGA_LITE_VERSION = "6.4"  # the version of SCHEMA_URL, as vl-convert names it
TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}
_CHILD_KEYS = ("layer", "vconcat", "hconcat", "concat")
FONT_PX = 11  # every text of every chart: axis and legend labels, marks; ≥ 8 pt in the printed report
CONFIG: dict[str, Any] = {
    "view": {"continuousWidth": 300, "continuousHeight": 300},
    "axis": {"labelFontSize": FONT_PX, "titleFontSize": FONT_PX + 1},
    "legend": {"labelFontSize": FONT_PX, "titleFontSize": FONT_PX, "labelLimit": 0},
    "title": {"fontSize": FONT_PX + 3, "subtitleFontSize": FONT_PX},
    "text": {"fontSize": FONT_PX},
}


# --- data ------------------------------------------------------------------------------------------


def _is_null(value) -> bool:
    """pandas' notnull() negated, for one object value (None, NaN, NaT, pd.NA); a list is never null."""
    return not isinstance(value, (list, dict, np.ndarray)) and bool(pd.isna(value))


def _column_values(column: pd.Series) -> list:
    """One column as JSON-ready Python values, converted as Altair's sanitize_pandas_dataframe followed by
    ``to_dict(orient="records")`` converts it."""
    dtype = column.dtype
    name = str(dtype)
    if name.startswith(("datetime", "timestamp")):
        return ["" if pd.isna(v) else v.isoformat() for v in column]
    if name.startswith("timedelta"):
        raise ValueError(f"Field {column.name!r} has type {dtype}, which Vega-Lite cannot show")
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":  # numpy bool and integers: no missing values
        return column.tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return [None if math.isnan(v) or math.isinf(v) else v for v in column.tolist()]
    # Strings, objects, categories, nullable integers/floats/booleans: missing -> None, numpy scalars unboxed.
    values = column.astype(object).tolist()
    return [None if _is_null(v) else (v.tolist() if isinstance(v, (np.ndarray, np.generic)) else v) for v in values]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as Vega-Lite inline values (dates as full ISO strings, NaN -> null), converted as
    Altair's ``sanitize_pandas_dataframe`` converts them."""
    columns = [str(c) for c in frame.columns]
    if not columns:
        return [{} for _ in range(len(frame))]
    values = [_column_values(frame[c]) for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def inline(frame: pd.DataFrame) -> dict[str, Any]:
    """A view's ``data``: the rows of a frame. One object per frame: views sharing it share the data."""
    return {"values": records(frame)}


def dataset_name(values: list) -> str:
    """The name of inline values: a hash of their JSON, so equal rows share one dataset."""
    if values == [{}]:
        return "empty"
    text = json.dumps(values, sort_keys=True, default=str)
    return "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]


# --- encodings and views ------------------------------------------------------------------------------


def field(shorthand: str, **props) -> dict[str, Any]:
    """An encoding of a field: ``"score:Q"`` -> ``{"field": "score", "type": "quantitative"}``."""
    name, _, code = shorthand.partition(":")
    spec: dict[str, Any] = {"field": name}
    if code:
        spec["type"] = TYPES[code]
    spec.update(props)
    return spec


def tooltip(shorthand: str, title: str, **props) -> dict[str, Any]:
    return field(shorthand, title=title, **props)


def value(constant) -> dict[str, Any]:
    return {"value": constant}


def condition(test: str, if_true, if_false) -> dict[str, Any]:
    """A conditional value: ``if_true`` where the expression ``test`` holds, else ``if_false``."""
    return {"condition": {"test": test, "value": if_true}, "value": if_false}


def title(text: str, **props) -> dict[str, Any]:
    return {"text": text, **props}


def mark(kind: str, **props) -> dict[str, Any]:
    return {"type": kind, **props}


def view(data: dict, mark_spec: dict, encoding: dict, *, description: str | None = None,
         filters: tuple[str, ...] = ()) -> dict[str, Any]:
    """One unit view: data, mark, encoding, optional ``description`` (tests find views by it) and filter
    transforms (Vega expressions, applied in order)."""
    spec: dict[str, Any] = {"data": data, "mark": mark_spec, "encoding": encoding}
    if description is not None:
        spec["description"] = description
    if filters:
        spec["transform"] = [{"filter": test} for test in filters]
    return spec


def _compose(key: str, parts: tuple[dict, ...], props: dict) -> dict[str, Any]:
    """A composition, with its parts' data moved up when they all carry the same data object — what
    Altair's composition does (``_combine_subchart_data``), so that the specs stay the same."""
    spec: dict[str, Any] = {key: list(parts), **props}
    shared = parts[0].get("data") if parts else None
    if "data" not in spec and shared is not None and all(part.get("data") is shared for part in parts):
        spec["data"] = shared
        spec[key] = [{k: v for k, v in part.items() if k != "data"} for part in parts]
    return spec


def layer(*views: dict, **props) -> dict[str, Any]:
    """Views drawn on top of each other, sharing their scales (``props``: width, height, title, resolve …)."""
    return _compose("layer", views, props)


def concat(*specs: dict, **props) -> dict[str, Any]:
    """Specs in a grid (``columns``, ``spacing``, ``resolve``, ``title`` in ``props``)."""
    return _compose("concat", specs, props)


def vconcat(*specs: dict, **props) -> dict[str, Any]:
    """Specs one below the other."""
    return _compose("vconcat", specs, props)


# --- the finished spec ------------------------------------------------------------------------------


def px_width(width: int | None) -> str:
    """The plot width in a Vega expression: the drawn ``width`` signal, or the fixed number."""
    return "width" if width is None else f"{width}"


def sized(spec: dict[str, Any], width: int | None, height: int | None = None) -> dict[str, Any]:
    """``spec`` with its width (left to the container when None) and height."""
    out = dict(spec)
    if width is not None:
        out["width"] = width
    if height is not None:
        out["height"] = height
    return out


def toplevel(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec ready to draw: inline rows moved to named ``datasets``, ``$schema`` and the shared ``config``
    (font sizes) added. ``spec`` itself is left unchanged."""
    datasets: dict[str, list] = {}
    names: dict[int, str] = {}  # id(rows) -> name: rows shared by several views are hashed once

    def consolidate(node: dict) -> dict:
        node = dict(node)
        data = node.get("data")
        if isinstance(data, dict) and "values" in data and "name" not in data:
            rows = data["values"]
            name = names.get(id(rows))
            if name is None:
                name = names[id(rows)] = dataset_name(rows)
            datasets[name] = rows
            node["data"] = {"name": name, **{k: v for k, v in data.items() if k != "values"}}
        for key in _CHILD_KEYS:
            if key in node:
                node[key] = [consolidate(child) for child in node[key]]
        return node

    out = consolidate(spec)
    out.setdefault("$schema", SCHEMA_URL)
    config = {key: dict(value) for key, value in CONFIG.items()}
    for key, value in out.get("config", {}).items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    out["config"] = config
    if datasets:
        out["datasets"] = datasets
    return out
