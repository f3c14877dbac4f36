"""Offline export of charts to PNG, SVG and PDF through vl-convert (which bundles Vega and fonts).

A chart is an Altair chart or a builder's Vega-Lite spec as a dict (charts/vl.py; finished here with
:func:`charts.vl.toplevel`, exactly what the Altair chart's ``to_dict()`` gives)."""

from __future__ import annotations

import json

import altair as alt
import vl_convert as vlc

from charts import vl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _vl_version() -> str:
    """The Vega-Lite version Altair writes (e.g. 'v6.4.1' -> '6.4'), if vl-convert bundles it."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else vlc.get_vegalite_versions()[-1]


def _spec(chart: alt.TopLevelMixin | dict) -> str:
    return json.dumps(vl.toplevel(chart)) if isinstance(chart, dict) else chart.to_json()


def to_png(chart: alt.TopLevelMixin | dict, scale: float = 2) -> bytes:
    """PNG bytes of ``chart`` (``scale`` 2 = sharp on high-density screens and in print)."""
    return vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale)


def to_svg(chart: alt.TopLevelMixin | dict) -> str:
    """SVG markup of ``chart``."""
    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version())


def to_pdf(chart: alt.TopLevelMixin | dict, scale: float = 1) -> bytes:
    """PDF bytes of ``chart`` (for the printed report)."""
    return vlc.vegalite_to_pdf(_spec(chart), vl_version=_vl_version(), scale=scale)
