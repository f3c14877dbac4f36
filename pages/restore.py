"""Deleted records (administrators): list what was soft-deleted and bring a record back, with a reason.
Restores go through the db/ restore functions, so each one is checked and audited."""

import streamlit as st

from db.engine import write_session
from db.measures import load_deleted_measurements, restore_measurement
from db.patients import load_deleted_patients, restore_patient
from db.treatments import load_deleted_events, load_deleted_medications, restore_event, restore_medication
from db.visits import load_deleted_assessments, restore_assessment
from models.errors import SkintrackError
from ui.guard import require
from ui.messages import show_error
from ui.state import actor, flash, get_engine, show_flash


def _restore_patient(session, key, version, who, reason):
    return restore_patient(session=session, patient_id=key, expected_version=version, actor=who, reason=reason)


# kind -> (read of the deleted rows, the column that identifies a row, the audited restore)
KINDS = {
    "Patients": (load_deleted_patients, "patient_id", _restore_patient),
    "Visits (skin score assessments)": (load_deleted_assessments, "assessment_id",
                                        lambda s, key, version, who, why: restore_assessment(
                                            session=s, assessment_id=int(key), expected_version=version, actor=who,
                                            reason=why)),
    "Measurements": (load_deleted_measurements, "measurement_id",
                     lambda s, key, version, who, why: restore_measurement(
                         session=s, measurement_id=int(key), expected_version=version, actor=who, reason=why)),
    "Medication periods": (load_deleted_medications, "period_id",
                           lambda s, key, version, who, why: restore_medication(
                               session=s, period_id=int(key), expected_version=version, actor=who, reason=why)),
    "Treatment events": (load_deleted_events, "event_id",
                         lambda s, key, version, who, why: restore_event(
                             session=s, event_id=int(key), expected_version=version, actor=who, reason=why)),
}

require(__file__)
engine = get_engine()
st.title("Deleted records")
st.caption("Deletions in Skintrack are soft: the record is hidden everywhere but kept. Bring one back here, "
           "with a reason; the restore is kept in the audit trail.")
show_flash()

kind = st.segmented_control("Record type", list(KINDS), default=list(KINDS)[0], key="restore_kind")
kind = kind or list(KINDS)[0]
load, id_column, restore = KINDS[kind]
deleted = load(engine)
if deleted.empty:
    st.info(f"No deleted {kind.lower()}. When someone deletes one, it appears here and can be restored.")
    st.stop()

st.dataframe(deleted, hide_index=True, width="stretch")
with st.form("restore_form"):
    chosen = st.selectbox("Record to restore", deleted[id_column].astype(str).tolist(), key="restore_choice",
                          help="The first column of the table above")
    reason = st.text_input("Reason for the restore", key="restore_reason",
                           placeholder="e.g. deleted by mistake during the visit of 3 March")
    submitted = st.form_submit_button("Restore", type="primary", key="restore_submit")
if submitted:
    try:
        with write_session(engine) as session:
            version = int(deleted.loc[deleted[id_column].astype(str) == chosen, "version"].iloc[0])
            restore(session, chosen, version, actor(), reason)
        flash("success", f"Record {chosen} restored ({kind.lower()}); the restore is in the audit trail.")
        st.rerun()
    except SkintrackError as error:
        show_error(error, prefix="Not restored")
