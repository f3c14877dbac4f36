"""Treatments of one patient (PRODUCT.md screen 4): medication periods as a table and a timeline; start a drug,
change its dose in one action, stop it; point events (steroid injections into named sites, procedures, gadolinium
exposure, adverse events, other); edit and delete with a reason, audited."""

from ui.guard import allowed, require

user = require(__file__)

from datetime import date  # noqa: E402  (the guard runs first)

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from charts.labels import dose_label, kind_label, sites_display  # noqa: E402
from charts.medication_lanes import medication_lanes  # noqa: E402
from db.engine import write_session  # noqa: E402
from db.treatments import (  # noqa: E402
    change_dose,
    delete_event,
    delete_medication,
    load_event_rows,
    load_medication_rows,
    record_event,
    start_medication,
    stop_medication,
    update_event,
    update_medication,
)
from models.catalog import (  # noqa: E402
    CTCAE_GRADES,
    DOSE_UNITS,
    EVENT_KINDS,
    FIXED_FREQUENCIES,
    ROUTES,
    SITE_CODES,
    SITES_BY_CODE,
)
from models.ctcae import CTCAE_TERM_NAMES  # noqa: E402
from models.errors import SkintrackError  # noqa: E402
from ui.messages import show_error  # noqa: E402
from ui.patient_picker import pick_patient  # noqa: E402
from ui.state import actor, get_engine  # noqa: E402

engine = get_engine()
st.title("Treatments")
if not allowed("edit_clinical"):
    st.info("Your role can read treatments on the patient chart but not change them.")
    st.stop()
patient_id = pick_patient(engine, key="treatments_patient")
if not patient_id:
    st.info("Choose the patient above (or add one under Patients) to record medications and treatment events.",
            icon=":material/person_search:")
    st.stop()

done = st.session_state.pop("treatments_done", None)
if done:
    st.success(done, icon=":material/check_circle:")


def write(action, message: str, **kwargs) -> None:
    """Run one write path in a transaction; on success remember the message and rerun, else name the field."""
    try:
        with write_session(engine) as session:
            action(session=session, actor=actor(), **kwargs)
    except SkintrackError as error:
        show_error(error)
    else:
        st.session_state["treatments_done"] = message
        st.rerun()


periods = load_medication_rows(engine, patient_id)
events = load_event_rows(engine, patient_id)
medications_tab, events_tab = st.tabs(["Medications", "Treatment events"])

