"""Treatments of one patient (PRODUCT.md screen 4): medication periods as a table and a timeline; start a drug,
change its dose in one action, stop it; point events (steroid injections into named sites, procedures, gadolinium
exposure, adverse events, other); correct and delete with a reason, audited.

Every form is scoped to the patient and the record it edits (ui/forms.py): another patient, another period or
another action gives a fresh form filled from the database, and after any write every form re-reads."""

from datetime import date

import pandas as pd
import streamlit as st

from charts.labels import dose_label, kind_label, sites_display
from charts.medication_lanes import medication_lanes
from charts.time_axis import chart_window, make_time_axis
from db.patients import get_patient, patient_version
from db.treatments import (
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
from models.catalog import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    CTCAE_GRADES,
    DOSE_UNITS,
    EVENT_KINDS,
    FIXED_FREQUENCIES,
    ORGAN_EVENT_HELP,
    RELATEDNESS,
    ROUTES,
    SITE_CODES,
    SITES_BY_CODE,
)
from models.ctcae import CTCAE_TERM_NAMES
from models.errors import MissingValue, SkintrackError
from ui.dates import DateChecks, date_field, shown
from ui.forms import form_scope, write_and_rerun
from ui.guard import allowed, require
from ui.messages import Labels, as_text, show_error, title
from ui.patient_picker import pick_patient
from ui.state import get_engine
from ui.vega import show_chart
from ui.widgets import choice_box, dose_confirmed

user = require(__file__)
engine = get_engine()
title("Treatments")
if not allowed("edit_clinical"):
    st.info("Your role can read treatments on the patient chart but not change them.")
    st.stop()
patient_id = pick_patient(engine, key="treatments_patient")
if not patient_id:
    st.info("Choose the patient above (or add one under Patients) to record medications and treatment events.",
            icon=":material/person_search:")
    st.stop()

patient = get_patient(engine, patient_id) or {}
version = patient_version(engine, patient_id)
birth_year = patient.get("birth_year")
periods = load_medication_rows(engine, patient_id)
events = load_event_rows(engine, patient_id)

START_LABELS = Labels({"drug": "Drug (generic name)", "dose": "Dose", "dose_unit": "Unit", "frequency": "Frequency",
                       "route": "Route", "start_date": "Start", "end_date": "Stop",
                       "reason": "Reason / indication", "patient_id": "Patient"})
CORRECT_LABELS = Labels({"drug": "Drug", "dose": "Dose", "dose_unit": "Unit", "frequency": "Frequency",
                         "route": "Route", "start_date": "Start", "end_date": "Stop", "reason": "Reason / indication",
                         "id": "Period"}, audit_reason="Why is this corrected? (required)")
DELETE_PERIOD_LABELS = Labels({"id": "Period"}, audit_reason="Reason for deleting (required)")


def dates(**fields: tuple[str, bool]) -> dict[str, date | None]:
    """The typed dates of a form {field: (text, required)}, checked together (all problems at once)."""
    checks = DateChecks(birth_year=birth_year)
    values = {name: checks.read(text, field=name, required=required) for name, (text, required) in fields.items()}
    checks.done()
    return values


# Keyed tabs: the open tab is session state (and in the address), so a rerun never jumps back to the first.
medications_tab, events_tab = st.tabs(["Medications", "Treatment events"], key="tab", on_change="rerun",
                                      bind="query-params")

