"""The 17 mRSS sites laid out like a body (models.catalog.BODY_LAYOUT): face on top, chest and abdomen in the
middle, the arms and hands down each side, the legs and feet below — the patient's right on the left of the
screen, as the rater faces them. Each site is one 0–3 choice: one click (or arrow keys) and no typing."""

from __future__ import annotations

import streamlit as st

from models.catalog import BODY_LAYOUT, SITE_CODES, SITES_BY_CODE

SCORES = [0, 1, 2, 3]
SCORE_HELP = "0 normal · 1 mild · 2 moderate · 3 severe thickening (the skin cannot be pinched into a fold)"


def site_key(code: str) -> str:
    return f"site_{code}"


def site_label(code: str, before: int | None) -> str:
    """The site's name with its side, and the previous visit's score in grey (typos stand out)."""
    name = SITES_BY_CODE[code].display
    return f"{name} · :gray[last {before}]" if before is not None else name


def body_score_grid(previous_sites: dict[str, int | None] | None) -> dict[str, int | None]:
    """Draw the grid; returns {site code: score or None} of what is chosen now."""
    previous_sites = previous_sites or {}
    heads = st.columns(3)
    for column, title in zip(heads, ("Patient's right side", "Head and trunk", "Patient's left side"), strict=True):
        column.markdown(f"**{title}**")
    for row in BODY_LAYOUT:
        cols = st.columns(3)
        for column, code in zip(cols, row, strict=True):
            if code is None:
                continue
            with column:
                st.segmented_control(site_label(code, previous_sites.get(code)), SCORES, key=site_key(code),
                                     help=SCORE_HELP, width="stretch")
    return {code: st.session_state.get(site_key(code)) for code in SITE_CODES}
