"""Per-patient cache of the chart's data, keyed on the patient's data_version: every write through db/ bumps
it, so a new visit shows at once, and an unchanged patient is never read or recomputed again."""

from __future__ import annotations

import streamlit as st

from db.chart_data import ChartData, load_chart_data
from db.patients import patient_version
from ui.state import database_key, get_engine


@st.cache_data(max_entries=64, show_spinner=False)
def _cached(database: str, patient_id: str, version: int | None) -> ChartData:
    return load_chart_data(get_engine(), patient_id)


def chart_data(patient_id: str) -> ChartData:
    engine = get_engine()
    return _cached(database_key(engine), patient_id, patient_version(engine, patient_id))
