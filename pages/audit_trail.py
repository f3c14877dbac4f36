"""Audit trail (administrators, read-only): who did what, when, to which record, with the values before
and after. Sign-ins, failed sign-ins, sign-outs, imports, exports and backups are events too."""

from datetime import date

import streamlit as st

from db.audit import describe_changes, load_audit, load_audit_choices, summarise_changes
from models.audit import ACTIONS
from ui.guard import require
from ui.messages import as_text, title
from ui.state import current_scope, get_engine

LIMIT = 500
ANY = "(any)"

require(__file__)
engine = get_engine()
title("Audit trail")
st.caption("Every change, sign-in, import, export and backup, newest first. The trail is append-only: "
           "the database itself refuses to edit or delete its rows, and nothing here can change them.")
scope = current_scope()
if not scope.everything:
    st.caption(f"Your account works in {as_text(scope.describe())}: the events of these centres' patients are shown. "
               "Sign-ins, accounts, centres and backups are for an administrator of every centre.")

choices = load_audit_choices(engine)
with st.container(border=True):
    first, second, third = st.columns(3)
    patient = first.text_input("Patient id", key="audit_patient", placeholder="e.g. DEMO-0001",
                               help="The exact patient identifier")
    who = second.selectbox("User", [ANY, *choices["actor"]], key="audit_actor")
    entity = third.selectbox("Record type", [ANY, *choices["entity"]], key="audit_entity",
                             help="app_user = accounts, session = sign-in and sign-out, bundle = imports and exports")
    fourth, fifth, sixth = st.columns(3)
    action = fourth.selectbox("Action", [ANY, *dict.fromkeys([*ACTIONS, *choices["action"]])], key="audit_action")
    # Filters, not data: any typed day is taken as typed (no silent ten-year window).
    since = fifth.date_input("From", value=None, key="audit_since", format="YYYY-MM-DD", min_value=date.min,
                             max_value=date.max)
    until = sixth.date_input("To (inclusive)", value=None, key="audit_until", format="YYYY-MM-DD",
                             min_value=date.min, max_value=date.max)

events = load_audit(engine, patient=patient.strip() or None, actor=None if who == ANY else who,
                    entity=None if entity == ANY else entity, action=None if action == ANY else action,
                    since=since, until=until, limit=LIMIT)
if events.empty:
    if patient.strip() or who != ANY or entity != ANY or action != ANY or since or until:
        st.info("No audit events match these filters. Clear a filter (or widen the dates) to see more.")
    else:
        st.info("No audit events yet" + ("" if scope.everything else " of your centres' patients")
                + ": every change, sign-in, import, export and backup will appear here.")
    st.stop()

if len(events) == LIMIT:
    st.caption(f"Showing the newest {LIMIT} events; narrow the filters to see older ones.")
else:
    st.caption(f"{len(events)} events.")
table = events.assign(at=events["at"].str[:19],  # to the second: the microseconds crowded out the patient column
                      changes=[summarise_changes(b, a) for b, a in zip(events["before"], events["after"], strict=True)])
st.dataframe(table.drop(columns=["before", "after"]), hide_index=True, width="stretch", column_config={
    "audit_id": st.column_config.NumberColumn("#", format="%d"), "at": "When (UTC)", "actor": "User",
    "action": "Action", "entity": "Record type", "entity_id": st.column_config.NumberColumn("Record #", format="%d"),
    "patient_id": st.column_config.TextColumn("Patient", width=100),  # an identifier read whole, not cut
    "reason": "Reason", "detail": "Detail", "changes": "Changes (field: before → after)",
})

with_changes = events[events["before"].ne("") | events["after"].ne("")]
if with_changes.empty:
    st.caption("None of these events changed a record (sign-ins, exports, backups…).")
else:
    st.subheader("Before and after")
    labels = {row.audit_id: f"#{row.audit_id} · {row.at[:19]} · {row.actor} · {row.action} {row.entity}"
              + (f" · {row.patient_id}" if row.patient_id else "") for row in with_changes.itertuples()}
    picked = st.selectbox("Event", list(labels), format_func=labels.get, key="audit_event")
    row = with_changes[with_changes["audit_id"] == picked].iloc[0]
    if row["reason"]:
        st.write(f"**Reason:** {as_text(row['reason'])}")
    st.dataframe(describe_changes(row["before"] or None, row["after"] or None), hide_index=True, width="stretch",
                 column_config={"field": "Field", "before": "Before", "after": "After"})
