"""Patient chart (PRODUCT.md screen 5): what each treatment did to the skin, total and site by site, on one
shared time axis — header, the "what changed" summary, timeline with medication lanes and events, site heat map,
per-site trajectories, measures, the visit table and downloads (PNG, SVG, PDF report)."""

from ui.guard import allowed, require

user = require(__file__)

from collections.abc import Callable  # noqa: E402  (the guard runs first)
from datetime import datetime  # noqa: E402
from functools import partial  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from analysis.activity import activity_frame  # noqa: E402
from analysis.baseline import baselines, change_from_baseline  # noqa: E402
from analysis.criss import DEFAULT_RESPONSE_MONTH, response_frame  # noqa: E402
from analysis.patient_header import patient_header  # noqa: E402
from analysis.scores import site_visit_scores, visit_scores  # noqa: E402
from analysis.stats import round_half_away  # noqa: E402
from analysis.treatment import period_labels  # noqa: E402
from analysis.what_changed import METHOD as WHAT_CHANGED_METHOD  # noqa: E402
from analysis.what_changed import sites_that_moved_most, treatment_changes  # noqa: E402
from analysis.windows import window_target_day, window_tolerance  # noqa: E402
from charts.endpoints import (  # noqa: E402
    ACTIVITY_CAPTION,
    CRISS_METHOD,
    activity_chart,
    activity_note,
    criss_card,
    step1_details,
)
from charts.event_rules import marker_numbers, prepare_annotations  # noqa: E402
from charts.export import to_png, to_svg  # noqa: E402
from charts.labels import kind_label, sites_display  # noqa: E402
from charts.patient import (  # noqa: E402
    chart_window,
    default_sites,
    first_start,
    make_time_axis,
    measure_chart,
    measure_trajectories,
    medication_lanes,
    mrss_panel,
    patient_timeline,
    recorded_measures,
    site_heatmap,
    site_trajectories,
    site_trajectory,
    sites_that_moved,
)
from charts.report import CHART_WIDTH, ReportAuthor, patient_report_pdf  # noqa: E402
from charts.site_charts import pictured_sites  # noqa: E402
from db.centres import centre_codes_by_key  # noqa: E402
from db.patients import get_patient  # noqa: E402
from exchange.exporter import audit_export  # noqa: E402
from models.catalog import ROLES, SITE_CODES, SITES_BY_CODE  # noqa: E402
from ui.chart_cache import chart_data  # noqa: E402
from ui.messages import as_text  # noqa: E402
from ui.patient_picker import pick_patient  # noqa: E402
from ui.state import actor, get_engine  # noqa: E402
from ui.vega import show_chart  # noqa: E402

EXPORT_WIDTH = 720  # plot pixels of a downloaded picture
SITES_SHOWN = 6  # preselected per-site trajectories
WINDOWS = {"visits": "Visits", "history": "Whole history", "today": "To today"}
BADGES = {"improved": ("green", ":material/trending_down:", "Improved"),
          "progressed": ("red", ":material/trending_up:", "Progressed"),
          "stable": ("gray", ":material/trending_flat:", "Stable")}
CRISS_BADGES = {"improved": ("green", ":material/check_circle:"), "not_improved": ("gray", ":material/remove:"),
                "step1": ("red", ":material/emergency:"), "not_computable": ("gray", ":material/help:"),
                "no_followup": ("gray", ":material/help:"), "no_baseline": ("gray", ":material/help:")}
CATEGORY_HELP = ("Improved: more than 5 points and at least 25 % below baseline; progressed: more than 5 points "
                 "and at least 25 % above (CLINICAL.md).")

engine = get_engine()
st.title("Patient chart")
patient_id = pick_patient(engine, key="chart_patient")
if not patient_id:
    st.info("Choose a patient above to see their skin score over time against every treatment. New here? Add "
            "patients and visits under Patients and Visit entry, or load the demo registry on first run.",
            icon=":material/person_search:")
    st.stop()

data = chart_data(patient_id)
if not data.exists:
    st.warning(f"No patient {as_text(repr(patient_id))}: they may have been deleted, or the link is wrong. Choose "
               "another patient above.", icon=":material/person_off:")
    st.stop()

assessments = data.assessments
scored = visit_scores(assessments) if len(assessments) else visit_scores(assessments.iloc[0:0])
visits = change_from_baseline(scored, baselines(scored))
# the heat map and the site trajectories also show the scored sites of incomplete assessments (no mRSS)
site_visits = site_visit_scores(assessments) if len(assessments) else scored
header = patient_header(data.patient, assessments)
changes = treatment_changes(visits, data.medications, data.events)