# --- medications ---------------------------------------------------------------------------------------
with medications_tab:
    if periods.empty:
        st.info("No medications recorded for this patient. Start one below; dose changes then take one action.")
    else:
        lanes = periods.assign(patient_id=patient_id)
        # Wrapped in a vconcat: Streamlit sizes a bare layered chart of one short lane to almost nothing.
        st.altair_chart(alt.vconcat(medication_lanes(lanes, width=760)), width="content", theme=None,
                        key="treatments_lanes")
        doses = zip(periods["dose"], periods["dose_unit"], periods["frequency"], strict=True)
        shown = periods.assign(dose_text=[dose_label(d, u, f) for d, u, f in doses])
        st.dataframe(shown[["drug", "dose_text", "route", "start_date", "end_date", "reason"]], hide_index=True,
                     key="treatments_periods", column_config={
                         "drug": "Drug", "dose_text": "Dose", "route": "Route", "reason": "Reason",
                         "start_date": st.column_config.DateColumn("Start", format="YYYY-MM-DD"),
                         "end_date": st.column_config.DateColumn("Stop (blank: ongoing)", format="YYYY-MM-DD")})

    with st.expander("Start a drug", icon=":material/add:", expanded=periods.empty):
        with st.form("start_form"):
            cols = st.columns([2, 1, 1, 1.4, 1])
            drug = cols[0].text_input("Drug (generic name)", key="start_drug", placeholder="e.g. imatinib")
            dose = cols[1].number_input("Dose", min_value=0.0, value=None, step=None, format="%g", key="start_dose")
            unit = cols[2].selectbox("Unit", DOSE_UNITS, key="start_unit")
            frequency = cols[3].selectbox("Frequency", FIXED_FREQUENCIES, key="start_frequency",
                                          accept_new_options=True,
                                          help="Or type 'N per day/week/month', e.g. 3 per week")
            route = cols[4].selectbox("Route", ROUTES, key="start_route")
            cols = st.columns([1, 1, 2])
            start = cols[0].date_input("Start", value=date.today(), max_value=date.today(), key="start_date",
                                       format="YYYY-MM-DD")
            end = cols[1].date_input("Stop (leave empty if ongoing)", value=None, max_value=date.today(),
                                     key="start_end", format="YYYY-MM-DD")
            reason = cols[2].text_input("Reason / indication", key="start_reason")
            if st.form_submit_button("Start drug", type="primary", key="start_submit"):
                write(start_medication, f"{(drug or '').strip()} started.", data={
                    "patient_id": patient_id, "drug": (drug or "").strip().lower(), "dose": dose, "dose_unit": unit,
                    "frequency": frequency, "route": route, "start_date": start, "end_date": end, "reason": reason})

    ongoing = periods[periods["end_date"].isna()] if len(periods) else periods
    if len(periods):
        labels = {int(row.period_id): f"{row.drug} {row.dose:g} {row.dose_unit} {row.frequency} from "
                                      f"{row.start_date:%Y-%m-%d}" + ("" if pd.isna(row.end_date) else
                                                                        f" to {row.end_date:%Y-%m-%d}")
                  for row in periods.itertuples()}
    if len(ongoing):
        with st.expander("Change dose or stop", icon=":material/tune:"):
            chosen = st.selectbox("Ongoing period", [int(i) for i in ongoing["period_id"]], format_func=labels.get,
                                  key="dose_period")
            current = ongoing[ongoing["period_id"] == chosen].iloc[0]
            with st.form("dose_form"):
                st.markdown("**Change dose** — ends this period the day before and opens the new dose, in one step.")
                cols = st.columns([1, 1, 2])
                new_dose = cols[0].number_input(f"New dose ({current['dose_unit']})", min_value=0.0, value=None,
                                                step=None, format="%g", key="dose_new")
                when = cols[1].date_input("From", value=date.today(), max_value=date.today(), key="dose_date",
                                          format="YYYY-MM-DD")
                why = cols[2].text_input("Reason (required)", key="dose_reason",
                                         placeholder="e.g. partial response, dose increased")
                if st.form_submit_button("Change dose", type="primary", key="dose_submit"):
                    if new_dose is None:
                        show_error(SkintrackError("enter the new dose", field="dose"))
                    else:
                        write(change_dose, f"{current['drug']}: {current['dose']:g} → {new_dose:g} "
                                           f"{current['dose_unit']} from {when.isoformat()}.",
                              period_id=chosen, expected_version=int(current["version"]), change_date=when,
                              dose=new_dose, reason=why)
            with st.form("stop_form"):
                st.markdown("**Stop**")
                cols = st.columns([1, 3])
                stop_day = cols[0].date_input("Last day taken", value=date.today(), max_value=date.today(),
                                              key="stop_date", format="YYYY-MM-DD")
                stop_why = cols[1].text_input("Reason", key="stop_reason", placeholder="e.g. adverse event")
                if st.form_submit_button("Stop drug", key="stop_submit"):
                    write(stop_medication, f"{current['drug']} stopped on {stop_day.isoformat()}.", period_id=chosen,
                          expected_version=int(current["version"]), end_date=stop_day, reason=stop_why)
    if len(periods):
        with st.expander("Correct or delete a period", icon=":material/edit:"):
            target = st.selectbox("Period", list(labels), format_func=labels.get, key="fix_period")
            row = periods[periods["period_id"] == target].iloc[0]
            with st.form(f"fix_form_{target}"):
                cols = st.columns([2, 1, 1, 1.4, 1])
                fix = {"patient_id": patient_id, "drug": cols[0].text_input("Drug", value=row["drug"],
                                                                             key=f"fix_drug_{target}")}
                fix["dose"] = cols[1].number_input("Dose", min_value=0.0, value=float(row["dose"]), step=None,
                                                   format="%g", key=f"fix_dose_{target}")
                units = list(DOSE_UNITS)
                fix["dose_unit"] = cols[2].selectbox("Unit", units, key=f"fix_unit_{target}", index=units.index(
                    row["dose_unit"]) if row["dose_unit"] in units else 0)
                fix["frequency"] = cols[3].text_input("Frequency", value=row["frequency"], key=f"fix_freq_{target}")
                routes = list(ROUTES)
                fix["route"] = cols[4].selectbox("Route", routes, key=f"fix_route_{target}", index=routes.index(
                    row["route"]) if row["route"] in routes else 0)
                cols = st.columns([1, 1, 2])
                fix["start_date"] = cols[0].date_input("Start", value=row["start_date"].date(),
                                                       max_value=date.today(), key=f"fix_start_{target}")
                fix["end_date"] = cols[1].date_input("Stop", value=None if pd.isna(row["end_date"]) else
                                                     row["end_date"].date(), max_value=date.today(),
                                                     key=f"fix_end_{target}")
                fix["reason"] = cols[2].text_input("Reason / indication", value=row["reason"],
                                                   key=f"fix_indication_{target}")
                why = st.text_input("Why is this corrected? (required)", key=f"fix_reason_{target}")
                if st.form_submit_button("Save correction", type="primary", key=f"fix_submit_{target}"):
                    fix["drug"] = fix["drug"].strip().lower()
                    write(update_medication, "Period corrected.", period_id=target,
                          expected_version=int(row["version"]), data=fix, reason=why)
            st.divider()
            why = st.text_input("Reason for deleting (required)", key="delete_period_reason")
            sure = st.checkbox("Yes, delete this period (an administrator can restore it)", key="delete_period_ok")
            if st.button("Delete period", key="delete_period_submit", disabled=not sure):
                write(delete_medication, "Period deleted.", period_id=target, expected_version=int(row["version"]),
                      reason=why)

