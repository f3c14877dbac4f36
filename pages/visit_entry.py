"""Visit entry (PRODUCT.md screen 3): the 17 mRSS sites laid out like a body, scored from the keyboard (a digit per
site) or by clicking, the previous visit's score beside each, a live total, a total-only mode for historical
totals, the measures of the catalogue, warnings before saving and one Save. A saved visit opens for correction
(with a reason); changing its date or rater is a correction of that visit, never a new one.

The form belongs to one visit (ui/forms.py): another patient or another visit gives a fresh form filled from the
database, and a correction submitted after another write to the patient is refused."""

from datetime import date

import pandas as pd
import streamlit as st

from analysis.entry_checks import (
    Previous,
    entry_warnings,
    form_values,
    live_total,
    measures_to_save,
    nothing_entered,
    out_of_range,
    previous_assessment,
    previous_measures,
    same_assessment,
)
from db.audit import registry_version
from db.engine import write_session
from db.measures import load_measurement_rows
from db.patients import get_patient, patient_version
from db.raters import clinic_raters
from db.visits import VisitMeasure, load_assessment_rows, save_visit
from models.catalog import MEASURES_BY_CODE, MRSS_MAX, SITE_CODES, SITES_BY_CODE
from models.errors import ImplausibleValue, MissingValue, SkintrackError, combine
from ui.dates import DateChecks, date_field, parse_date
from ui.forms import form_scope, start_afresh
from ui.guard import allowed, require
from ui.messages import Labels, as_text, flash, show_error, title
from ui.patient_picker import pick_patient
from ui.score_grid import SCORE_HELP, grid_scores, score_grid, timed
from ui.state import actor, database_key, get_engine
from ui.widgets import YES_NO, choice_box, keep_values, measure_grid

LABELS = Labels({"visit_date": "Visit date", "date": "Visit date", "rater": "Rater", "notes": "Notes (optional)",
                 "total": f"Total mRSS (0–{MRSS_MAX})", "sites": "Skin score (mRSS)", "patient_id": "Patient",
                 "id": "Visit", **{code: SITES_BY_CODE[code].display for code in SITE_CODES}},
                audit_reason="Reason for the correction (required)")
SESSION_RATER = "entry_rater"  # the rater chosen last in this session: the next new visit starts with it
OPEN_VISIT = "entry_open"  # a visit to open on the next run (after a save, or a date and rater already scored)


@st.cache_data(max_entries=8, show_spinner=False)
def raters_of_the_clinic(database: str, version: int) -> list[str]:
    return clinic_raters(get_engine())


def visit_name(row) -> str:
    """'2024-03-01 · Dr Rivera · mRSS 27' (or 'incomplete'): date, rater, total, complete or not."""
    total = "incomplete" if row.incomplete or pd.isna(row.total) else f"mRSS {row.total:g}"
    return f"{row.visit_date:%Y-%m-%d} · {row.rater or 'no rater'} · {total}"


def measure_text(code: str, value: float) -> str:
    """'6 cm', or 'yes' / 'no' for a yes/no measure."""
    measure = MEASURES_BY_CODE[code]
    if measure.kind == "yes_no":
        return YES_NO.get(int(value), f"{value:g}").lower()
    return f"{value:g} {measure.unit}"


@st.fragment
@timed("score panel")
def score_panel(grid_key: str, initial: dict, previous: Previous | None, rater: str) -> None:
    """The body grid with the live total and the warnings: a score change reruns only this."""
    warnings = entry_warnings(grid_scores(grid_key), rater=rater, previous=previous)
    flagged = tuple(w.field for w in warnings if w.field in SITE_CODES)
    scores = score_grid(key=grid_key, initial=initial, previous=previous.sites if previous else None,
                        flagged=flagged)
    total, scored = live_total(scores)
    with st.container(border=True):
        cols = st.columns([1.3, 3])
        delta = None
        if previous is not None and previous.total is not None and scored == len(SITE_CODES):
            delta = f"{total - previous.total:+g} since {previous.visit_date.isoformat()}"
        cols[0].metric(f"Total mRSS ({scored} of {len(SITE_CODES)} sites)", f"{total} / {MRSS_MAX}", delta=delta,
                       delta_color="inverse", help="The sum of the 17 site scores (0–51); an assessment with a "
                                                   "site missing is saved as incomplete, without a total.")
        with cols[1]:
            show_warnings(entry_warnings(scores, rater=rater, previous=previous))


