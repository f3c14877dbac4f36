"""Patient chart (PRODUCT.md screen 5): what each treatment did to the skin, total and site by site, on one
shared time axis — header, timeline with medication lanes and events, site heat map, per-site trajectories,
measures, the visit table and downloads (PNG, SVG, PDF report)."""

from ui.guard import allowed, require

user = require(__file__)

from functools import partial  # noqa: E402  (the guard runs first)

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from analysis.baseline import baselines, change_from_baseline  # noqa: E402
from analysis.patient_header import patient_header  # noqa: E402
from analysis.scores import visit_scores  # noqa: E402
from analysis.treatment import period_labels  # noqa: E402
from charts.export import to_png, to_svg  # noqa: E402
from charts.labels import kind_label, sites_display  # noqa: E402
from charts.patient import (  # noqa: E402
    measure_trajectories_spec,
    patient_timeline_spec,
    site_heatmap_spec,
    site_trajectories_spec,
)
from charts.report import patient_report_pdf  # noqa: E402
from charts.site_charts import default_sites  # noqa: E402
from charts.time_axis import first_start, patient_x_domain  # noqa: E402
from models.catalog import SITE_CODES, SITES_BY_CODE  # noqa: E402
from ui.chart_cache import chart_data  # noqa: E402
from ui.patient_picker import pick_patient  # noqa: E402
from ui.state import get_engine  # noqa: E402
from ui.vega import show_chart  # noqa: E402

WIDTH = 740
EARLY_EVENT_DAYS = 365
BADGES = {"improved": ("green", ":material/trending_down:", "Improved"),
          "progressed": ("red", ":material/trending_up:", "Progressed"),
          "stable": ("gray", ":material/trending_flat:", "Stable")}

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
    st.warning(f"No patient {patient_id!r}: they may have been deleted, or the link is wrong. Choose another "
               "patient above.", icon=":material/person_off:")
    st.stop()

assessments = data.assessments
visits = visit_scores(assessments) if len(assessments) else visit_scores(assessments.iloc[0:0])
header = patient_header(data.patient, assessments)

# --- header ----------------------------------------------------------------------------------------------
cols = st.columns([2.2, 1, 1, 1.3])
duration = f" · {header.disease_years:g} years since diagnosis" if header.disease_years is not None else ""
cols[0].markdown(f"**{patient_id}** · {header.diagnosis_label}{duration}  \n{header.n_visits} scored visits")
cols[1].metric("Baseline mRSS", "–" if header.baseline_mrss is None else f"{header.baseline_mrss:g}",
               help=f"First visit with an mRSS ({header.baseline_date})" if header.baseline_date else None)
cols[2].metric("Latest mRSS", "–" if header.latest_mrss is None else f"{header.latest_mrss:g}",
               delta=None if header.change is None else f"{header.change:+g}"
               + (f" ({header.change_pct:+.0f} %)" if header.change_pct is not None else ""),
               delta_color="inverse",
               help=f"Visit of {header.latest_date}" if header.latest_date else None)
with cols[3]:
    if header.category:
        color, icon, text = BADGES[header.category]
        st.badge(text, color=color, icon=icon)
        st.caption("Improved: more than 5 points and at least 25 % below baseline; progressed: more than 5 "
                   "points and at least 25 % above (CLINICAL.md).")
    else:
        st.caption("Change from baseline appears from the second scored visit.")
if header.rater_warning:
    st.warning(header.rater_warning, icon=":material/groups:")

if visits.empty:
    st.info("No scored visit yet for this patient. Enter one under Visit entry; the chart appears here at once.",
            icon=":material/edit_note:")

# --- time axis -------------------------------------------------------------------------------------------
drugs = sorted(data.medications["drug"].unique()) if len(data.medications) else []
axis_cols = st.columns([1.4, 2, 3])
modes = ["Calendar dates", "Days since a drug start"] if drugs else ["Calendar dates"]
mode = axis_cols[0].radio("Time axis", modes, key="chart_axis", horizontal=False)
anchor_date, anchor_drug = None, None
if mode != "Calendar dates":
    anchor_drug = axis_cols[1].selectbox("Day 0 = first start of", drugs, key="chart_anchor_drug")
    anchor_date = first_start(data.medications, anchor_drug)
axis = "days" if anchor_date is not None else "date"
axis_args = {"axis": axis, "anchor_date": anchor_date, "anchor_label": f"{anchor_drug} start" if anchor_drug else ""}

# Events long before the care period (e.g. gadolinium years before NSF) would squeeze every visit into a sliver
# of the axis: they are listed instead, unless the whole history is asked for.
events = data.events
care = pd.concat([visits["visit_date"], data.medications["start_date"], data.measurements["date"]])
care_start = care.min() if care.notna().any() else None
early = events[events["date"] < care_start - pd.Timedelta(days=EARLY_EVENT_DAYS)] if care_start is not None \
    else events.iloc[0:0]
