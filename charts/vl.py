"""Vega-Lite specs as plain dicts, written the way Altair's ``to_dict()`` writes them.

Why not Altair objects: composing layers and concats in Altair deep-copies every sub-chart (and
``properties()`` validates), and ``to_dict()`` copies again and sanitises every DataFrame through
pandas; on the 60-visit patient chart that was most of a screen run. The builders in charts/ therefore
write dicts with the helpers below: :func:`toplevel` finishes a builder's spec for drawing, and
:func:`as_altair` gives the same chart as an Altair object to the code that wants one (the PDF report,
PNG/SVG export, the treatments screen's ``alt.vconcat``, tests); its ``to_dict()`` equals
``toplevel(spec)``, validated. tests/unit/test_charts_spec_equivalence.py holds both to the specs the
Altair builders wrote.

Data: a view carries its rows inline (``{"values": rows}``, rows from :func:`records`, which converts
exactly as Altair's ``sanitize_pandas_dataframe``); :func:`toplevel` moves them to ``datasets`` under
Altair's content-hash names, so views with equal rows share one dataset. As in Altair, a composition
whose parts all carry the *same* data object (one :func:`inline` of one frame) carries it itself: build
the ``data`` once per frame and pass that object to every view drawn from the frame.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}
_CHILD_KEYS = ("layer", "vconcat", "hconcat", "concat")
_ALTAIR_CLASSES = {"layer": alt.LayerChart, "vconcat": alt.VConcatChart, "hconcat": alt.HConcatChart,
                   "concat": alt.ConcatChart}


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
    """The rows of ``frame`` as Vega-Lite inline values (dates as full ISO strings, NaN -> null)."""
    columns = [str(c) for c in frame.columns]
    if not columns:
        return [{} for _ in range(len(frame))]
    values = [_column_values(frame[c]) for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def inline(frame: pd.DataFrame) -> dict[str, Any]:
    """A view's ``data``: the rows of a frame. One object per frame: views sharing it share the data."""
    return {"values": records(frame)}


def dataset_name(values: list) -> str:
    """Altair's name for inline values: a hash of their JSON, so equal rows share one dataset."""
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
    """``alt.condition(test, alt.value(if_true), alt.value(if_false))``."""
    return {"condition": {"test": test, "value": if_true}, "value": if_false}


def title(text: str, **props) -> dict[str, Any]:
    return {"text": text, **props}


def mark(kind: str, **props) -> dict[str, Any]:
    return {"type": kind, **props}


def view(data: dict, mark_spec: dict, encoding: dict, *, description: str | None = None,
         filters: tuple[str, ...] = ()) -> dict[str, Any]:
    """One unit view: data, mark, encoding, optional ``description`` (tests find views by it) and filter
    transforms (applied in order; Altair writes ``alt.datum.row == 0`` as ``"(datum.row === 0)"``)."""
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
    """``alt.layer(*views).properties(**props)``."""
    return _compose("layer", views, props)


def concat(*specs: dict, **props) -> dict[str, Any]:
    """``alt.concat(*specs, ...)`` (``columns``, ``spacing``, ``resolve``, ``title`` in ``props``)."""
    return _compose("concat", specs, props)


def vconcat(*specs: dict, **props) -> dict[str, Any]:
    """``alt.vconcat(*specs, ...)``."""
    return _compose("vconcat", specs, props)


# --- the finished spec ------------------------------------------------------------------------------


def toplevel(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as Altair's ``to_dict()`` writes it: inline rows moved to named ``datasets``, ``$schema``
    and the active Altair theme's config added. ``spec`` itself is left unchanged."""
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
    out.setdefault("$schema", alt.SCHEMA_URL)
    theme = alt.theme.get()
    if theme is None:
        raise TypeError("no active Altair theme")
    out = alt.utils.update_nested(theme(), out, copy=True)
    if datasets:
        out["datasets"] = datasets
    return out


def as_altair(spec: dict[str, Any]) -> alt.TopLevelMixin:
    """The Altair chart of a builder's spec (rows still inline): ``alt.Chart`` per view, ``alt.LayerChart``
    / ``alt.ConcatChart`` / ``alt.VConcatChart`` per composition, so that Altair moves each view's rows to
    ``datasets`` as it did for the frames. ``as_altair(spec).to_dict()`` equals ``toplevel(spec)``."""
    data = spec.get("data", alt.Undefined)  # kept a plain dict, which Altair moves to datasets like a frame
    rest = {key: item for key, item in spec.items() if key != "data"}
    kind = next((key for key in _CHILD_KEYS if key in spec), None)
    if kind is None:
        # The encoding as Altair's class (composition inspects it), its channels left as dicts.
        return alt.Chart(data=data, **{**rest, "encoding": alt.FacetedEncoding(**rest.get("encoding", {}))})
    props = {key: item for key, item in rest.items() if key != kind}
    return _ALTAIR_CLASSES[kind](data=data, **{kind: [as_altair(part) for part in spec[kind]]}, **props)


def validate(spec: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``spec`` (finished, see :func:`toplevel`) is not valid
    Vega-Lite for the schema Altair writes."""
    alt.utils.schemapi.validate_jsonschema(spec, alt.vegalite.v6.schema.core.load_schema())
