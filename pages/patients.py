"""Patients (PRODUCT.md screen 2): the searchable, sortable list of the clinic's patients with their last visit,
latest mRSS, change since baseline and active treatments (and their centre, in a registry of several); add, edit,
delete and transfer a patient to another centre; open a patient's visit entry, treatments or chart."""

import pandas as pd
import streamlit as st

from db.audit import registry_version
from db.centres import patient_centres, transfer_patient
from db.overview import load_overview
from db.patients import create_patient, delete_patient, get_patient, patient_version, update_patient
from models.catalog import DIAGNOSES
from models.errors import SkintrackError
from ui.centres import centre_label, registry_centres
from ui.dates import DateChecks, date_field
from ui.forms import FormScope, form_scope, write_and_rerun
from ui.guard import allowed, require
from ui.messages import Labels, as_text, show_error, title
from ui.patient_picker import URL_PARAMETER, linked_patient, show_patient_in_url
from ui.patient_rules import SEX_CHOICES, patient_update
from ui.state import database_key, get_engine

PATIENT_LABELS = Labels({"patient_id": "Patient ID", "diagnosis": "Diagnosis", "sex": "Sex",
                         "birth_year": "Birth year", "age_at_baseline": "Birth year",
                         "diagnosis_date": "Diagnosis date", "mrn": "Medical record number", "name": "Name",
                         "notes": "Notes", "centre": "Centre", "centre_key": "Centre"})
TRANSFER_LABELS = Labels({"centre": "New centre", "patient_id": "Patient"}, audit_reason="Reason for the transfer")
DELETE_LABELS = Labels({"patient_id": "Patient", "id": "Patient"}, audit_reason="Reason for deleting")


@st.cache_data(max_entries=4, show_spinner="Loading the patient list…")
def overview(database: str, version: int, with_centre: bool) -> pd.DataFrame:
    frame = load_overview(get_engine())
    if not with_centre:
        return frame
    frame = frame.merge(patient_centres(get_engine()), on="patient_id", how="left")
    return frame[["patient_id", "centre", *[c for c in frame.columns if c not in ("patient_id", "centre")]]]


user = require(__file__)
engine = get_engine()
may_edit = allowed("edit_clinical")
title("Patients")
version_of_registry = registry_version(engine)
centres = registry_centres(engine, version_of_registry)
several = len(centres) > 1  # the registry's centres: the list shows each patient's centre
codes = dict(zip(centres["centre_key"], centres["code"], strict=True))
# the centres a new patient of this account can join (active ones of its scope)
joinable = centres[centres["active"] & centres["mine"]]
patients = overview(database_key(engine), version_of_registry, several)
if linked_patient():
    st.session_state["patient_id"] = linked_patient()


def open_screen(patient_id: str, page: str) -> None:
    st.session_state["patient_id"] = patient_id
    st.switch_page(page, query_params={URL_PARAMETER: patient_id})


