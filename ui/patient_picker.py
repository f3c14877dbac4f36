"""The patient chooser shared by the clinic screens: one searchable list; the choice is kept in
st.session_state["patient_id"] (shared by the screens) and in the address, `?patient=ID`, so that a reload keeps
the patient and a physician can send the link (which still asks for sign-in and the role's screens)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from db.audit import registry_version
from db.patients import load_patients
from models.catalog import DIAGNOSES
from ui.messages import as_text
from ui.state import database_key

URL_PARAMETER = "patient"


@st.cache_data(max_entries=8, show_spinner=False)
def _choices(database: str, version: int) -> pd.DataFrame:
    from ui.state import get_engine

    return load_patients(get_engine())[["patient_id", "diagnosis"]]


def patient_choices(engine: Engine) -> pd.DataFrame:
    return _choices(database_key(engine), registry_version(engine))


def linked_patient() -> str | None:
    """The patient named in the address (`?patient=ID`), if any."""
    return st.query_params.get(URL_PARAMETER) or None


def show_patient_in_url(patient_id: str | None) -> None:
    """Keep `?patient=` equal to the patient on the screen (removed when none is chosen)."""
    if patient_id:
        if st.query_params.get(URL_PARAMETER) != patient_id:
            st.query_params[URL_PARAMETER] = patient_id
    elif URL_PARAMETER in st.query_params:
        del st.query_params[URL_PARAMETER]


def pick_patient(engine: Engine, *, key: str = "patient_picker", label: str = "Patient") -> str | None:
    """A searchable select box of live patients; returns the chosen identifier (or None)."""
    linked = linked_patient()
    if linked:
        st.session_state["patient_id"] = linked
    choices = patient_choices(engine)
    ids = choices["patient_id"].tolist()
    labels = dict(zip(ids, (f"{pid} · {DIAGNOSES.get(dx, dx)}" for pid, dx in
                            zip(ids, choices["diagnosis"], strict=True)), strict=True))
    current = st.session_state.get("patient_id")
    if current and current not in labels:
        st.warning(f"No patient {as_text(repr(current))}: they may have been deleted, or the link is wrong. Choose "
                   "another patient.", icon=":material/person_off:")
        st.session_state["patient_id"] = current = None
    if key not in st.session_state or st.session_state[key] != current:
        st.session_state[key] = current if current in labels else None

    def remember() -> None:
        st.session_state["patient_id"] = st.session_state[key]
        show_patient_in_url(st.session_state[key])

    st.selectbox(label, ids, key=key, format_func=labels.get, on_change=remember,
                 placeholder=f"Type to search {len(ids):,} patients…" if ids else "No patients yet")
    chosen = st.session_state[key]
    show_patient_in_url(chosen)
    return chosen