def show_warnings(warnings) -> None:
    for warning in warnings:
        named = "" if warning.field in SITE_CODES else f"**{LABELS.fields.get(warning.field, 'Skin score')}**: "
        st.warning(f"{named}{as_text(warning.message)}", icon=":material/warning:")


user = require(__file__)
engine = get_engine()
title("Visit entry")
if not allowed("edit_clinical"):
    st.info("Your role can read charts but not enter visits.")
    st.stop()

patient_id = pick_patient(engine, key="entry_patient")
if not patient_id:
    st.info("Choose the patient above (or add a new one under Patients), then type a score (0–3) for each of the "
            "17 sites: the total adds up as you go.", icon=":material/person_search:")
    st.stop()

patient = get_patient(engine, patient_id) or {}
version = patient_version(engine, patient_id)
rows = load_assessment_rows(engine, patient_id)
saved_measures = load_measurement_rows(engine, patient_id)

# Which visit the form holds: a new one, or a saved one opened for correction (the patient's visits, newest first).
chooser = form_scope("visit_entry", "choose_visit", patient=patient_id)
visit_key = chooser.key("visit")
if OPEN_VISIT in st.session_state:
    st.session_state[visit_key] = st.session_state.pop(OPEN_VISIT)
newest_first = rows.sort_values(["visit_date", "rater"], ascending=[False, True], kind="stable")
choices = {"new": "New visit", **{int(row.assessment_id): visit_name(row) for row in newest_first.itertuples()}}
record = choice_box("Visit", choices, key=visit_key,
                    help="A new visit, or one of the patient's saved visits to correct it (newest first).")
existing = rows[rows["assessment_id"] == record].iloc[0].to_dict() if record != "new" else None

scope = form_scope("visit_entry", "visit", patient=patient_id, record=record,
                   version=version if existing is not None else None, what="This visit", warn_on_refresh=True)
keys = {name: scope.key(name) for name in ("date", "rater", "total_only", "total", "notes", "reason", "sites")}
if scope.key("filled") not in st.session_state:  # a fresh form: filled from the database (or blank)
    values = form_values(existing, saved_measures)
    st.session_state.update({
        keys["date"]: existing["visit_date"].date().isoformat() if existing else date.today().isoformat(),
        keys["rater"]: existing["rater"] if existing else st.session_state.get(SESSION_RATER),
        keys["total_only"]: values["entry_total_only"], keys["total"]: values["entry_total"],
        keys["notes"]: values["entry_notes"], keys["reason"]: "",
        keys["sites"]: {"scores": {code: values[f"site_{code}"] for code in SITE_CODES}},
        **{scope.key(name): value for name, value in values.items() if name.startswith("measure_")},
        scope.key("filled"): True})
# What was typed survives reruns where a widget is not drawn (the total-only switch hides the sites).
keep_values([keys[name] for name in ("date", "rater", "total_only", "total", "notes", "reason", "sites")],
            prefixes=(scope.key("measure_"),))


def remember_rater() -> None:
    if existing is None and st.session_state.get(keys["rater"]):
        st.session_state[SESSION_RATER] = st.session_state[keys["rater"]]


raters = raters_of_the_clinic(database_key(engine), registry_version(engine))
held_rater = st.session_state.get(keys["rater"])
top = st.columns([1, 1.4, 1.2], vertical_alignment="bottom")
date_text = date_field("Visit date", key=keys["date"], container=top[0])
# The clinic's raters, most recent first; then you, if you have not rated yet; or a new name, typed.
rater_options = list(dict.fromkeys(r for r in (held_rater, *raters, user.get("display_name")) if r))
rater = top[1].selectbox(
    "Rater", rater_options, key=keys["rater"], index=None, accept_new_options=True,
    placeholder="Choose, or type a new name", on_change=remember_rater,
    help="Who scored the skin: the clinic's raters, most recent first, or type a new one. Keep the same rater "
         "across visits: scores differ by up to ~5 points between raters.") or ""