def patient_form(scope: FormScope, existing: dict | None) -> dict | None:
    """The fields of a patient; returns the typed values, dates checked, when the form is submitted. A new patient
    of an account with several active centres asks for the centre (else it joins the only one)."""
    values = existing or {}
    with st.form(scope.key("form"), border=True):
        centre_key = None
        if existing is None and len(joinable) > 1:
            keys = [int(key) for key in joinable["centre_key"]]
            labels = {int(row["centre_key"]): centre_label(row) for _, row in joinable.iterrows()}
            centre_key = st.selectbox("Centre", keys, index=None, format_func=labels.get, key=scope.key("centre"),
                                      placeholder="Choose…", help="The centre the patient belongs to; only an "
                                      "audited transfer moves them to another later.")
        elif existing is None and len(joinable) == 1:
            centre_key = int(joinable["centre_key"].iloc[0])
        cols = st.columns(3)
        if existing is None:
            patient_id = cols[0].text_input("Patient ID", key=scope.key("patient_id"), max_chars=64,
                                            help="The clinic's or study's identifier; it cannot change later.")
        else:
            patient_id = existing["patient_id"]
            cols[0].text_input("Patient ID", value=patient_id, disabled=True, key=scope.key("patient_id"))
        diagnoses = list(DIAGNOSES)
        diagnosis = cols[1].selectbox("Diagnosis", diagnoses, format_func=lambda code: f"{code} — {DIAGNOSES[code]}",
                                      index=diagnoses.index(values["diagnosis"]) if values.get("diagnosis") in
                                      diagnoses else None, key=scope.key("diagnosis"), placeholder="Choose…")
        sexes = list(SEX_CHOICES)
        sex = cols[2].selectbox("Sex", sexes, format_func=SEX_CHOICES.get, key=scope.key("sex"),
                                index=sexes.index(values.get("sex") or ""))
        cols = st.columns(3)
        # No min/max: a typed 2030 reaches the model, which refuses it by name, instead of being silently dropped.
        birth_year = cols[0].number_input("Birth year", step=1, format="%d", value=values.get("birth_year"),
                                          key=scope.key("birth_year"), placeholder="e.g. 1968")
        diagnosis_text = date_field("Diagnosis date", key=scope.key("diagnosis_date"),
                                    value=values.get("diagnosis_date"), container=cols[1])
        mrn = cols[2].text_input("Medical record number", value=values.get("mrn", ""), key=scope.key("mrn"))
        name = st.text_input("Name", value=values.get("name", ""), key=scope.key("name"))
        notes = st.text_area("Notes", value=values.get("notes", ""), key=scope.key("notes"), height=68)
        label = "Add patient" if existing is None else "Save changes"
        if not st.form_submit_button(label, type="primary", key=scope.submit_key) or scope.stale:
            return None
    checks = DateChecks(birth_year=int(birth_year) if birth_year and 1900 <= birth_year <= 9999 else None)
    diagnosis_date = checks.read(diagnosis_text, field="diagnosis_date", required=False)
    try:
        checks.done()
    except SkintrackError as error:
        show_error(error, labels=PATIENT_LABELS)
        return None
    values = {"patient_id": (patient_id or "").strip(), "diagnosis": diagnosis or "", "sex": sex or None,
              "birth_year": int(birth_year) if birth_year is not None else None, "diagnosis_date": diagnosis_date,
              "mrn": mrn, "name": name, "notes": notes}
    return values if existing is not None else {**values, "centre_key": centre_key}


def transfer_form(patient_id: str, record: dict, targets: pd.DataFrame, version: int | None) -> None:
    """Move the patient to another of the account's active centres: a reason and a confirmation, audited."""
    here = codes.get(record["centre_key"], "")
    st.caption(f"{as_text(patient_id)} belongs to centre {as_text(here)}. A transfer moves the patient with all "
               "their visits, measurements and treatments; the accounts of the new centre see them, those of "
               f"{as_text(here)} only no longer do. The transfer is kept in the audit trail with its reason.")
    scope = form_scope("patients", "transfer", patient=patient_id, record=patient_id, version=version,
                       what="This patient")
    labels = {row["code"]: centre_label(row) for _, row in targets.iterrows()}
    target = st.selectbox("New centre", list(labels), index=None, format_func=labels.get, key=scope.key("centre"),
                          placeholder="Choose…")
    reason = st.text_input("Reason for the transfer", key=scope.key("reason"),
                           placeholder="e.g. moved to Lyon, followed up there from March")
    sure = st.checkbox(f"Yes, move {as_text(patient_id)} to centre {as_text(target)}" if target else
                       f"Yes, move {as_text(patient_id)} to the centre chosen", key=scope.key("sure"))
    if st.button("Transfer patient", icon=":material/move_up:", key=scope.submit_key, disabled=not sure):
        write_and_rerun(transfer_patient, prefix="Not transferred", labels=TRANSFER_LABELS, scope=scope,
                        done=f"Patient {as_text(patient_id)} transferred to centre {as_text(target)}.",
                        patient_id=patient_id, centre=target or "", expected_version=int(record["version"]),
                        reason=reason)


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
    # The row selection is kept per version of the registry: after any write (a deletion shortens the list) an
    # old row number never picks another patient, or a row that is gone.
    table = form_scope("patients", "table", version=version_of_registry)
    event = st.dataframe(
        shown, hide_index=True, key=table.key("rows"), on_select="rerun", selection_mode="single-row",
        height=min(38 + 35 * max(len(shown), 1), 460),
        column_config={
            "patient_id": "Patient ID", "centre": st.column_config.TextColumn("Centre", width="small"),
            "diagnosis": "Diagnosis", "name": "Name", "mrn": "MRN",
            "last_visit": st.column_config.DateColumn("Last visit", format="YYYY-MM-DD"),
            "n_visits": st.column_config.NumberColumn("Scored visits"),
            "latest_mrss": st.column_config.NumberColumn("Latest mRSS", format="%g"),
            "change": st.column_config.NumberColumn("Change since baseline", format="%+g",
                                                    help="Latest visit mRSS minus the first visit's"),
            "active_treatments": "Active treatments"})
    rows = [row for row in (event.selection.rows if event is not None else []) if 0 <= row < len(shown)]
    if rows:
        st.session_state["patient_id"] = shown.iloc[rows[0]]["patient_id"]