# --- header ----------------------------------------------------------------------------------------------
duration = f" · {header.disease_years:g} years since diagnosis" if header.disease_years is not None else ""
centre_codes = centre_codes_by_key(engine)  # a registry of several centres names the patient's
held = get_patient(engine, patient_id) if len(centre_codes) > 1 else None
centre = f" · centre {as_text(centre_codes.get(held['centre_key'], ''))}" if held else ""
st.markdown(f"**{as_text(patient_id)}**{centre} · {header.diagnosis_label}{duration} · {header.n_visits} scored "
            "visits")
with st.container(horizontal=True, vertical_alignment="center", gap="large"):
    st.metric("Baseline mRSS", "–" if header.baseline_mrss is None else f"{header.baseline_mrss:g}", width="content",
              help=f"First visit with an mRSS ({header.baseline_date})" if header.baseline_date else None)
    st.metric("Latest mRSS", "–" if header.latest_mrss is None else f"{header.latest_mrss:g}", width="content",
              delta=None if header.change is None else f"{header.change:+g}"
              + (f" ({round_half_away(header.change_pct, 0):+.0f} %)" if header.change_pct is not None else ""),
              delta_color="inverse", help=f"Visit of {header.latest_date}" if header.latest_date else None)
    if header.category:
        color, icon, text = BADGES[header.category]
        st.badge(text, color=color, icon=icon, help=CATEGORY_HELP)
    else:
        st.caption("Change from baseline appears from the second scored visit.")
if header.rater_warning:
    st.warning(as_text(header.rater_warning), icon=":material/groups:")
if visits.empty:
    st.info("No scored visit yet for this patient. Enter one under Visit entry; the chart appears here at once.",
            icon=":material/edit_note:")

summary = st.container(border=True) if changes else None  # filled once the time axis is known

# --- time axis -------------------------------------------------------------------------------------------
drugs = sorted(data.medications["drug"].unique()) if len(data.medications) else []
with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    window_choice = st.segmented_control(
        "Time window", list(WINDOWS), format_func=WINDOWS.get, key="chart_window", default="visits",
        required=True, help="Visits: from shortly before the first visit to shortly after the last visit, "
                            "treatment change or event. Whole history: every recorded date. To today: the visits' "
                            "window, up to today.") or "visits"
    modes = ["Calendar dates", "Days since a drug start"] if drugs else ["Calendar dates"]
    mode = st.segmented_control("Time axis", modes, key="chart_axis", default=modes[0], required=True) or modes[0]
    anchor_date, anchor_drug = None, None
    if mode != "Calendar dates":
        anchor_drug = st.selectbox("Day 0 = first start of", drugs, key="chart_anchor_drug", width=220)
        anchor_date = first_start(data.medications, anchor_drug)

window = chart_window(visits=site_visits, medications=data.medications, events=data.events,
                      measurements=data.measurements, window=window_choice, today=pd.Timestamp.today())
outside = [(label, frame) for label, frame in (("Before", window.before), ("After", window.after)) if len(frame)]
for label, frame in outside:
    listed = "; ".join(f"{day:%Y-%m-%d} {kind_label(kind)}" + (f" ({as_text(text)})" if text else "")
                       for day, kind, text in zip(frame["date"], frame["kind"], frame["description"], strict=True))
    st.caption(f"{label} the charted period: {listed}. Choose *Whole history* to draw it.")
time_axis, note = make_time_axis(window, axis="days" if anchor_date is not None else "date", anchor_date=anchor_date,
                                 anchor_label=anchor_drug or "")
baseline_mrss = header.baseline_mrss
frames = {"events": data.events, "changes": changes, "time_axis": time_axis}
moved = sites_that_moved_most(changes, visits, limit=SITES_SHOWN)


who = actor()  # bound now: a download is made after this run, in a server thread that knows no session


def audited(build: Callable[[], bytes], *, file_name: str, fmt: str, deidentified: bool,
            what: str) -> Callable[[], bytes]:
    """`build`, made when the button is clicked, then recorded in the audit trail as an export of this patient's
    data by the user who drew the button (exchange.exporter.audit_export; it refuses an anonymous one)."""
    def made() -> bytes:
        data = build()
        audit_export(engine, actor=who, fmt=fmt, deidentified=deidentified, patients=1, restricted=True,
                     target=file_name, options=f", patient chart {what}")
        return data
    return made


def downloads(build, name: str, key: str) -> None:
    """PNG and SVG of a chart, built, drawn and audited only when clicked."""
    stem = f"{patient_id}-{name}"
    with st.container(horizontal=True, gap="small"):
        for label, fmt, mime, icon, convert, tip in (
                ("PNG", "png", "image/png", ":material/image:", to_png, "Download this chart as a picture"),
                ("SVG", "svg", "image/svg+xml", ":material/draw:", to_svg,
                 "Download this chart as a drawing that scales without blur")):
            file_name = f"{stem}.{fmt}"
            st.download_button(label, audited(partial(lambda c: c(build()), convert), file_name=file_name, fmt=fmt,
                                              deidentified=False, what=name),
                               file_name=file_name, mime=mime, key=f"{key}_{fmt}", icon=icon, on_click="ignore",
                               help=tip)


