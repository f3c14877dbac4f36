"""Drawing charts on a screen without Altair round trips or re-validating their spec on every rerun.

The patient chart's builders (charts/, ``*_spec``) return Vega-Lite specs as plain dicts; :func:`show_chart`
finishes one (:func:`charts.vl.toplevel`: datasets, ``$schema``, theme config — the dict Altair's ``to_dict()``
wrote) and hands it to Streamlit, which draws a dict as it is. An Altair chart is drawn from
``to_dict(validate=False)``: ``st.altair_chart`` would validate the whole spec against its JSON schema on every
rerun. The unit tests validate every builder's spec (tests/unit/test_charts_spec_equivalence.py).
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from charts import vl


def show_chart(chart: dict | alt.TopLevelMixin, *, key: str) -> None:
    """Draw ``chart`` — a builder's dict spec or an Altair chart — as built (its own width and theme: the
    builders set colour-blind-safe palettes)."""
    spec = vl.toplevel(chart) if isinstance(chart, dict) else chart.to_dict(validate=False)
    st.vega_lite_chart(spec, theme=None, key=key)
