"""Widgets shared by the clinic screens: keeping typed values across reruns, the measures grid of the catalogue."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from analysis.entry_checks import out_of_range
from models.catalog import MEASURES, SIDES


def keep_values(keys: Iterable[str] = (), prefixes: tuple[str, ...] = ()) -> None:
    """Keep these widget values even on a run where their widget is not drawn (another tab of the mode, another
    page): Streamlit forgets a widget's value when a run does not draw it, unless the value is assigned again."""
    wanted = set(keys)
    for key in list(st.session_state.keys()):
        if key in wanted or (prefixes and str(key).startswith(prefixes)):
            st.session_state[key] = st.session_state[key]


def measure_key(code: str, side: str) -> str:
    return f"measure_{code}_{side}"


def measure_grid(previous: dict[tuple[str, str], float] | None = None) -> dict[tuple[str, str], float | None]:
    """The catalogue's measures by group: one row each, R and L inputs for sided ones, the unit and plausible
    range beside the name, the previous value (`previous`: {(code, side): value}) beside the inputs and an
    implausible value flagged at once. Returns {(code, side): value}."""
    previous = previous or {}
    typed: dict[tuple[str, str], float | None] = {}
    groups: dict[str, list] = {}
    for measure in MEASURES:
        groups.setdefault(measure.group, []).append(measure)
    for group, measures in groups.items():
        st.markdown(f"**{group.title()}**")
        for measure in measures:
            sides = SIDES if measure.sided else ("",)
            cols = st.columns([2.2, 1, 1, 2.2], vertical_alignment="bottom")
            cols[0].markdown(f"{measure.label}  \n:gray[{measure.unit} · plausible {measure.low:g}–"
                             f"{measure.high:g}]")
            for index, side in enumerate(sides):
                key = measure_key(measure.code, side)
                cols[1 + index].number_input(
                    side or f"{measure.label} ({measure.unit})", value=None,
                    step=None, format="%g", key=key, placeholder=f"{side} {measure.unit}".strip(),
                    label_visibility="visible" if side else "collapsed")
                typed[(measure.code, side)] = st.session_state.get(key)
            problems = [out_of_range(measure.code, typed[(measure.code, side)]) for side in sides]
            problems = [p for p in problems if p]
            if problems:
                cols[3].markdown(f":red[:material/error: outside {measure.low:g}–{measure.high:g} {measure.unit}]")
            elif any((measure.code, side) in previous for side in sides):
                before = " · ".join(f"{side} {previous[(measure.code, side)]:g}".strip() for side in sides
                                    if (measure.code, side) in previous)
                cols[3].markdown(f":gray[last {before} {measure.unit}]")
    return typed
