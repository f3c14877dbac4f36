"""Drawing a chart builder's Vega-Lite spec on a screen.

The builders in charts/ return specs as plain dicts; :func:`show_chart` finishes one (:func:`charts.vl.toplevel`:
datasets, ``$schema``, the shared config) and hands it to Streamlit, which draws a dict as it is — no Altair
round trip and no schema validation on every rerun (the unit tests validate every builder's spec). A spec
without a width fills the width of its container: Streamlit sets it and fits axes, labels and legends inside,
so nothing is cut off and the main column never scrolls sideways.
"""

from __future__ import annotations

import streamlit as st

from charts import vl

SCREEN_AUTOSIZE = {"type": "fit-x", "contains": "padding"}  # the width fits the container; the height is the plot's


def show_chart(chart: dict, *, key: str) -> None:
    """Draw a builder's spec, as wide as its container (its own palette: theme None)."""
    spec = vl.toplevel(chart)
    spec.setdefault("autosize", SCREEN_AUTOSIZE)
    st.vega_lite_chart(spec, theme=None, key=key, width="stretch")