def timeline_picture(width: int, printed: bool = False) -> dict:
    return patient_timeline(assessments, visits, data.medications, data.events, baseline_mrss=baseline_mrss,
                            changes=changes, time_axis=time_axis, width=width, note=note, printed=printed)


def heatmap_picture(width: int, printed: bool = False) -> dict:
    return site_heatmap(site_visits, data.events, changes=changes, time_axis=time_axis, width=width,
                        printed=printed)


# --- what changed: in words, and the sites that moved in a picture -------------------------------------------
if changes:
    with summary:
        st.markdown("**What changed after each treatment change**")
        numbers = marker_numbers(prepare_annotations(data.events, time_axis, changes), changes)
        st.markdown("\n".join(f"- {f'**{number}** · ' if number else ''}{as_text(change.sentence)}"
                               for number, change in zip(numbers, changes, strict=True)))
        if moved:
            show_chart(sites_that_moved(visits, pictured_sites(moved), **frames), key="chart_moved")
        st.caption(WHAT_CHANGED_METHOD)

show_chart(mrss_panel(assessments, visits, baseline_mrss=baseline_mrss, note=note, **frames), key="chart_mrss")
show_chart(medication_lanes(data.medications, **frames), key="chart_lanes")
if data.medications.empty and data.events.empty:
    st.caption("No medications or treatment events recorded: add them under Treatments to see them here.")
downloads(partial(timeline_picture, EXPORT_WIDTH), "timeline", "dl_timeline")

if not site_visits.empty:
    show_chart(site_heatmap(site_visits, **frames), key="chart_heatmap")
    downloads(partial(heatmap_picture, EXPORT_WIDTH), "sites", "dl_heatmap")

# --- composite endpoints: ACR CRISS and the EUSTAR activity index (ENDPOINTS.md) ----------------------------
st.subheader("Composite endpoints", anchor=False)
activity = activity_frame(scored, data.measurements)
if activity["eustar_ai"].notna().any():
    show_chart(activity_chart(activity, time_axis=time_axis, events=data.events, changes=changes),
               key="chart_activity")
    st.caption(" ".join(part for part in (ACTIVITY_CAPTION, activity_note(activity)) if part))
else:
    st.info("The EUSTAR activity index needs, within ±30 days of a visit with an mRSS: skin worsening, active digital "
            "ulcers, tendon friction rubs, CRP and DLCO. " + (activity_note(activity) if len(activity)
                                                              else "No visit with an mRSS yet."),
            icon=":material/monitor_heart:")

with st.container(border=True, key="chart_criss_card"):
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown("**ACR CRISS at**", width="content")
        month = int(st.number_input("Follow-up (months)", min_value=1, max_value=600, value=DEFAULT_RESPONSE_MONTH,
                                    step=1, key="chart_criss_month", width=130, label_visibility="collapsed",
                                    help="Follow-up month: the visit the visit windows use at this month (±45 days "
                                         "up to 6 months, ±90 after), against the first visit with an mRSS."))
        st.markdown("**months**", width="content")
    response = response_frame([patient_id], scored, data.measurements, data.events, month=month)
    target, tolerance = window_target_day(month), window_tolerance(month)
    card = criss_card(response.iloc[0], month, window_days=f"{target - tolerance}–{target + tolerance}")
    with st.container(horizontal=True, gap="large"):
        with st.container(width=330):
            color, icon = CRISS_BADGES[card.status]
            st.badge(card.badge, color=color, icon=icon)
            st.markdown(f"**{card.headline}**")
            if card.baseline_date:
                st.caption(f"Baseline {card.baseline_date} → follow-up {card.followup_date or '–'}")
            if card.probability != "–":
                st.metric("CRISS probability", card.probability, width="content",
                          help="Improved when 0.60 or more; 0 when an organ event decided it (step 1)")
            if card.revised:
                st.caption(card.revised)
        with st.container(width=420):
            if card.followup_date:
                st.table(card.items.set_index("Item"))
            for day, kind, description in step1_details(data.events, response.iloc[0], card.step1):
                st.warning(f"**Step 1** · {kind} on {day}" + (f": {as_text(description)}" if description else ""),
                         icon=":material/emergency:")
            if card.missing:
                st.markdown("**Missing**\n" + "\n".join(f"- {line}" for line in card.missing))
                st.caption("Record the missing measures on the Measures tab of Visit entry, on or near those "
                           "visits.")
    st.caption(CRISS_METHOD)

trend_tab, measures_tab, visits_tab, treatments_tab = st.tabs(
    ["Site trajectories", "Measures", "Visit table", "Treatments"])

