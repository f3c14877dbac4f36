"""Widgets shared by the clinic screens: keeping typed values across reruns, a record chooser that keeps its choice
when the chosen record's label changes, the measures grid of the catalogue, the usual-range warning of a dose."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import streamlit as st

from analysis.entry_checks import out_of_range
from models.catalog import MEASURES, SIDES, Measure, dose_check
from ui.forms import FormScope
from ui.messages import as_text


def keep_values(keys: Iterable[str] = (), prefixes: tuple[str, ...] = ()) -> None:
    """Keep these widget values even on a run where their widget is not drawn (another tab of the mode, another
    page): Streamlit forgets a widget's value when a run does not draw it, unless the value is assigned again."""
    wanted = set(keys)
    for key in list(st.session_state.keys()):
        if key in wanted or (prefixes and str(key).startswith(prefixes)):
            st.session_state[key] = st.session_state[key]


def choice_box(label: str, choices: Mapping, *, key: str, container=None, **options):
    """A select box over `choices` ({option: label shown}) that keeps its choice when the chosen option's label
    changes; returns the chosen option.

    The browser sends a select box's choice back as the label it showed. When that label changes under it (the
    visit open for correction had its total corrected in another tab, an event its term), the label the browser
    sends matches no option and Streamlit hands the page the bare label: the visit entry then fell back to *New
    visit* (what was being corrected silently became a new visit's form), the event chooser to a new event.
    Such a label is the last choice drawn when that choice shows it now (two records may share a label), else
    looked up among the current labels; any other stray value keeps the last choice drawn, else the box starts
    from its first option."""
    last = f"{key}:last"
    if key in st.session_state and st.session_state[key] not in choices:
        by_label = {shown: option for option, shown in reversed(choices.items())}  # the first option of a label
        held, before = st.session_state[key], st.session_state.get(last)
        if isinstance(held, str) and before in choices and choices[before] == held:
            st.session_state[key] = before
        elif isinstance(held, str) and held in by_label:
            st.session_state[key] = by_label[held]
        elif before in choices:
            st.session_state[key] = before
        else:
            del st.session_state[key]
    value = (container or st).selectbox(label, list(choices), format_func=choices.get, key=key, **options)
    st.session_state[last] = value
    return value


def dose_confirmed(scope: FormScope, *, drug: str, dose: float | None, unit: str, label: str = "Dose") -> bool:
    """False, with a warning naming the field, the first time a dose outside the drug's usual range
    (`models.catalog.dose_check`) is submitted; True when it is inside, or submitted again unchanged (the
    clinician has seen the warning). A dose outside the plausible range is left to the model, which refuses it."""
    verdict = dose_check(drug, dose, unit)
    if verdict is None or verdict[0] != "warn":
        return True
    seen = scope.key("dose-warned")
    if st.session_state.get(seen) == (drug, dose, unit):
        return True
    st.session_state[seen] = (drug, dose, unit)
    st.warning(f"**{label}**: {as_text(verdict[1])}. Check the dose; if it is right, save again to confirm.",
               icon=":material/warning:")
    return False


def measure_key(code: str, side: str, scope: FormScope | None = None) -> str:
    name = f"measure_{code}_{side}"
    return scope.key(name) if scope is not None else name


YES_NO = {1: "Yes", 0: "No"}


def _whole(value):
    """A saved or typed value of a count or yes/no measure as the int its widget holds (None stays None)."""
    return None if value is None else int(value) if float(value).is_integer() else value


def _value_text(measure: Measure, value: float) -> str:
    if measure.kind == "yes_no":
        return YES_NO.get(_whole(value), f"{value:g}").lower()
    return f"{value:g}"


def measure_grid(previous: dict[tuple[str, str], float] | None = None,
                 scope: FormScope | None = None) -> dict[tuple[str, str], float | None]:
    """The catalogue's measures by group: one row each, R and L inputs for sided ones, the unit and plausible
    range beside the name, the previous value (`previous`: {(code, side): value}) beside the inputs and an
    implausible value flagged at once. Yes/no measures (Measure.kind "yes_no") are a Yes / No choice, nothing
    chosen meaning not recorded, stored as 1 / 0; counts take whole numbers (step 1). Returns {(code, side): value}."""
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
            if measure.kind == "yes_no":
                cols[0].markdown(f"{measure.label}  \n:gray[yes or no; leave both unselected if not recorded]")
            else:
                cols[0].markdown(f"{measure.label}  \n:gray[{measure.unit} · plausible {measure.low:g}–"
                                 f"{measure.high:g}]")
            for index, side in enumerate(sides):
                key = measure_key(measure.code, side, scope)
                label = side or f"{measure.label} ({measure.unit})"
                if measure.whole_numbers and st.session_state.get(key) is not None:
                    st.session_state[key] = _whole(st.session_state[key])  # a saved 1.0 shows as 1
                if measure.kind == "yes_no":
                    if st.session_state.get(key) not in (None, *YES_NO):
                        st.session_state[key] = None  # not a yes/no value: the model would refuse it anyway
                    cols[1 + index].segmented_control(label, list(YES_NO), format_func=YES_NO.get, key=key,
                                                      selection_mode="single", label_visibility="collapsed")
                elif measure.whole_numbers:
                    cols[1 + index].number_input(label, value=None, step=1, format="%d", key=key,
                                                 placeholder=f"{side} {measure.unit}".strip(),
                                                 label_visibility="visible" if side else "collapsed")
                else:
                    cols[1 + index].number_input(
                        label, value=None, step=None, format="%g", key=key,
                        placeholder=f"{side} {measure.unit}".strip(),
                        label_visibility="visible" if side else "collapsed")
                typed[(measure.code, side)] = st.session_state.get(key)
            problems = [out_of_range(measure.code, typed[(measure.code, side)]) for side in sides]
            problems = [p for p in problems if p]
            if problems:
                cols[3].markdown(f":red[:material/error: outside {measure.low:g}–{measure.high:g} {measure.unit}]")
            elif any((measure.code, side) in previous for side in sides):
                before = " · ".join(f"{side} {_value_text(measure, previous[(measure.code, side)])}".strip()
                                    for side in sides if (measure.code, side) in previous)
                unit = "" if measure.kind == "yes_no" else f" {measure.unit}"
                cols[3].markdown(f":gray[last {before}{unit}]")
    return typed
