"""Patients (PRODUCT.md screen 2): the searchable, sortable list of the clinic's patients with their last visit,
latest mRSS, change since baseline and active treatments; add and edit a patient; open a patient's visit entry,
treatments or chart."""

from ui.guard import allowed, require

user = require(__file__)

from datetime import date  # noqa: E402  (the guard runs first)

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from db.audit import registry_version  # noqa: E402
from db.engine import write_session  # noqa: E402
from db.overview import load_overview  # noqa: E402
from db.patients import create_patient, delete_patient, get_patient, update_patient  # noqa: E402
from models.catalog import DIAGNOSES  # noqa: E402
from models.errors import SkintrackError  # noqa: E402
from ui.messages import show_error  # noqa: E402
from ui.state import actor, flash, get_engine  # noqa: E402

SEXES = {"": "not recorded", "F": "female", "M": "male", "X": "other", "U": "unknown"}


@st.cache_data(max_entries=4, show_spinner="Loading the patient list…")
def overview(database: str, version: int) -> pd.DataFrame:
    return load_overview(get_engine())


engine = get_engine()
may_edit = allowed("edit_clinical")
st.title("Patients")
patients = overview(engine.url.render_as_string(hide_password=True), registry_version(engine))


def open_screen(patient_id: str, page: str) -> None:
    st.session_state["patient_id"] = patient_id
    st.switch_page(page)


def patient_form(prefix: str, existing: dict | None) -> dict | None:
    """The fields of a patient; returns the typed values when the form is submitted."""
    values = existing or {}
    with st.form(f"{prefix}_form", clear_on_submit=False, border=True):
        cols = st.columns(3)
        if existing is None:
            patient_id = cols[0].text_input("Patient ID", key=f"{prefix}_patient_id", max_chars=64,
                                            help="The clinic's or study's identifier; it cannot change later.")
        else:
            patient_id = existing["patient_id"]
            cols[0].text_input("Patient ID", value=patient_id, disabled=True, key=f"{prefix}_patient_id")
        diagnoses = list(DIAGNOSES)
        diagnosis = cols[1].selectbox("Diagnosis", diagnoses, format_func=lambda code: f"{code} — {DIAGNOSES[code]}",
                                      index=diagnoses.index(values["diagnosis"]) if values.get("diagnosis") in
                                      diagnoses else None, key=f"{prefix}_diagnosis", placeholder="Choose…")
        sexes = list(SEXES)
        sex = cols[2].selectbox("Sex", sexes, format_func=SEXES.get, key=f"{prefix}_sex",
                                index=sexes.index(values.get("sex") or ""))
        cols = st.columns(3)
        birth_year = cols[0].number_input("Birth year", min_value=1900, max_value=date.today().year, step=1,
                                          value=values.get("birth_year"), key=f"{prefix}_birth_year",
                                          placeholder="e.g. 1968")
        diagnosis_date = cols[1].date_input("Diagnosis date", value=values.get("diagnosis_date"),
                                            min_value=date(1900, 1, 1), max_value=date.today(),
                                            key=f"{prefix}_diagnosis_date", format="YYYY-MM-DD")
        mrn = cols[2].text_input("Medical record number", value=values.get("mrn", ""), key=f"{prefix}_mrn")
        name = st.text_input("Name", value=values.get("name", ""), key=f"{prefix}_name")
        notes = st.text_area("Notes", value=values.get("notes", ""), key=f"{prefix}_notes", height=68)
        label = "Add patient" if existing is None else "Save changes"
        if not st.form_submit_button(label, type="primary", key=f"{prefix}_submit"):
            return None
    return {"patient_id": (patient_id or "").strip(), "diagnosis": diagnosis or "", "sex": sex or None,
            "birth_year": int(birth_year) if birth_year else None, "diagnosis_date": diagnosis_date,
            "mrn": mrn, "name": name, "notes": notes}


if patients.empty:
    st.info("No patients yet. Add the first one below — then enter their visits, treatments and see their chart. "
            "(An administrator can also import a clinic's spreadsheets under Import.)", icon=":material/person_add:")
