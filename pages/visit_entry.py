"""Visit entry (PRODUCT.md screen 3): the 17 mRSS sites laid out like a body, one click per site, the previous
visit's score beside each, a live total, a total-only mode for historical totals, the measures of the catalogue,
warnings before saving and one Save. An existing (patient, date, rater) opens for correction with a reason."""

from ui.guard import allowed, require

user = require(__file__)

from datetime import date  # noqa: E402  (the guard runs first)

import streamlit as st  # noqa: E402

from analysis.entry_checks import (  # noqa: E402
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
from db.engine import write_session  # noqa: E402
from db.measures import correct_measurement, load_measurement_rows, record_measurement  # noqa: E402
from db.visits import correct_assessment, load_assessment_rows, record_assessment  # noqa: E402
from models.catalog import MEASURES_BY_CODE, MRSS_MAX, SITE_CODES  # noqa: E402
from models.errors import ImplausibleValue, SkintrackError, combine  # noqa: E402
from ui.body_layout import SCORE_HELP, body_score_grid  # noqa: E402
from ui.messages import show_error  # noqa: E402
from ui.patient_picker import pick_patient  # noqa: E402
from ui.state import actor, get_engine  # noqa: E402
from ui.widgets import keep_values, measure_grid  # noqa: E402

FORM_KEYS = ("entry_date", "entry_rater", "entry_total_only", "entry_total", "entry_notes", "entry_reason")

engine = get_engine()
st.title("Visit entry")
if not allowed("edit_clinical"):
    st.info("Your role can read charts but not enter visits.")
    st.stop()

patient_id = pick_patient(engine, key="entry_patient")
if not patient_id:
    st.info("Choose the patient above (or add a new one under Patients), then click a score for each of the 17 "
            "sites: the total adds up as you go.", icon=":material/person_search:")
    st.stop()

# What was typed survives reruns, the total-only switch and a visit to another screen; values loaded from a saved
# visit are applied here, before the widgets they fill exist (Streamlit refuses changes after).
keep_values(FORM_KEYS, prefixes=("site_", "measure_"))
st.session_state.update(st.session_state.pop("entry_pending", None) or {})

top = st.columns([1, 1.4, 1.2], vertical_alignment="bottom")
visit_date = top[0].date_input("Visit date", value=date.today(), max_value=date.today(), key="entry_date",
                               format="YYYY-MM-DD")
st.session_state.setdefault("entry_rater", user.get("display_name") or user["username"])
rater = top[1].text_input("Rater", key="entry_rater", max_chars=100,
                          help="Who scored the skin (defaults to you). Keep the same rater across visits: scores "
                               "differ by up to ~5 points between raters.").strip()
total_only = top[2].toggle("Total only (historical total, no sites)", key="entry_total_only")

rows = load_assessment_rows(engine, patient_id)
saved_measures = load_measurement_rows(engine, patient_id)
existing = same_assessment(rows, visit_date, rater)
previous = previous_assessment(rows, visit_date)

# A saved (patient, date, rater) opens for correction. Choosing another patient, or leaving a saved visit, starts
# a blank form; changing only the date or rater of a new visit keeps what was typed.
loaded_key = (patient_id, visit_date.isoformat(), rater)
loaded = st.session_state.get("entry_loaded")
if loaded is None or loaded[0] != loaded_key:
    pending = {}
    if existing is not None or loaded is None or loaded[0][0] != patient_id or loaded[1]:
        pending = {k: v for k, v in form_values(existing, saved_measures).items() if k != "entry_total_only"
                   or existing is not None}
    pending["entry_loaded"] = (loaded_key, existing is not None)
    st.session_state["entry_pending"] = pending
    st.rerun()

if st.session_state.get("entry_saved"):
    st.success(st.session_state.pop("entry_saved"), icon=":material/check_circle:")
elif existing is not None:
    st.info(f"{patient_id} was already scored on {visit_date.isoformat()} by {rater or 'an unnamed rater'}: "
            "the visit is open for correction. Change what is wrong, give a reason and save.",
            icon=":material/edit:")
if previous is not None:
    st.caption(f"Previous visit {previous.visit_date.isoformat()} by {previous.rater or 'unnamed rater'}: "
               f"mRSS {'–' if previous.total is None else f'{previous.total:g}'} · its site scores are shown as "
               "“last” beside each site.")

scores_tab, measures_tab = st.tabs(["Skin score (mRSS)", "Measures (optional)"])
with scores_tab:
    if total_only:
        st.number_input(f"Total mRSS (0–{MRSS_MAX})", min_value=0.0, max_value=float(MRSS_MAX), step=0.5,
                        value=None, key="entry_total", placeholder="e.g. 27",
                        help="A total recorded without site scores, e.g. from an old chart.")
        scores = dict.fromkeys(SITE_CODES)
    else:
        st.caption(SCORE_HELP + ". Click a score for each site; click it again to clear it.")
        scores = body_score_grid(previous.sites if previous is not None else None)
with measures_tab:
    st.caption("Optional. Sided measures have a right (R) and a left (L) value; leave blank what was not measured. "
               "Grey: the previous value.")
    typed_measures = measure_grid(previous_measures(saved_measures, visit_date))

total, scored = live_total(scores)
typed_total = st.session_state.get("entry_total")
to_save = measures_to_save(typed_measures, saved_measures, visit_date=visit_date, rater=rater)
implausible = [ImplausibleValue(message.split(": ", 1)[1], field=message.split(": ", 1)[0]) for message in
               (out_of_range(code, value) for (code, _), value in typed_measures.items()) if message]

with st.container(border=True):
    cols = st.columns([1.3, 3])
    if total_only:
        cols[0].metric("Total mRSS", "–" if typed_total is None else f"{typed_total:g}")
    else:
        delta = None
        if previous is not None and previous.total is not None and scored == len(SITE_CODES):
            delta = f"{total - previous.total:+g} since {previous.visit_date.isoformat()}"
        cols[0].metric(f"Total mRSS ({scored} of {len(SITE_CODES)} sites)", f"{total} / {MRSS_MAX}", delta=delta,
                       delta_color="inverse", help="The sum of the 17 site scores (0–51); an assessment with a "
                                                   "site missing is saved as incomplete, without a total.")
    with cols[1]:
        for warning in entry_warnings(scores, rater=rater, previous=previous, total_only=total_only):
            named = "" if warning.field in SITE_CODES else f"**{warning.field.capitalize()}**: "  # sites: named
            st.warning(f"{named}{warning.message}", icon=":material/warning:")
        for problem in implausible:
            st.error(f"**{problem.field}**: {problem.reason} — correct it on the Measures tab.",
                     icon=":material/error:")
        if to_save:
            st.caption("Measures to save: " + ", ".join(
                f"{MEASURES_BY_CODE[m.code].label}{' ' + m.side if m.side else ''} {m.value:g} "
                f"{MEASURES_BY_CODE[m.code].unit}" for m in to_save))
    notes = st.text_input("Notes (optional)", key="entry_notes")
    reason = ""
    if existing is not None:
        reason = st.text_input("Reason for the correction (required)", key="entry_reason",
                               placeholder="e.g. forearm (L) entered as 3, was 1")
    save = st.button("Save correction" if existing is not None else "Save visit", type="primary",
                     key="entry_save", icon=":material/save:")


def measurement_data(code: str, side: str, value: float) -> dict:
    return {"patient_id": patient_id, "date": visit_date, "measure": code, "side": side, "value": value,
            "unit": MEASURES_BY_CODE[code].unit, "rater": rater}


if save:
    refusal = nothing_entered(scores, total_only=total_only, total=typed_total)
    data = {"patient_id": patient_id, "visit_date": visit_date, "rater": rater, "notes": notes}
    data.update({"total": typed_total} if total_only else scores)
    try:
        if implausible:
            raise combine(implausible)
        if refusal and not to_save:
            field, message = refusal.split(": ", 1)
            raise SkintrackError(message, field=field)
        with write_session(engine) as session:  # the assessment and its measures: all saved, or nothing
            if not refusal:
                if existing is not None:
                    correct_assessment(session=session, assessment_id=int(existing["assessment_id"]),
                                       expected_version=int(existing["version"]), data=data, actor=actor(),
                                       reason=reason)
                else:
                    record_assessment(session=session, data=data, actor=actor())
            for item in to_save:
                values = measurement_data(item.code, item.side, item.value)
                if item.measurement_id is not None:
                    versions = dict(zip(saved_measures["measurement_id"], saved_measures["version"], strict=True))
                    correct_measurement(session=session, measurement_id=item.measurement_id,
                                        expected_version=int(versions[item.measurement_id]), data=values,
                                        actor=actor(), reason=reason or "entered again on the visit screen")
                else:
                    record_measurement(session=session, data=values, actor=actor())
    except SkintrackError as error:
        show_error(error)  # what was typed stays on the screen
    else:
        what = (f"total {typed_total:g}" if total_only else
                f"mRSS {total}" if scored == len(SITE_CODES) else f"{scored} of 17 sites (incomplete)")
        if refusal:
            what = "measures only"
        extra = f" and {len(to_save)} measure values" if to_save and not refusal else ""
        verb = "Corrected" if existing is not None else "Saved"
        st.session_state["entry_saved"] = (f"{verb}: {patient_id}, {visit_date.isoformat()}, "
                                           f"{rater or 'unnamed rater'} — {what}{extra}. Choose the next patient "
                                           "above, or correct this visit below.")
        st.session_state.pop("entry_loaded", None)  # the next run loads what was saved, open for correction
        st.rerun()