rater = rater.strip()
total_only = top[2].toggle("Total only (historical total, no sites)", key=keys["total_only"])

visit_date = parse_date(date_text)
previous = previous_assessment(rows, visit_date or date.today())
typed_measure_values = [st.session_state.get(k) for k in st.session_state.keys()
                        if str(k).startswith(scope.key("measure_"))]
blank = (not any(v is not None for v in grid_scores(keys["sites"]).values())
         and st.session_state.get(keys["total"]) is None and not any(v is not None for v in typed_measure_values))
if existing is None and visit_date is not None and rater:
    match = same_assessment(rows, visit_date, rater)
    if match is not None and blank:  # nothing typed yet: open the saved visit instead of a duplicate
        st.session_state[OPEN_VISIT] = int(match["assessment_id"])
        st.rerun()

if existing is not None:
    st.info(f"The visit of {existing['visit_date']:%Y-%m-%d} by {as_text(existing['rater'] or 'no rater')} is open "
            "for correction: change what is wrong (the date and the rater too), give a reason and save. For a new "
            "visit choose *New visit* above.", icon=":material/edit:")
if previous is not None:
    st.caption(f"Previous visit {previous.visit_date.isoformat()} by {as_text(previous.rater or 'no rater')}: "
               f"mRSS {'–' if previous.total is None else f'{previous.total:g}'} · its site scores are shown as "
               "“last” beside each site.")

scores_tab, measures_tab = st.tabs(["Skin score (mRSS)", "Measures (optional)"], key="entry_tab", on_change="rerun")
with scores_tab:
    if total_only:
        st.number_input(LABELS.fields["total"], step=0.5, key=keys["total"], placeholder="e.g. 27",
                        help="A total recorded without site scores, e.g. from an old chart.")
        show_warnings(entry_warnings({}, rater=rater, previous=previous, total_only=True))
    else:
        st.caption(SCORE_HELP)
        score_panel(keys["sites"], {code: None for code in SITE_CODES}, previous, rater)
with measures_tab:
    st.caption("Optional. Sided measures have a right (R) and a left (L) value; leave blank what was not measured. "
               "Grey: the previous value.")
    typed_measures = measure_grid(previous_measures(saved_measures, visit_date or date.today()), scope=scope)

typed_total = st.session_state.get(keys["total"])
implausible = [ImplausibleValue(message.split(": ", 1)[1], field=message.split(": ", 1)[0]) for message in
               (out_of_range(code, value) for (code, _), value in typed_measures.items()) if message]
opened = (existing["visit_date"].date(), existing["rater"]) if existing is not None else None
to_save = measures_to_save(typed_measures, saved_measures, visit_date=visit_date or date.today(), rater=rater,
                           opened=opened) if visit_date is not None else []
versions = dict(zip(saved_measures["measurement_id"], saved_measures["version"], strict=True))
# A new visit whose typed measures land on values already saved for its date and rater (a measures-only save, or
# another tab meanwhile): the form never showed them, so saving replaces them only once confirmed (below).
replacing = tuple((m.code, m.side, m.measurement_id, int(versions[m.measurement_id]), m.replaces, m.value)
                  for m in to_save if existing is None and m.measurement_id is not None and m.value is not None)

with st.container(border=True):
    for problem in implausible:
        st.error(f"**{as_text(problem.field)}**: {as_text(problem.reason)} — correct it on the Measures tab.",
                 icon=":material/error:")
    if to_save:
        st.caption("Measures to save: " + ", ".join(
            f"{MEASURES_BY_CODE[m.code].label}{' ' + m.side if m.side else ''} "
            + ("cleared: deleted" if m.value is None else measure_text(m.code, m.value))
            + ("" if existing is not None or m.replaces is None or m.value is None else
               f" (replaces the saved {measure_text(m.code, m.replaces)})")
            for m in to_save))
    cols = st.columns([2, 2]) if existing is not None else [st.container()]
    notes = cols[0].text_input("Notes (optional)", key=keys["notes"])
    reason = ""
    if existing is not None:
        reason = cols[1].text_input(LABELS.audit_reason, key=keys["reason"],
                                    placeholder="e.g. forearm (L) entered as 3, was 1")
    save = st.button("Save correction" if existing is not None else "Save visit", type="primary",
                     key=scope.submit_key, icon=":material/save:")


