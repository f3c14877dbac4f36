"""Deleted records (administrators): list what was soft-deleted and bring a record back, with a reason.
Restores go through the db/ restore functions, so each one is checked and audited."""

import streamlit as st

from db.measures import load_deleted_measurements, restore_measurement
from db.patients import load_deleted_patients, restore_patient
from db.treatments import load_deleted_events, load_deleted_medications, restore_event, restore_medication
from db.visits import load_deleted_assessments, restore_assessment
from ui.forms import form_scope, write_and_rerun
from ui.guard import require
from ui.messages import Labels, as_text, title
from ui.state import get_engine

LABELS = Labels({"id": "Record to restore", "patient_id": "Record to restore", "visit_date": "Record to restore",
                 "start_date": "Record to restore"}, audit_reason="Reason for the restore")


def _restore(restore, argument: str, convert=int):
    """The audited restore of one kind, called as `restore_kind(session=…, actor=…, key=…, expected_version=…,
    reason=…)`: the version is the one the list showed, so a record changed since is refused (StaleRecord)."""
    def restore_kind(*, session, actor, key, expected_version, reason):
        return restore(session=session, actor=actor, reason=reason, expected_version=expected_version,
                       **{argument: convert(key)})
    return restore_kind


# kind -> (read of the deleted rows, the column that identifies a row, the audited restore)
KINDS = {
    "Patients": (load_deleted_patients, "patient_id", _restore(restore_patient, "patient_id", str)),
    "Visits (skin score assessments)": (load_deleted_assessments, "assessment_id",
                                        _restore(restore_assessment, "assessment_id")),
    "Measurements": (load_deleted_measurements, "measurement_id", _restore(restore_measurement, "measurement_id")),
    "Medication periods": (load_deleted_medications, "period_id", _restore(restore_medication, "period_id")),
    "Treatment events": (load_deleted_events, "event_id", _restore(restore_event, "event_id")),
}

COLUMNS = {"patient_id": "Patient", "diagnosis": "Diagnosis", "deleted_at": st.column_config.DatetimeColumn(
               "Deleted (UTC)", format="YYYY-MM-DD HH:mm"),
           "assessment_id": "Record #", "measurement_id": "Record #", "period_id": "Record #", "event_id": "Record #",
           "visit_date": "Visit date", "rater": "Rater", "total": st.column_config.NumberColumn("Total mRSS"),
           "date": "Date", "measure": "Measure", "side": "Side", "value": "Value", "unit": "Unit", "drug": "Drug",
           "dose": "Dose", "dose_unit": "Unit", "start_date": "Start", "end_date": "End", "kind": "Kind",
           "agent": "Agent", "sites": "Sites"}

require(__file__)
engine = get_engine()
title("Deleted records")
st.caption("Deletions in Skintrack are soft: the record is hidden everywhere but kept. Bring one back here, "
           "with a reason; the restore is kept in the audit trail.")

kind = st.segmented_control("Record type", list(KINDS), default=list(KINDS)[0], key="restore_kind")
kind = kind or list(KINDS)[0]
load, id_column, restore = KINDS[kind]
deleted = load(engine)
if deleted.empty:
    st.info(f"No deleted {kind.lower()}. When someone deletes one, it appears here and can be restored.")
    st.stop()

# the version is bookkeeping (the restore checks it), not something to read
st.dataframe(deleted.drop(columns="version"), hide_index=True, width="stretch", column_config=COLUMNS)
scope = form_scope("restore", "restore", record=kind)
with st.form(scope.key("form")):
    chosen = st.selectbox("Record to restore", deleted[id_column].astype(str).tolist(), key=scope.key("record"),
                          help="The first column of the table above")
    reason = st.text_input("Reason for the restore", key=scope.key("reason"),
                           placeholder="e.g. deleted by mistake during the visit of 3 March")
    submitted = st.form_submit_button("Restore", type="primary", key=scope.submit_key)
if submitted:
    version = int(deleted.loc[deleted[id_column].astype(str) == chosen, "version"].iloc[0])
    write_and_rerun(restore, scope=scope, prefix="Not restored", labels=LABELS, key=chosen,
                    expected_version=version, reason=reason,
                    done=f"Record {as_text(chosen)} restored ({kind.lower()}); the restore is in the audit trail.")
