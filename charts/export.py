"""Offline export of charts to PNG and SVG through vl-convert (which bundles Vega and fonts).

A chart is a builder's Vega-Lite spec (a dict, charts/vl.py), finished here with :func:`charts.vl.toplevel`.
"""

from __future__ import annotations

import json

import vl_convert as vlc

from charts import vl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _spec(chart: dict) -> str:
    return json.dumps(vl.toplevel(chart))


def to_png(chart: dict, scale: float = 2) -> bytes:
    """PNG bytes of ``chart`` (``scale`` 2 = sharp on high-density screens and in print)."""
    return vlc.vegalite_to_png(_spec(chart), vl_version=vl.VEGA_LITE_VERSION, scale=scale)


def to_svg(chart: dict) -> str:
    """SVG markup of ``chart``."""
    return vlc.vegalite_to_svg(_spec(chart), vl_version=vl.VEGA_LITE_VERSION)
