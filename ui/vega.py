"""Drawing Altair charts on a screen without validating their spec on every rerun.

`st.altair_chart` validates the whole Vega-Lite spec against its JSON schema each time it draws; on the
patient chart that is most of a rerun's time (~0.8 s of four charts). The builders in charts/ are pure and
their unit tests validate the same specs (`chart.to_dict()`), so the screens hand Streamlit the spec
without validating it again.
"""

from __future__ import annotations

import altair as alt
import streamlit as st


def show_chart(chart: alt.TopLevelMixin, *, key: str) -> None:
    """Draw `chart` as built (its own width and theme: the builders set colour-blind-safe palettes)."""
    st.vega_lite_chart(chart.to_dict(validate=False), theme=None, key=key)