# --- events --------------------------------------------------------------------------------------------
with events_tab:
    if events.empty:
        st.info("No treatment events recorded. Record steroid injections (with the injected sites), procedures, "
                "gadolinium exposure or adverse events below; they appear on the chart.")
    else:
        shown = events.assign(kind_text=events["kind"].map(kind_label), sites_text=events["sites"].map(sites_display))
        st.dataframe(shown[["date", "kind_text", "agent", "dose", "dose_unit", "sites_text", "description", "grade",
                            "serious", "end_date"]], hide_index=True, key="treatments_events", column_config={
            "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"), "kind_text": "Event",
            "agent": "Agent", "dose": st.column_config.NumberColumn("Dose", format="%g"), "dose_unit": "Unit",
            "sites_text": "Injected sites", "description": "Description / term", "grade": "CTCAE grade",
            "serious": "Serious", "end_date": st.column_config.DateColumn("Resolved", format="YYYY-MM-DD")})

    kinds = list(EVENT_KINDS)
    editing = None
    if len(events):
        event_labels = {int(r.event_id): f"{r.date:%Y-%m-%d} {kind_label(r.kind)} {r.agent or r.description}".strip()
                        for r in events.itertuples()}
        with st.expander("Edit or delete an event", icon=":material/edit:"):
            editing = st.selectbox("Event", [None, *event_labels], key="event_edit_id",
                                   format_func=lambda i: "— new event —" if i is None else event_labels[i])
            if editing is not None:
                why = st.text_input("Reason for the change or deletion (required)", key="event_edit_reason")
                sure = st.checkbox("Yes, delete this event (an administrator can restore it)", key="event_delete_ok")
                if st.button("Delete event", key="event_delete", disabled=not sure):
                    write(delete_event, "Event deleted.", event_id=editing,
                          expected_version=int(events.loc[events["event_id"] == editing, "version"].iloc[0]),
                          reason=why)
    base = events[events["event_id"] == editing].iloc[0].to_dict() if editing is not None else {}

    st.markdown("**Edit the event**" if editing is not None else "**Record a treatment event**")
    kind = st.selectbox("Event kind", kinds, format_func=EVENT_KINDS.get, key=f"event_kind_{editing}",
                        index=kinds.index(base["kind"]) if base else 0)
    with st.form(f"event_form_{editing}"):
        cols = st.columns([1, 2, 1, 1])
        day = cols[0].date_input("Onset" if kind == "adverse_event" else "Date",
                                 value=base.get("date", date.today()), max_value=date.today(),
                                 key=f"event_date_{editing}", format="YYYY-MM-DD")
        values: dict = {"patient_id": patient_id, "kind": kind, "date": day}
        if kind in ("steroid_injection", "gadolinium_exposure"):
            values["agent"] = cols[1].text_input("Agent", value=base.get("agent", ""), key=f"event_agent_{editing}",
                                                 placeholder="e.g. triamcinolone acetonide" if kind ==
                                                 "steroid_injection" else "e.g. gadodiamide")
            values["dose"] = cols[2].number_input("Dose", min_value=0.0, value=base.get("dose") if base and
                                                  pd.notna(base.get("dose")) else None, step=None, format="%g",
                                                  key=f"event_dose_{editing}")
            units = list(DOSE_UNITS)
            values["dose_unit"] = cols[3].selectbox("Unit", units, key=f"event_unit_{editing}",
                                                    index=units.index(base["dose_unit"]) if base.get("dose_unit")
                                                    in units else 0)
        if kind == "steroid_injection":
            chosen_sites = [c for c in str(base.get("sites") or "").split(";") if c]
            picked = st.multiselect("Injected sites", list(SITE_CODES), default=chosen_sites,
                                    format_func=lambda c: SITES_BY_CODE[c].display, key=f"event_sites_{editing}",
                                    placeholder="Pick each injected mRSS site (type to search)")
            values["sites"] = ";".join(picked)
        if kind == "adverse_event":
            terms = list(CTCAE_TERM_NAMES)
            values["term"] = cols[1].selectbox("Term (CTCAE v5.0)", terms, key=f"event_term_{editing}",
                                               index=terms.index(base["term"]) if base.get("term") in terms
                                               else None, placeholder="Type to search the CTCAE terms")
            values["description"] = st.text_input("Details", value=base.get("description", ""),
                                                  key=f"event_description_{editing}")
            grades = list(CTCAE_GRADES)
            values["grade"] = cols[2].selectbox("CTCAE grade", grades, key=f"event_grade_{editing}",
                                                format_func=lambda g: f"{g} {CTCAE_GRADES[g]}",
                                                index=grades.index(int(base["grade"])) if base and
                                                pd.notna(base.get("grade")) else 0)
            values["serious"] = cols[3].checkbox("Serious", value=bool(base.get("serious")) if base else False,
                                                 key=f"event_serious_{editing}")
            values["end_date"] = st.date_input("Resolved on (empty if ongoing)", value=base.get("end_date") if base
                                               and pd.notna(base.get("end_date")) else None, max_value=date.today(),
                                               key=f"event_end_{editing}", format="YYYY-MM-DD")
        elif kind != "steroid_injection":
            values["description"] = st.text_input("Description", value=base.get("description", ""),
                                                  key=f"event_description_{editing}")
        label = "Save changes" if editing is not None else f"Record {EVENT_KINDS[kind].lower()}"
        if st.form_submit_button(label, type="primary", key=f"event_submit_{editing}"):
            if editing is None:
                write(record_event, f"{EVENT_KINDS[kind]} recorded.", data=values)
            else:
                write(update_event, "Event saved.", event_id=editing, expected_version=int(base["version"]),
                      data=values,
                      reason=st.session_state.get("event_edit_reason", ""))