if len(early):
    whole = axis_cols[2].toggle("Whole history", key="chart_whole_history",
                                help="Include the events before the first visit and treatment on the time axis.")
    if not whole:
        events = events.drop(early.index)
        listed = "; ".join(f"{day:%Y-%m-%d} {kind_label(kind)}" + (f" ({text})" if text else "")
                           for day, kind, text in zip(early["date"], early["kind"], early["description"],
                                                      strict=True))
        st.caption(f"Before the charted period: {listed}.")
x_domain = patient_x_domain(assessments=assessments, visits=visits, medications=data.medications, events=events,
                            measurements=data.measurements, axis=axis, anchor_date=anchor_date,
                            today=pd.Timestamp.today().normalize())
axis_args["x_domain"] = x_domain
baseline_mrss = header.baseline_mrss
timeline = patient_timeline_spec(assessments, visits, data.medications, events, baseline_mrss=baseline_mrss,
                                 width=WIDTH, **axis_args)


def downloads(chart, name: str, key: str) -> None:
    """PNG and SVG of a chart, rendered only when clicked."""
    left, right, _ = st.columns([1, 1, 6])
    stem = f"{patient_id}-{name}"
    left.download_button("PNG", partial(to_png, chart), file_name=f"{stem}.png", mime="image/png",
                         key=f"{key}_png", icon=":material/image:", on_click="ignore")
    right.download_button("SVG", partial(to_svg, chart), file_name=f"{stem}.svg", mime="image/svg+xml",
                          key=f"{key}_svg", icon=":material/draw:", on_click="ignore")


st.subheader("mRSS and treatments")
show_chart(timeline, key="chart_timeline")
if data.medications.empty and data.events.empty:
    st.caption("No medications or treatment events recorded: add them under Treatments to see them here.")
downloads(timeline, "timeline", "dl_timeline")

sites_tab, trend_tab, measures_tab, visits_tab, treatments_tab = st.tabs(
    ["Sites × visits", "Site trajectories", "Measures", "Visit table", "Treatments"])

# The heat map keeps its own, visit-only axis: a column per visit stays readable when an ongoing drug stretches
# the shared axis to today.
heatmap = site_heatmap_spec(visits, events, width=WIDTH, **{k: v for k, v in axis_args.items() if k != "x_domain"}) \
    if len(visits) else None
with sites_tab:
    if heatmap is None:
        st.info("The site heat map appears once a visit with site scores is recorded.")
    else:
        st.caption("Each row is a body site (0 = normal skin … 3 = severe thickening); ▼ marks a steroid injection "
                   "into that site on that date.")
        show_chart(heatmap, key="chart_heatmap")
        downloads(heatmap, "sites", "dl_heatmap")

with trend_tab:
    if visits.empty:
        st.info("Site trajectories appear once a visit with site scores is recorded.")
    else:
        preselected = default_sites(data.events)[:6]
        chosen = st.multiselect("Sites", list(SITE_CODES), default=preselected, key="chart_sites",
                                format_func=lambda code: SITES_BY_CODE[code].display,
                                help="Injected sites are preselected, then the sites that usually respond.")
        if chosen:
            trajectories = site_trajectories_spec(visits, events, sites=chosen, width=WIDTH, **axis_args)
            show_chart(trajectories, key="chart_site_trends")
            downloads(trajectories, "site-trajectories", "dl_trends")

with measures_tab:
    if data.measurements.empty:
        st.info("No measures recorded (finger-to-palm distance, oral aperture, FVC …). Add them on the Measures "
                "tab of Visit entry.")
    else:
        measures_chart = measure_trajectories_spec(data.measurements, width=WIDTH, **axis_args)
        show_chart(measures_chart, key="chart_measures")
        downloads(measures_chart, "measures", "dl_measures")

with visits_tab:
    if assessments.empty:
        st.info("No assessments recorded.")
    else:
        with_change = change_from_baseline(visits, baselines(visits))
        change = with_change.set_index("visit_date")[["change"]]
        table = assessments[["visit_date", "rater", *SITE_CODES, "total", "incomplete"]].join(
            change, on="visit_date")
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
        events = data.events.assign(kind_text=data.events["kind"].map(kind_label),
                                    sites_text=data.events["sites"].map(sites_display))
        st.dataframe(events[["date", "kind_text", "agent", "description", "sites_text", "grade"]], hide_index=True,
                     key="chart_events", column_config={
                         "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"), "kind_text": "Event",
                         "agent": "Agent", "description": "Description", "sites_text": "Injected sites",
                         "grade": "CTCAE grade"})

if allowed("chart_review"):
    st.download_button("PDF report for the patient file", partial(
        patient_report_pdf, patient_id, header, timeline, heatmap, data.medications, data.events),
        file_name=f"{patient_id}-report.pdf", mime="application/pdf", key="dl_report",
        icon=":material/picture_as_pdf:", on_click="ignore", type="primary")