else:
    search = st.text_input("Search", key="patients_search", placeholder="Patient ID, name, MRN or diagnosis",
                           label_visibility="collapsed", icon=":material/search:")
    shown = patients
    if search.strip():
        needle = search.strip().lower()
        haystack = (patients["patient_id"] + " " + patients["name"] + " " + patients["mrn"] + " "
                    + patients["diagnosis"]).str.lower()
        shown = patients[haystack.str.contains(needle, regex=False)]
    st.caption(f"{len(shown):,} of {len(patients):,} patients · click a row to open the patient · click a column "
               "header to sort")
    event = st.dataframe(
        shown, hide_index=True, key="patients_table", on_select="rerun", selection_mode="single-row",
        height=min(38 + 35 * len(shown), 460),
        column_config={
            "patient_id": "Patient ID", "diagnosis": "Diagnosis", "name": "Name", "mrn": "MRN",
            "last_visit": st.column_config.DateColumn("Last visit", format="YYYY-MM-DD"),
            "n_visits": st.column_config.NumberColumn("Scored visits"),
            "latest_mrss": st.column_config.NumberColumn("Latest mRSS", format="%g"),
            "change": st.column_config.NumberColumn("Change since baseline", format="%+g",
                                                    help="Latest visit mRSS minus the first visit's"),
            "active_treatments": "Active treatments"})
    rows = event.selection.rows if event is not None else []
    if rows:
        st.session_state["patient_id"] = shown.iloc[rows[0]]["patient_id"]

current = st.session_state.get("patient_id")
record = get_patient(engine, current) if current else None
if record is not None:
    st.subheader(f"{current} · {DIAGNOSES.get(record['diagnosis'], record['diagnosis'])}")
    listed = patients[patients["patient_id"] == current]
    if len(listed) and pd.notna(listed.iloc[0]["last_visit"]):
        row = listed.iloc[0]
        mrss = "no total yet" if pd.isna(row["latest_mrss"]) else f"latest mRSS {row['latest_mrss']:g}"
        change = "" if pd.isna(row["change"]) else f" ({row['change']:+g} since baseline)"
        st.caption(f"Last visit {row['last_visit']:%Y-%m-%d} · {row['n_visits']} scored visits · {mrss}{change}"
                   + (f" · on {row['active_treatments']}" if row["active_treatments"] else ""))
    else:
        st.caption("No visit yet: *Enter visit* scores the 17 sites.")
    cols = st.columns([1, 1, 1, 4])
    if may_edit and cols[0].button("Enter visit", type="primary", icon=":material/edit_note:", key="open_entry"):
        open_screen(current, "pages/visit_entry.py")
    if may_edit and cols[1].button("Treatments", icon=":material/medication:", key="open_treatments"):
        open_screen(current, "pages/treatments.py")
    if cols[2].button("Chart", icon=":material/monitoring:", key="open_chart"):
        open_screen(current, "pages/chart.py")
    if may_edit:
        with st.expander(f"Edit {current}"):
            changed = patient_form("edit", record)
            if changed is not None:
                data = {k: v for k, v in changed.items() if k != "patient_id"}
                # a pooled, de-identified patient's age stands in for the birth year: a known birth year replaces it
                data["age_at_baseline"] = None if data.get("birth_year") else record.get("age_at_baseline")
                try:
                    with write_session(engine) as session:
                        update_patient(session=session, patient_id=current,
                                       expected_version=int(record["version"]), data=data, actor=actor())
                except SkintrackError as error:
                    show_error(error)
                else:
                    flash("success", f"Patient {current} saved.")
                    st.rerun()
            st.divider()
            reason = st.text_input("Reason for deleting", key="delete_patient_reason",
                                   placeholder="e.g. created twice by mistake")
            sure = st.checkbox(f"Yes, delete {current} and hide all their records (an administrator can restore "
                               "them)", key="delete_patient_confirm")
            if st.button("Delete patient", icon=":material/delete:", key="delete_patient", disabled=not sure):
                try:
                    with write_session(engine) as session:
                        delete_patient(session=session, patient_id=current,
                                       expected_version=int(record["version"]), actor=actor(), reason=reason)
                except SkintrackError as error:
                    show_error(error, prefix="Not deleted")
                else:
                    st.session_state["patient_id"] = None
                    flash("success", f"Patient {current} deleted. An administrator can restore them under "
                                     "Deleted records.")
                    st.rerun()

if may_edit:
    with st.expander("Add a patient", expanded=patients.empty, icon=":material/person_add:"):
        new = patient_form("new", None)
        if new is not None:
            try:
                with write_session(engine) as session:
                    create_patient(session=session, data=new, actor=actor())
            except SkintrackError as error:
                show_error(error)
            else:
                st.session_state["patient_id"] = new["patient_id"]
                flash("success", f"Patient {new['patient_id']} added. Next: enter a visit.")
                st.rerun()