# --- medications ---------------------------------------------------------------------------------------
with medications_tab:
    if periods.empty:
        st.info("No medications recorded for this patient. Start one below; dose changes then take one action.")
    else:
        lanes = periods.assign(patient_id=patient_id)
        lanes_axis, _ = make_time_axis(chart_window(medications=lanes, window="today"))
        show_chart(medication_lanes(lanes, time_axis=lanes_axis), key="treatments_lanes")
        doses = zip(periods["dose"], periods["dose_unit"], periods["frequency"], strict=True)
        table = periods.assign(dose_text=[dose_label(d, u, f) for d, u, f in doses])
        st.dataframe(table[["drug", "dose_text", "route", "start_date", "end_date", "reason"]], hide_index=True,
                     key="treatments_periods", column_config={
                         "drug": "Drug", "dose_text": "Dose", "route": "Route", "reason": "Reason",
                         "start_date": st.column_config.DateColumn("Start", format="YYYY-MM-DD"),
                         "end_date": st.column_config.DateColumn("Stop (blank: ongoing)", format="YYYY-MM-DD")})

    with st.expander("Start a drug", icon=":material/add:", expanded=periods.empty, key="start_open"):
        scope = form_scope("treatments", "start", patient=patient_id, record="new")
        with st.form(scope.key("form")):
            # Three rows, not one: at 1024 px five fields in a row clipped the unit ("mg" and "mg/kg" both "m…").
            cols = st.columns([2, 1, 1])
            drug = cols[0].text_input("Drug (generic name)", key=scope.key("drug"), placeholder="e.g. imatinib")
            dose = cols[1].number_input("Dose", value=None, step=None, format="%g", key=scope.key("dose"))
            unit = cols[2].selectbox("Unit", DOSE_UNITS, key=scope.key("unit"))
            cols = st.columns(2)
            frequency = cols[0].selectbox("Frequency", FIXED_FREQUENCIES, key=scope.key("frequency"),
                                          accept_new_options=True,
                                          help="Or type 'N per day/week/month', e.g. 3 per week")
            route = cols[1].selectbox("Route", ROUTES, key=scope.key("route"))
            cols = st.columns([1, 1, 2])
            start_text = date_field("Start", key=scope.key("start"), value=date.today(), container=cols[0])
            end_text = date_field("Stop", key=scope.key("end"), container=cols[1],
                                  help="Leave empty while the drug is taken (YYYY-MM-DD or DD.MM.YYYY).")
            reason = cols[2].text_input("Reason / indication", key=scope.key("reason"))
            if st.form_submit_button("Start drug", type="primary", key=scope.submit_key):
                drug = (drug or "").strip().lower()
                try:
                    typed = dates(start_date=(start_text, True), end_date=(end_text, False))
                except SkintrackError as error:
                    show_error(error, labels=START_LABELS)
                else:
                    if dose_confirmed(scope, drug=drug, dose=dose, unit=unit):
                        write_and_rerun(start_medication, scope=scope, done=f"{as_text(drug)} started.",
                                        labels=START_LABELS,
                                        data={"patient_id": patient_id, "drug": drug, "dose": dose,
                                              "dose_unit": unit, "frequency": frequency, "route": route,
                                              "reason": reason, **typed})

    period_names = {int(row.period_id): f"{row.drug} {row.dose:g} {row.dose_unit} {row.frequency} from "
                                  f"{row.start_date:%Y-%m-%d}" + ("" if pd.isna(row.end_date) else
                                                                    f" to {row.end_date:%Y-%m-%d}")
              for row in periods.itertuples()}
    ongoing = [int(i) for i in periods.loc[periods["end_date"].isna(), "period_id"]] if len(periods) else []
    if ongoing:
        with st.expander("Change dose or stop", icon=":material/tune:", key="dose_open"):
            picker = form_scope("treatments", "ongoing", patient=patient_id)
            chosen = choice_box("Ongoing period", {i: period_names[i] for i in ongoing}, key=picker.key("period"))
            current = periods[periods["period_id"] == chosen].iloc[0]
            dose_labels = Labels({"dose": f"Dose ({current['dose_unit']})", "change_date": "From",
                                  "start_date": "From", "id": "Ongoing period"}, audit_reason="Reason (required)")
            scope = form_scope("treatments", "change_dose", patient=patient_id, record=chosen, version=version,
                               what="This period")
            with st.form(scope.key("form")):
                st.markdown("**Change dose** — ends this period the day before and opens the new dose, in one step.")
                cols = st.columns([1, 1, 2])
                new_dose = cols[0].number_input(f"Dose ({current['dose_unit']})", value=None, step=None, format="%g",
                                                key=scope.key("dose"), help="The new dose, taken from the day in From")
                when_text = date_field("From", key=scope.key("date"), value=date.today(), container=cols[1])
                why = cols[2].text_input("Reason (required)", key=scope.key("reason"),
                                         placeholder="e.g. partial response, dose increased")
                if st.form_submit_button("Change dose", type="primary", key=scope.submit_key) and not scope.stale:
                    try:
                        if new_dose is None:
                            raise MissingValue("enter the new dose", field="dose")
                        when = dates(change_date=(when_text, True))["change_date"]
                    except SkintrackError as error:
                        show_error(error, labels=dose_labels)
                    else:
                        if dose_confirmed(scope, drug=current["drug"], dose=new_dose, unit=current["dose_unit"],
                                          label=dose_labels.fields["dose"]):
                            write_and_rerun(change_dose, labels=dose_labels, scope=scope,
                                            done=f"{as_text(current['drug'])}: {current['dose']:g} → {new_dose:g} "
                                                 f"{as_text(current['dose_unit'])} from {when.isoformat()}.",
                                            period_id=chosen, expected_version=int(current["version"]),
                                            change_date=when, dose=new_dose, reason=why)
            stop_labels = Labels({"end_date": "Last day taken", "id": "Ongoing period"}, audit_reason="Reason")
            scope = form_scope("treatments", "stop", patient=patient_id, record=chosen, version=version,
                               what="This period")
            with st.form(scope.key("form")):
                st.markdown("**Stop**")
                cols = st.columns([1, 3])
                stop_text = date_field("Last day taken", key=scope.key("date"), value=date.today(), container=cols[0])
                stop_why = cols[1].text_input("Reason", key=scope.key("reason"), placeholder="e.g. adverse event")
                if st.form_submit_button("Stop drug", key=scope.submit_key) and not scope.stale:
                    try:
                        stop_day = dates(end_date=(stop_text, True))["end_date"]
                    except SkintrackError as error:
                        show_error(error, labels=stop_labels)
                    else:
                        write_and_rerun(stop_medication, labels=stop_labels, scope=scope,
                                        done=f"{as_text(current['drug'])} stopped on {stop_day.isoformat()}.",
                                        period_id=chosen, expected_version=int(current["version"]),
                                        end_date=stop_day, reason=stop_why)
    if len(periods):
        with st.expander("Correct or delete a period", icon=":material/edit:", key="fix_open"):
            picker = form_scope("treatments", "any_period", patient=patient_id)
            target = choice_box("Period", period_names, key=picker.key("period"))
            row = periods[periods["period_id"] == target].iloc[0]
            scope = form_scope("treatments", "correct", patient=patient_id, record=target, version=version,
                               what="This period")
            with st.form(scope.key("form")):
                cols = st.columns([2, 1, 1])
                fix = {"patient_id": patient_id, "drug": cols[0].text_input("Drug", value=row["drug"],
                                                                             key=scope.key("drug"))}
                fix["dose"] = cols[1].number_input("Dose", value=float(row["dose"]), step=None, format="%g",
                                                   key=scope.key("dose"))
                units = list(DOSE_UNITS)
                fix["dose_unit"] = cols[2].selectbox("Unit", units, key=scope.key("unit"), index=units.index(
                    row["dose_unit"]) if row["dose_unit"] in units else 0)
                cols = st.columns(2)
                fix["frequency"] = cols[0].text_input("Frequency", value=row["frequency"], key=scope.key("frequency"))
                routes = list(ROUTES)
                fix["route"] = cols[1].selectbox("Route", routes, key=scope.key("route"), index=routes.index(
                    row["route"]) if row["route"] in routes else 0)
                cols = st.columns([1, 1, 2])
                start_text = date_field("Start", key=scope.key("start"), value=shown(row["start_date"]),
                                        container=cols[0])
                end_text = date_field("Stop", key=scope.key("end"), value=shown(row["end_date"]), container=cols[1],
                                      help="Leave empty while the drug is taken (YYYY-MM-DD or DD.MM.YYYY).")
                fix["reason"] = cols[2].text_input("Reason / indication", value=row["reason"],
                                                   key=scope.key("indication"))
                why = st.text_input("Why is this corrected? (required)", key=scope.key("why"))
                if st.form_submit_button("Save correction", type="primary", key=scope.submit_key) and not scope.stale:
                    fix["drug"] = fix["drug"].strip().lower()
                    try:
                        fix.update(dates(start_date=(start_text, True), end_date=(end_text, False)))
                    except SkintrackError as error:
                        show_error(error, labels=CORRECT_LABELS)
                    else:
                        if dose_confirmed(scope, drug=fix["drug"], dose=fix["dose"], unit=fix["dose_unit"]):
                            write_and_rerun(update_medication, done="Period corrected.", labels=CORRECT_LABELS,
                                            scope=scope, period_id=target, expected_version=int(row["version"]),
                                            data=fix, reason=why)
            st.divider()
            scope = form_scope("treatments", "delete_period", patient=patient_id, record=target, version=version,
                               what="This period")
            why = st.text_input("Reason for deleting (required)", key=scope.key("reason"))
            sure = st.checkbox("Yes, delete this period (an administrator can restore it)", key=scope.key("sure"))
            if st.button("Delete period", key=scope.submit_key, disabled=not sure):
                write_and_rerun(delete_medication, done="Period deleted.", labels=DELETE_PERIOD_LABELS, scope=scope,
                                period_id=target, expected_version=int(row["version"]), reason=why)