def measurement_data(code: str, side: str, value: float, day: date) -> dict:
    return {"patient_id": patient_id, "date": day, "measure": code, "side": side, "value": value,
            "unit": MEASURES_BY_CODE[code].unit, "rater": rater}


def replacements_confirmed(day: date) -> bool:
    """False, with a warning naming each measure, the first time a new visit would replace values already saved for
    its date and rater; True when there are none, or when saved again over the same saved values (a value saved
    meanwhile by someone else asks again)."""
    seen = scope.key("replacing-seen")
    if not replacing or st.session_state.get(seen) == replacing:
        return True
    st.session_state[seen] = replacing
    for code, side, _, _, before, value in replacing:
        st.warning(f"**{MEASURES_BY_CODE[code].label}{' ' + side if side else ''}**: "
                   f"{measure_text(code, before)} is already saved for {day.isoformat()} by {as_text(rater)}; "
                   f"saving replaces it with {measure_text(code, value)}. Save again to confirm, or clear the field "
                   "to keep the saved value.", icon=":material/warning:")
    return False


def check_before_saving() -> tuple[date, str | None]:
    """The visit date and the reason nothing but measures is saved (or None); raises every problem at once."""
    checks = DateChecks(birth_year=patient.get("birth_year"))
    day = checks.read(date_text, field="visit_date")
    problems = list(checks.problems)
    if not rater:
        problems.append(MissingValue("choose who scored the skin from the list, or type a new name", field="rater"))
    problems += implausible
    refusal = nothing_entered(scores, total_only=total_only, total=typed_total)
    if refusal and not to_save:
        field, message = refusal.split(": ", 1)
        problems.append(SkintrackError(message, field=field))
    if problems:
        raise combine(problems)
    return day, refusal


if save:
    scores = dict.fromkeys(SITE_CODES) if total_only else grid_scores(keys["sites"])
    total, scored = live_total(scores)
    try:
        day, refusal = check_before_saving()
        if not replacements_confirmed(day):
            st.stop()  # nothing is written; what was typed stays on the screen
        with write_session(engine) as session:  # the assessment and its measures: all saved, or nothing
            saved = save_visit(
                session=session, patient_id=patient_id, visit_date=day, rater=rater, actor=actor(), notes=notes,
                scores=None if refusal or total_only else scores, total=typed_total if total_only and not refusal
                else None, reason=reason,
                assessment_id=int(existing["assessment_id"]) if existing is not None and not refusal else None,
                expected_version=int(existing["version"]) if existing is not None and not refusal else None,
                measures=[VisitMeasure(item.code, item.side, item.value, item.measurement_id,
                                       None if item.measurement_id is None else int(versions[item.measurement_id]))
                          for item in to_save])
        saved_id = saved.assessment.assessment_id if saved.assessment is not None else (
            int(existing["assessment_id"]) if existing is not None else None)
    except SkintrackError as error:
        show_error(error, labels=LABELS)  # what was typed stays on the screen
    else:
        what = (f"total {typed_total:g}" if total_only else
                f"mRSS {total}" if scored == len(SITE_CODES) else f"{scored} of 17 sites (incomplete)")
        if refusal:
            what = "measures only"
        extra = (f" and {len(saved.created) + len(saved.corrected)} measure values" if to_save and not refusal
                 else "") + (f"; {len(saved.deleted)} cleared measure values deleted" if saved.deleted else "")
        verb = "Corrected" if existing is not None else "Saved"
        flash("success", f"{verb}: {as_text(patient_id)}, {day.isoformat()}, {as_text(rater)} — {what}{extra}. "
                         "Choose the next patient above, or correct this visit below.")
        if existing is not None:
            start_afresh(scope)  # its own save: drawn again from the database without a "changed meanwhile"
        if saved_id is not None:
            st.session_state[OPEN_VISIT] = saved_id  # the next run shows what was saved, open for correction
        st.rerun()