with trend_tab:
    if site_visits.empty:
        st.info("Site trajectories appear once a visit with site scores is recorded.")
    else:
        preselected = [c for c in SITE_CODES if c in moved] or default_sites(data.events)[:SITES_SHOWN]
        chosen = st.multiselect("Sites", list(SITE_CODES), default=preselected, key=f"chart_sites_{patient_id}",
                                format_func=lambda code: SITES_BY_CODE[code].display,
                                help="Preselected: the sites that moved most after each treatment change (else "
                                     "the injected sites, then the sites that usually respond).")
        if chosen:
            columns = st.columns(2)
            for index, code in enumerate(chosen):
                with columns[index % 2]:
                    show_chart(site_trajectory(code, site_visits, **frames), key=f"chart_site_{code}")
            downloads(lambda: site_trajectories(site_visits, sites=chosen, width=EXPORT_WIDTH, **frames),
                      "site-trajectories", "dl_trends")

with measures_tab:
    measures = recorded_measures(data.measurements)
    if not measures:
        st.info("No measures recorded (finger-to-palm distance, oral aperture, FVC …). Add them on the Measures "
                "tab of Visit entry.")
    else:
        columns = st.columns(2)
        for index, code in enumerate(measures):
            with columns[index % 2]:
                show_chart(measure_chart(code, data.measurements, time_axis=time_axis), key=f"chart_measure_{code}")
        downloads(lambda: measure_trajectories(data.measurements, time_axis=time_axis, width=EXPORT_WIDTH),
                  "measures", "dl_measures")

with visits_tab:
    if assessments.empty:
        st.info("No assessments recorded.")
    else:
        change = visits.set_index("visit_date")[["change"]]
        table = assessments[["visit_date", "rater", *SITE_CODES, "total", "incomplete"]].join(change, on="visit_date")
        table = table.rename(columns={code: SITES_BY_CODE[code].display for code in SITE_CODES})
        st.dataframe(table, hide_index=True, key="chart_visit_table", column_config={
            "visit_date": st.column_config.DateColumn("Visit", format="YYYY-MM-DD"),
            "rater": "Rater", "total": st.column_config.NumberColumn("Rater total", format="%g"),
            "incomplete": "Incomplete",
            "change": st.column_config.NumberColumn("Visit mRSS change from baseline", format="%+g")})

with treatments_tab:
    if data.medications.empty and data.events.empty:
        st.info("No medications or events recorded. Add them under Treatments.")
    if len(data.medications):
        meds = data.medications.assign(dose_text=period_labels(data.medications))
        st.dataframe(meds[["drug", "dose_text", "route", "start_date", "end_date", "reason"]], hide_index=True,
                     key="chart_medications", column_config={
                         "drug": "Drug", "dose_text": "Dose", "route": "Route", "reason": "Reason",
                         "start_date": st.column_config.DateColumn("Start", format="YYYY-MM-DD"),
                         "end_date": st.column_config.DateColumn("Stop (blank: ongoing)", format="YYYY-MM-DD")})
    if len(data.events):
        listed = data.events.assign(kind_text=data.events["kind"].map(kind_label),
                                    sites_text=data.events["sites"].map(sites_display))
        st.dataframe(listed[["date", "kind_text", "agent", "description", "sites_text", "grade"]], hide_index=True,
                     key="chart_events", column_config={
                         "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"), "kind_text": "Event",
                         "agent": "Agent", "description": "Description", "sites_text": "Injected sites",
                         "grade": "CTCAE grade"})

# --- the report ------------------------------------------------------------------------------------------
identified = allowed("chart_review")


def report() -> bytes:
    author = ReportAuthor(name=user["display_name"], role=ROLES.get(user["role"], user["role"]).lower(),
                          when=datetime.now())
    return patient_report_pdf(
        patient=data.patient, header=header, identified=identified, author=author,
        timeline=timeline_picture(CHART_WIDTH, printed=True),
        heatmap=heatmap_picture(CHART_WIDTH, printed=True) if len(site_visits) else None,
        changes=changes, visits=visits, assessments=assessments, medications=data.medications, events=data.events)


report_name = f"{patient_id}-report{'' if identified else '-deidentified'}.pdf"
st.download_button("PDF report for the patient file" if identified else "De-identified PDF report",
                   audited(report, file_name=report_name, fmt="pdf", deidentified=not identified, what="report"),
                   file_name=report_name,
                   mime="application/pdf", key="dl_report", icon=":material/picture_as_pdf:", on_click="ignore",
                   type="primary",
                   help="Two to three A4 pages: the timeline, what changed, the site scores, treatments and visits"
                   + ("." if identified else "; without name, MRN and year of birth (those are for physicians and "
                                             "administrators)."))