# --- events --------------------------------------------------------------------------------------------
with events_tab:
    if events.empty:
        st.info("No treatment events recorded. Record steroid injections (with the injected sites), procedures, "
                "gadolinium exposure or adverse events below; they appear on the chart.")
    else:
        table = events.assign(kind_text=events["kind"].map(kind_label), sites_text=events["sites"].map(sites_display))
        st.dataframe(table[["date", "kind_text", "agent", "dose", "dose_unit", "sites_text", "term", "description",
                            "grade", "serious", "suspected_drug", "relatedness", "action_taken", "outcome",
                            "end_date"]], hide_index=True, key="treatments_events", column_config={
            "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"), "kind_text": "Event",
            "agent": "Agent", "dose": st.column_config.NumberColumn("Dose", format="%g"), "dose_unit": "Unit",
            "sites_text": "Injected sites", "term": "Term (CTCAE)", "description": "Description",
            "grade": "CTCAE grade", "serious": "Serious", "suspected_drug": "Suspected drug",
            "relatedness": "Relatedness", "action_taken": "Action taken", "outcome": "Outcome",
            "end_date": st.column_config.DateColumn("Resolved", format="YYYY-MM-DD")})

    kinds = list(EVENT_KINDS)
    editing = None
    picker = form_scope("treatments", "choose_event", patient=patient_id)
    if len(events):
        event_labels = {int(r.event_id): f"{r.date:%Y-%m-%d} {kind_label(r.kind)} "
                                         f"{r.term or r.agent or r.description}".strip()
                        for r in events.itertuples()}
        editing = choice_box("Event to correct or delete", {None: "— new event —", **event_labels},
                             key=picker.key("event"))
    base = events[events["event_id"] == editing].iloc[0].to_dict() if editing is not None else {}

    scope = form_scope("treatments", "event", patient=patient_id, record=editing if editing is not None else "new",
                       version=version if editing is not None else None, what="This event")
    st.markdown("**Correct the event**" if editing is not None else "**Record a treatment event**")
    kind = st.selectbox("Event kind", kinds, format_func=EVENT_KINDS.get, key=scope.key("kind"),
                        index=kinds.index(base["kind"]) if base else 0)
    description_label = {"adverse_event": "Details (free text)"}.get(kind, "Description")
    event_labels_on_form = Labels(
        {"date": "Onset" if kind == "adverse_event" else "Date", "agent": "Agent", "dose": "Dose", "dose_unit": "Unit",
         "sites": "Injected sites", "description": description_label, "grade": "CTCAE grade", "serious": "Serious",
         "end_date": "Resolved on", "kind": "Event kind", "id": "Event to correct or delete",
         "term": "Term (CTCAE v5.0)", "suspected_drug": "Suspected drug", "relatedness": "Relatedness",
         "action_taken": "Action taken", "outcome": "Outcome"},
        audit_reason="Reason for the correction (required)",
        wording={"the injected sites (site codes joined by ';')": "the injected sites: pick each one in the list"})
    with st.form(scope.key("form")):
        # An adverse event: onset and term, then the grade on a row of its own width (at 1024 px a quarter row
        # clipped "4 life-threatening" to "4 life-th"); two choices per row below, for the same reason.
        cols = st.columns([1, 3]) if kind == "adverse_event" else st.columns([1, 2, 1, 1])
        day_text = date_field("Onset" if kind == "adverse_event" else "Date", key=scope.key("date"),
                              value=shown(base.get("date")) or date.today(), container=cols[0])
        values: dict = {"patient_id": patient_id, "kind": kind}
        if kind in ("steroid_injection", "gadolinium_exposure"):
            values["agent"] = cols[1].text_input("Agent", value=base.get("agent", ""), key=scope.key("agent"),
                                                 placeholder="e.g. triamcinolone acetonide" if kind ==
                                                 "steroid_injection" else "e.g. gadodiamide")
            values["dose"] = cols[2].number_input("Dose", value=base.get("dose") if base and
                                                  pd.notna(base.get("dose")) else None, step=None, format="%g",
                                                  key=scope.key("dose"))
            units = list(DOSE_UNITS)
            values["dose_unit"] = cols[3].selectbox("Unit", units, key=scope.key("unit"),
                                                    index=units.index(base["dose_unit"]) if base.get("dose_unit")
                                                    in units else 0)
        if kind == "steroid_injection":
            chosen_sites = [c for c in str(base.get("sites") or "").split(";") if c]
            picked = st.multiselect("Injected sites", list(SITE_CODES), default=chosen_sites,
                                    format_func=lambda c: SITES_BY_CODE[c].display, key=scope.key("sites"),
                                    placeholder="Pick each injected mRSS site (type to search)")
            values["sites"] = ";".join(picked)
        end_text = ""
        if kind == "adverse_event":
            terms = list(CTCAE_TERM_NAMES)
            values["term"] = cols[1].selectbox("Term (CTCAE v5.0)", terms, key=scope.key("term"),
                                               index=terms.index(base["term"]) if base.get("term") in terms
                                               else None, placeholder="Type to search the CTCAE terms")
            grades = list(CTCAE_GRADES)
            cols = st.columns([1.4, 0.6, 2], vertical_alignment="center")
            values["grade"] = cols[0].selectbox("CTCAE grade", grades, key=scope.key("grade"),
                                                format_func=lambda g: f"{g} {CTCAE_GRADES[g]}",
                                                index=grades.index(int(base["grade"])) if base and
                                                pd.notna(base.get("grade")) else 0)
            values["serious"] = cols[1].checkbox("Serious", value=bool(base.get("serious")) if base else False,
                                                 key=scope.key("serious"))
            drugs = sorted(set(periods["drug"])) if len(periods) else []
            values["suspected_drug"] = cols[2].selectbox(
                "Suspected drug", ["", *drugs], key=scope.key("suspected_drug"),
                index=([""] + drugs).index(base["suspected_drug"]) if base.get("suspected_drug") in drugs else 0,
                format_func=lambda d: d or "none", help="One of this patient's medications, or none")
            related, action = st.columns(2)
            outcome, resolved = st.columns([2, 1])
            for column, (field, label, choices) in zip((related, action, outcome), (
                    ("relatedness", "Relatedness", RELATEDNESS), ("action_taken", "Action taken", ACTIONS_TAKEN),
                    ("outcome", "Outcome", AE_OUTCOMES)), strict=True):
                options = ["", *choices]
                values[field] = column.selectbox(label, options, key=scope.key(field),
                                                 index=options.index(base.get(field) or ""),
                                                 format_func=lambda c: c or "not recorded")
            end_text = date_field("Resolved on", key=scope.key("end"), value=shown(base.get("end_date")),
                                  container=resolved,
                                  help="Leave empty while the event is ongoing (YYYY-MM-DD or DD.MM.YYYY).")
            values["description"] = st.text_input("Details (free text)", value=base.get("description", ""),
                                                       key=scope.key("description"))
        elif kind != "steroid_injection":
            if kind in ORGAN_EVENT_HELP:
                st.caption(f"{EVENT_KINDS[kind]}: {ORGAN_EVENT_HELP[kind]} (ACR CRISS step 1).")
            values["description"] = st.text_input("Description", value=base.get("description", ""),
                                                  key=scope.key("description"))
        why = ""
        if editing is not None:
            why = st.text_input("Reason for the correction (required)", key=scope.key("why"))
        label = "Save correction" if editing is not None else f"Record {EVENT_KINDS[kind].lower()}"
        if st.form_submit_button(label, type="primary", key=scope.submit_key) and not scope.stale:
            try:
                values.update(dates(date=(day_text, True), end_date=(end_text, False)))
            except SkintrackError as error:
                show_error(error, labels=event_labels_on_form)
            else:
                if editing is None:
                    write_and_rerun(record_event, scope=scope, done=f"{EVENT_KINDS[kind]} recorded.",
                                    labels=event_labels_on_form, data=values)
                else:
                    write_and_rerun(update_event, done="Event corrected.", labels=event_labels_on_form, scope=scope,
                                    event_id=editing, expected_version=int(base["version"]),
                                    data=values, reason=why)
    if editing is not None:
        scope = form_scope("treatments", "delete_event", patient=patient_id, record=editing, version=version,
                           what="This event")
        why = st.text_input("Reason for deleting (required)", key=scope.key("reason"))
        sure = st.checkbox("Yes, delete this event (an administrator can restore it)", key=scope.key("sure"))
        if st.button("Delete event", key=scope.submit_key, disabled=not sure):
            write_and_rerun(delete_event, done="Event deleted.", scope=scope,
                            labels=Labels({"id": "Event"}, audit_reason="Reason for deleting (required)"),
                            event_id=editing, expected_version=int(base["version"]), reason=why)