current = st.session_state.get("patient_id")
record = get_patient(engine, current) if current else None
if record is None:  # deleted meanwhile, or a wrong link: no patient is open
    st.session_state["patient_id"] = current = None
show_patient_in_url(current)
if record is not None:
    centre = f" · centre {as_text(codes.get(record['centre_key'], ''))}" if several else ""
    st.subheader(f"{as_text(current)} · {DIAGNOSES.get(record['diagnosis'], record['diagnosis'])}{centre}",
                 anchor=False)
    listed = patients[patients["patient_id"] == current]
    if len(listed) and pd.notna(listed.iloc[0]["last_visit"]):
        row = listed.iloc[0]
        mrss = "no total yet" if pd.isna(row["latest_mrss"]) else f"latest mRSS {row['latest_mrss']:g}"
        change = "" if pd.isna(row["change"]) else f" ({row['change']:+g} since baseline)"
        st.caption(f"Last visit {row['last_visit']:%Y-%m-%d} · {row['n_visits']} scored visits · {mrss}{change}"
                   + (f" · on {as_text(row['active_treatments'])}" if row["active_treatments"] else ""))
    else:
        st.caption("No visit yet: *Enter visit* scores the 17 sites.")
    actions = st.container(horizontal=True)
    if may_edit and actions.button("Enter visit", type="primary", icon=":material/edit_note:", key="open_entry"):
        open_screen(current, "pages/visit_entry.py")
    if may_edit and actions.button("Treatments", icon=":material/medication:", key="open_treatments"):
        open_screen(current, "pages/treatments.py")
    if actions.button("Chart", icon=":material/monitoring:", key="open_chart"):
        open_screen(current, "pages/chart.py")
    if may_edit:
        version = patient_version(engine, current)
        with st.expander("Edit or delete this patient", icon=":material/edit:", key="patients_edit_open"):
            scope = form_scope("patients", "edit", patient=current, record=current, version=version,
                               what="This patient")
            changed = patient_form(scope, record)
            if changed is not None:
                write_and_rerun(update_patient, done=f"Patient {as_text(current)} saved.", labels=PATIENT_LABELS,
                                scope=scope, patient_id=current,
                                expected_version=int(record["version"]), data=patient_update(changed, record))
            st.divider()
            scope = form_scope("patients", "delete", patient=current, record=current, version=version,
                               what="This patient")
            reason = st.text_input("Reason for deleting", key=scope.key("reason"),
                                   placeholder="e.g. created twice by mistake")
            sure = st.checkbox(f"Yes, delete {as_text(current)} and hide all their records (an administrator can "
                               "restore them)", key=scope.key("sure"))
            if st.button("Delete patient", icon=":material/delete:", key=scope.submit_key, disabled=not sure):
                write_and_rerun(delete_patient, prefix="Not deleted", labels=DELETE_LABELS, scope=scope,
                                done=f"Patient {as_text(current)} deleted. An administrator can restore them "
                                     "under Deleted records.", patient_id=current,
                                expected_version=int(record["version"]), reason=reason)
        targets = joinable[joinable["centre_key"] != record["centre_key"]]
        if len(targets):
            with st.expander("Transfer to another centre", icon=":material/move_up:", key="patients_transfer_open"):
                transfer_form(current, record, targets, version)

if may_edit and joinable.empty:
    st.caption("None of your centres takes new patients (an inactive centre keeps its patients; no new one joins it). "
               "Ask an administrator.")
elif may_edit:
    with st.expander("Add a patient", expanded=patients.empty, icon=":material/person_add:", key="patients_add_open"):
        scope = form_scope("patients", "add", record="new")
        new = patient_form(scope, None)
        if new is not None:
            st.session_state["patient_id"] = new["patient_id"]  # only kept when the patient is added
            previous = current
            write_and_rerun(create_patient, scope=scope, labels=PATIENT_LABELS, data=new,
                            done=f"Patient {as_text(new['patient_id'])} added. Next: enter a visit.")
            st.session_state["patient_id"] = previous
