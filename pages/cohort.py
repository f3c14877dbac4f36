"""Cohort (trial coordinators): define a cohort, see change from baseline at visit windows and responders,
check data quality, and export the cohort's bundle. Numbers come from db.cohort / analysis, charts from
charts.cohort; this page only lays them out.

Centres: the engine is the signed-in account's (`ui.state.get_engine`), so every read keeps its scope; with two
or more centres in the scope the form offers a centre filter, the summary gets a by-centre table and the
data-quality panel a centre's queue. Every cached read is keyed on the scope too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import DEFAULT_RESPONSE_MONTH
from analysis.activity import activity_distribution as activity_counts
from analysis.cohort import sample_patients, waterfall_frame
from analysis.quality import missed_window_counts
from analysis.stats import round_half_away
from analysis.windows import window_target_day, window_tolerance
from charts.cohort import activity_distribution, site_response_bars, spaghetti, waterfall
from charts.endpoints import reason_words
from db.audit import registry_version
from db.cohort import (
    QUALITY_CHECKS,
    CohortFilter,
    cohort_choices,
    cohort_endpoints,
    cohort_quality,
    cohort_site_changes,
    cohort_summary,
)
from db.engine import database_url
from db.patients import count_patients
from db.scope import scope_of
from exchange.deid import must_deidentify
from exchange.exporter import DOWNLOAD_FORMATS, deferred_export
from models.catalog import DIAGNOSES, MEASURES_BY_CODE, SITES_BY_CODE
from models.errors import SkintrackError
from ui.guard import allowed, require
from ui.messages import as_text, show_error
from ui.state import actor, get_engine
from ui.vega import show_chart

MONTHS = (3, 6, 12, 24)
MAX_LINES = 300  # patients drawn in the spaghetti plot; the mean uses everyone
QUALITY_AUTO_LIMIT = 3000  # larger cohorts run the data-quality checks (several seconds) on request
NO_DRUG = "(no drug criterion)"
FIRST_VISIT = "First visit with an mRSS"
CHART_PAGE = "pages/chart.py"
CHART_AVAILABLE = (Path(__file__).resolve().parents[1] / CHART_PAGE).exists()
# The form's widgets. Streamlit forgets a widget's value when another screen is shown, so the applied
# filters are also kept under SAVED_FILTERS and given back when the coordinator returns (e.g. from a chart).
FILTER_DEFAULTS = {"cohort_centres": [], "cohort_diagnoses": [], "cohort_exposure": NO_DRUG,
                   "cohort_anchor": FIRST_VISIT, "cohort_visits_from": None, "cohort_visits_to": None,
                   "cohort_follow_up": 0}
SAVED_FILTERS = "cohort_saved_filters"

require(__file__)
engine = get_engine()
# The cache key of every read: the database, and the scope the engine reads for (two accounts of different
# centres never share a cached answer).
url = f"{database_url()}|{scope_of(engine).cache_key}"


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def load_choices(_engine, url: str, version: int) -> dict:
    return cohort_choices(_engine)


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def load_cohort(_engine, url: str, version: int, cohort: CohortFilter, months: tuple[int, ...]):
    # The bar lives inside the cached call, so a cache hit replays it as already gone.
    bar = st.progress(0.0, text="Selecting the cohort…")
    result = cohort_summary(_engine, cohort, months, progress=lambda done, text: bar.progress(done, text=text))
    bar.empty()
    return result


@st.cache_data(ttl=900, max_entries=8, show_spinner=False)
def load_quality(_engine, url: str, version: int, cohort: CohortFilter, months: tuple[int, ...]):
    bar = st.progress(0.0, text="Checking data quality…")
    result = load_cohort(_engine, url, version, cohort, months)
    quality = cohort_quality(_engine, result, progress=lambda done, text: bar.progress(done, text=text))
    bar.empty()
    return quality


@st.cache_data(ttl=900, max_entries=16, show_spinner="Reading the site scores…")
def load_site_changes(_engine, url: str, version: int, cohort: CohortFilter, months: tuple[int, ...], month: int):
    return cohort_site_changes(_engine, load_cohort(_engine, url, version, cohort, months), month)


@st.cache_data(ttl=900, max_entries=16, show_spinner="Computing CRISS and the activity index…")
def load_endpoints(_engine, url: str, version: int, cohort: CohortFilter, months: tuple[int, ...], month: int):
    return cohort_endpoints(_engine, load_cohort(_engine, url, version, cohort, months), month)


def number(value, digits: int = 1) -> str:
    """`value` to `digits` decimals, halves away from zero as in the exports (−1.25 → "−1.3"), a true minus."""
    if value is None or pd.isna(value):
        return "–"
    return f"{round_half_away(float(value), digits):.{digits}f}".replace("-", "−")


def metric_row(cells: list[tuple[str, str, str | None, str]]) -> None:
    """Metrics side by side, each (label, value, help, caption under it) as wide as its label and value, the row
    wrapping on a narrow screen: in a quarter-page column a 1024-pixel screen cut "Active disease at baseline" and
    "… at month 12" to the same "Active disease a…" and "20.0 ± 9.4" to "20.0 ±…"."""
    with st.container(horizontal=True, gap="large"):
        for label, value, help_text, caption in cells:
            with st.container(width="content", gap=None):
                st.metric(label, value, help=help_text, width="content")
                if caption:
                    st.caption(caption)


def window_days(month: int) -> str:
    if month == 0:
        return "baseline visit"
    target, tolerance = window_target_day(month), window_tolerance(month)
    return f"{target - tolerance}–{target + tolerance} (target {target})"


def table_for_screen(table: pd.DataFrame) -> pd.DataFrame:
    """The summary table as text cells a coordinator reads at a glance (numbers from analysis.cohort)."""
    def count_pct(count, pct):
        return "–" if pd.isna(count) else f"{int(count)} ({number(pct, 0)}%)" if not pd.isna(pct) else f"{int(count)}"
    return pd.DataFrame({
        "": table["row"],
        "Days from baseline": [window_days(int(m)) for m in table["month"]],
        "n": table["n"],
        "Mean (points)": [number(v) for v in table["mean"]],
        "SD": [number(v) for v in table["sd"]],
        "Median": [number(v) for v in table["median"]],
        "95% CI of the mean": [f"{number(lo)} to {number(hi)}" if not pd.isna(lo) else "–"
                               for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)],
        "Improved, n (%)": [count_pct(c, p) for c, p in zip(table["n_improved"], table["pct_improved"], strict=True)],
        "Progressed, n (%)": [count_pct(c, p) for c, p in
                              zip(table["n_progressed"], table["pct_progressed"], strict=True)],
    })


WHOLE_COHORT = "Whole cohort"
ALL_QUEUES = "Every centre"
SHORT_QUALITY_LABELS = {"incomplete": "Incomplete", "rater_changes": "Rater changes", "site_jumps": "Site jumps",
                        "missed_windows": "Missed windows", "implausible": "Implausible", "total": "Total"}
CENTRE_STATISTICS = ("Mean ± SD", "Median", "95% CI of the mean", "Improved, n (%)", "Progressed, n (%)")


NBSP = "\u00a0"  # keeps "−1.0 ± 2.3" and "(n = 41)" each on one line of a narrow cell


def centre_cell(row, statistic: str) -> str:
    """One cell of the by-centre table: `statistic` of one summary row (a window, or the baseline) of one centre."""
    if row.n == 0:
        return "–"
    n = f"(n{NBSP}={NBSP}{row.n})"
    if statistic == "Mean ± SD":
        return f"{number(row.mean)}{NBSP}±{NBSP}{number(row.sd)} {n}" if not pd.isna(row.sd) else (
            f"{number(row.mean)} {n}")
    if statistic == "Median":
        return f"{number(row.median)} {n}"
    if statistic == "95% CI of the mean":
        return f"{number(row.ci_low)}{NBSP}to{NBSP}{number(row.ci_high)}" if not pd.isna(row.ci_low) else f"– {n}"
    count, pct = (row.n_improved, row.pct_improved) if statistic.startswith("Improved") else (
        row.n_progressed, row.pct_progressed)
    return "–" if pd.isna(count) else f"{int(count)}{NBSP}of{NBSP}{row.n} ({number(pct, 0)}%)"


def table_by_centre(whole: pd.DataFrame, by_centre: pd.DataFrame, n_patients: int, statistic: str) -> pd.DataFrame:
    """The summary table per centre, one row per centre (the whole cohort first) and one column per summary row
    (baseline mRSS, change at each window): centres go down the page, so that tens of centres stay legible."""
    blocks = [(WHOLE_COHORT, n_patients, whole)] + [
        (code, int(block["patients"].iloc[0]), block) for code, block in by_centre.groupby("centre", sort=True)]
    rows = {}
    for label, patients, block in blocks:
        cells = {"Patients": f"{patients:,}"}
        for row in block.itertuples(index=False):
            cells[row.row] = centre_cell(row, statistic)
        rows[label] = cells
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Centre")


def site_names(codes: str) -> str:
    return ", ".join(SITES_BY_CODE[code].display for code in codes.split(";") if code in SITES_BY_CODE)


def open_chart(patient_id: str) -> None:
    st.session_state["patient_id"] = patient_id
    st.switch_page(CHART_PAGE)


COLUMN_LABELS = {
    "centre": "Centre", "patient_id": "Patient", "visit_date": "Visit date", "rater": "Rater",
    "n_sites_scored": "Sites scored",
    "missing_sites": "Sites not scored", "from_date": "From visit", "to_date": "To visit",
    "from_raters": "Rater(s) before", "to_raters": "Rater(s) after", "any_shared": "A rater in common",
    "site": "Site", "from_score": "Score before (0–3)", "to_score": "Score after (0–3)",
    "month": "Window (months)", "baseline_date": "Baseline visit", "window_start_date": "Window opens",
    "window_end_date": "Window closes", "last_visit_date": "Last visit", "last_study_day": "Last visit (day)",
    "date": "Date", "measure": "Measure", "side": "Side", "value": "Value", "unit": "Unit",
    "low": "Plausible from", "high": "Plausible to", "reason": "Problem",
}
DATE_COLUMNS = ("visit_date", "from_date", "to_date", "date", "baseline_date", "window_start_date",
                "window_end_date", "last_visit_date")
HIDDEN_COLUMNS = ("target_day", "window_start_day", "window_end_day")  # the window's dates say the same
MISSED_ORDER = ["patient_id", "month", "baseline_date", "window_start_date", "window_end_date", "last_visit_date",
                "last_study_day"]


def drill_down(name: str, frame: pd.DataFrame, empty: str, help_text: str, labels: dict | None = None) -> None:
    """The rows behind one count, and a way to open a listed patient's chart: pick the patient (or click a row)
    and press "Open chart". `labels` overrides COLUMN_LABELS for this table."""
    st.caption(help_text)
    if frame.empty:
        st.success(empty, icon=":material/check_circle:")
        return
    frame = frame.drop(columns=[c for c in HIDDEN_COLUMNS if c in frame.columns])
    config = {column: (st.column_config.DateColumn(label, format="YYYY-MM-DD") if column in DATE_COLUMNS
                       else label) for column, label in {**COLUMN_LABELS, **(labels or {})}.items()
              if column in frame.columns}
    chosen_key, row_key = f"cohort_dq_patient_{name}", f"cohort_dq_row_{name}"
    event = st.dataframe(frame, hide_index=True, width="stretch", height=min(36 * (len(frame) + 1), 320),
                         column_config=config, on_select="rerun", selection_mode="single-row",
                         key=f"cohort_dq_table_{name}")
    ids = list(dict.fromkeys(frame["patient_id"].astype(str)))
    rows = list(event.selection.rows) if event is not None else []
    if rows and rows[0] < len(frame) and st.session_state.get(row_key) != rows[0]:
        st.session_state[chosen_key] = str(frame["patient_id"].iloc[rows[0]])  # a newly clicked row
    st.session_state[row_key] = rows[0] if rows else None
    if st.session_state.get(chosen_key) not in ids:
        st.session_state[chosen_key] = ids[0]
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox(f"Patient ({len(ids):,} listed; or click a row)", ids, key=chosen_key)
    if right.button("Open chart", key=f"cohort_dq_open_{name}", icon=":material/monitoring:",
                    disabled=not CHART_AVAILABLE,
                    help=f"Open the patient chart of {chosen}" if CHART_AVAILABLE else
                    "The patient chart is not installed"):
        open_chart(chosen)


st.title("Cohort")
st.caption("Define a cohort, then read its change from baseline at the 3, 6, 12 and 24-month windows, its "
           "responders and its data quality, and export it for the statistician. The numbers are those of the "
           "export's summary.csv and windows.csv, computed by the same functions (definitions: CLINICAL.md).")

if count_patients(engine) == 0:
    st.info("The registry is empty, so there is no cohort to show yet. An administrator can import a bundle "
            "(Administration → Import) or load the demo registry from the command line "
            "(`python cli.py demo`); staff add patients and visits on the Patients and Visit entry screens.",
            icon=":material/info:")
    st.stop()

version = registry_version(engine)
choices = load_choices(engine, url, version)
exposures = {NO_DRUG: (None, None, None)}
for drug, doses in choices["drugs"].items():
    exposures[f"{drug}, any dose"] = (drug, None, None)
    for dose, unit in doses:
        exposures[f"{drug} at {dose:g} {unit}"] = (drug, dose, unit)
anchors = {FIRST_VISIT: None, **{f"First start of {drug}": drug for drug in choices["drugs"]}}
centre_names = choices["centres"]  # the scope's centres, code -> name
many_centres = len(centre_names) > 1


def restorable(key: str, value) -> bool:
    """Whether a saved filter value still fits the form's choices (drugs and visit dates change)."""
    if key == "cohort_exposure":
        return value in exposures
    if key == "cohort_anchor":
        return value in anchors
    if key == "cohort_diagnoses":
        return all(code in DIAGNOSES for code in value)
    if key == "cohort_centres":
        return all(code in centre_names for code in value)
    if key in ("cohort_visits_from", "cohort_visits_to") and isinstance(value, date):
        first, last = choices["first_visit"], choices["last_visit"]
        return first is not None and first <= value <= last
    return True


saved = st.session_state.get(SAVED_FILTERS, {})
for key, default in FILTER_DEFAULTS.items():
    if key not in st.session_state:
        value = saved.get(key, default)
        st.session_state[key] = value if restorable(key, value) else default

with st.form("cohort_form", border=True):
    st.markdown("**Cohort definition**")
    chosen_centres = []
    if many_centres:
        everyone = "All your centres" if not scope_of(engine).everything else "All centres"
        chosen_centres = st.multiselect(
            "Centre", list(centre_names), key="cohort_centres", placeholder=everyone,
            format_func=lambda code: f"{code} — {centre_names[code]}",
            help=f"Leave empty for every centre you see ({as_text(scope_of(engine).describe())})")
    first, second, third = st.columns(3)
    diagnoses = first.multiselect("Diagnosis", list(DIAGNOSES), key="cohort_diagnoses",
                                  format_func=lambda code: f"{code} — {DIAGNOSES[code]}",
                                  placeholder="All diagnoses", help="Leave empty for every diagnosis")
    exposure = second.selectbox("Drug exposure (ever)", list(exposures), key="cohort_exposure",
                                help="Patients with at least one medication period of this drug (at this dose), "
                                     "at any time")
    anchor = third.selectbox("Day 0 (anchor)", list(anchors), key="cohort_anchor",
                             help="First visit: the baseline is the first visit with an mRSS. A drug: day 0 is its "
                                  "first start and the baseline is the latest visit with an mRSS in the 90 days "
                                  "up to it (CLINICAL.md, Baseline).")
    fourth, fifth, sixth = st.columns(3)
    visit_help = ("Keeps the patients with at least one visit with an mRSS in this date range (both ends included); "
                  "all of their visits are then analysed. Leave empty for no limit.")
    visits_from = fourth.date_input("A visit on or after", key="cohort_visits_from", format="YYYY-MM-DD",
                                    min_value=choices["first_visit"], max_value=choices["last_visit"],
                                    help=visit_help)
    visits_to = fifth.date_input("A visit on or before", key="cohort_visits_to", format="YYYY-MM-DD",
                                 min_value=choices["first_visit"], max_value=choices["last_visit"], help=visit_help)
    follow_up = sixth.number_input("Minimum follow-up (months)", min_value=0, max_value=600, step=3,
                                   key="cohort_follow_up",
                                   help="From the baseline visit to the last visit with an mRSS, at least "
                                        "30.4375 days × months (6 months = 183 days)")
    st.form_submit_button("Apply", key="cohort_apply", icon=":material/filter_alt:", type="primary")
st.session_state[SAVED_FILTERS] = {key: st.session_state.get(key) for key in FILTER_DEFAULTS}

drug, dose, dose_unit = exposures[exposure]
try:
    cohort = CohortFilter(centres=tuple(chosen_centres), diagnoses=tuple(diagnoses), drug=drug, dose=dose,
                          dose_unit=dose_unit, visits_from=visits_from, visits_to=visits_to,
                          min_follow_up_months=int(follow_up or 0),
                          anchor_drug=anchors[anchor]).check()
    result = load_cohort(engine, url, version, cohort, MONTHS)
except SkintrackError as error:
    show_error(error, prefix="Cannot select this cohort")
    st.stop()

if result.n == 0:
    st.warning(f"No patient matches this cohort ({as_text(cohort.describe())}). Widen it: remove a diagnosis or the "
               "drug, clear the visit dates or lower the minimum follow-up.", icon=":material/filter_alt_off:")
    st.stop()

baseline_row = result.table.iloc[0]
metric_row([
    ("Patients in the cohort", f"{result.n:,}", as_text(cohort.describe()), ""),
    ("With a baseline mRSS", f"{result.n_with_baseline:,}",
     "Patients without a baseline (no visit with an mRSS, or none in the 90 days before the drug's first start) are in "
     "the cohort but not in the change figures", ""),
    ("Baseline mRSS, mean ± SD", f"{number(baseline_row['mean'])} ± {number(baseline_row['sd'])}",
     "Points, 0–51; sample SD (n − 1) over the patients with a baseline", ""),
    ("Baseline mRSS, median", number(baseline_row["median"]), "Points, 0–51", ""),
])
st.caption(f"Cohort: {as_text(cohort.describe())}.")
missing_baseline = result.n - result.n_with_baseline
if cohort.anchor_drug and missing_baseline and result.n_with_baseline:
    st.info(f"{missing_baseline:,} of the {result.n:,} patients have no baseline for day 0 = first start of "
            f"{as_text(cohort.anchor_drug)} (they never took it, or had no visit with an mRSS in the 90 days up to its "
            f"start): they count in n but not in the change figures. Choose “{as_text(cohort.anchor_drug)}, any dose” "
            "as the drug exposure to leave them out.", icon=":material/info:")

st.subheader("Change from baseline at the visit windows")
if result.n_with_baseline == 0:
    day_zero = f"first start of {as_text(cohort.anchor_drug)}" if cohort.anchor_drug else "the first visit"
    st.info(f"None of these patients has a baseline visit (day 0: {day_zero}), so there is no change to summarise. "
            "Choose “First visit with an mRSS” as day 0, or a drug these patients took.",
            icon=":material/info:")
st.table(table_for_screen(result.table).set_index(""))
st.caption("Change = visit mRSS − baseline mRSS, in points (CLINICAL.md). Days count from each patient's baseline "
           "visit, as in windows.csv: each patient contributes the visit closest to the window's target day "
           "(30.4375 × months, rounded half up) within ±45 days (3 and 6 months) or ±90 days (12 and 24 months); "
           "of two equally close visits, the earlier. SD is the sample SD (n − 1); 95% CI of the mean = "
           "mean ± t(0.975, n−1) × SD / √n. Improved: a fall of more than 5 points and at least 25% (EUSTAR, "
           "Dobrota 2016); progressed: a rise of more than 5 points and at least 25% (Wu 2019); percentages of the "
           "n with a visit in the window.")
cohort_centres = result.centre_codes
if len(cohort_centres) > 1:
    st.markdown(f"**By centre** ({len(cohort_centres)} centres)")
    statistic = st.segmented_control("Statistic per centre", CENTRE_STATISTICS, key="cohort_centre_statistic",
                                     default=CENTRE_STATISTICS[0]) or CENTRE_STATISTICS[0]
    st.table(table_by_centre(result.table, result.by_centre, result.n, statistic))
    st.caption("The same figures computed on each centre's patients alone (n: patients with a baseline, or with a "
               "visit in the window); the whole cohort first. Centres: " + "; ".join(
                   f"{code} = {as_text(centre_names.get(code, code))}" for code in cohort_centres) + ".")

st.subheader("Trajectories")
n_drawn = result.trajectory["patient_id"].nunique()
if n_drawn == 0:
    st.info("No patient of this cohort has a baseline mRSS, so there is no trajectory to draw.",
            icon=":material/show_chart:")
else:
    drawn = sample_patients(result.trajectory, MAX_LINES) if n_drawn > MAX_LINES else result.trajectory
    show_chart(spaghetti(drawn, result.mean, anchor_drug=cohort.anchor_drug, n_patients=n_drawn),
               key="cohort_spaghetti")
    st.caption(("Lines are drawn for an even spread of the patients (by patient id); " if n_drawn > MAX_LINES
                else "") + "The cohort mean is taken in 3-month bins from day 0 (one value per patient and bin; "
               "bins with 2 or more patients); the band is its 95% confidence interval, drawn where 3 or more "
               "patients contribute; the numbers along the bottom are each bin's patients (n).")

st.subheader("Responders and sites")
available = [m for m in result.months if int(result.windows.loc[result.windows["month"] == m, "n"].iloc[0]) > 0]
if not available:
    st.info("No patient has a visit in any window yet, so there is no waterfall or per-site change to show.",
            icon=":material/info:")
else:
    if st.session_state.get("cohort_window") not in available:  # first visit, or the cohort lost that window
        st.session_state["cohort_window"] = 12 if 12 in available else available[-1]
    month = st.segmented_control("Window", available, format_func=lambda m: f"{m} months",
                                 key="cohort_window") or available[0]
    st.caption("Waterfall: one bar per patient with a visit in this window, their change from baseline there, "
               "coloured by the responder definitions of CLINICAL.md. Below: which of the 17 sites moved, on "
               "average, between the same two visits.")
    show_chart(waterfall(waterfall_frame(result.window_visits, month), window=f"{month} months"),
               key="cohort_waterfall")
    sites = load_site_changes(engine, url, version, cohort, MONTHS, month)
    show_chart(site_response_bars(sites, window=f"{month} months"), key="cohort_sites")
    responsive = sites[sites["mean_change"] < 0].sort_values("mean_change").head(3)
    if len(responsive):
        st.caption("Largest falls: " + ", ".join(
            f"{SITES_BY_CODE[row.site].display} {number(row.mean_change, 2)}" for row in responsive.itertuples())
            + " (site score points, 0–3). A patient counts for a site when it is scored at both visits.")

st.subheader("Composite endpoints")
response_month = int(st.number_input(
    "CRISS follow-up (months)", min_value=1, max_value=600, value=DEFAULT_RESPONSE_MONTH, step=1,
    key="cohort_export_response_month", width=220,
    help="The follow-up visit is the one windows.csv uses at this month (±45 days up to 6 months, ±90 after); the "
         "export's response.csv uses the same month (ENDPOINTS.md)."))
endpoints = load_endpoints(engine, url, version, cohort, MONTHS, response_month)
criss, activity = endpoints.response, endpoints.activity
at_baseline, at_follow_up = activity["baseline"], activity["follow-up"]


def median_text(value) -> str:
    """A median or quartile of the index to 2 decimals, halves away from zero as in the exports."""
    return number(round_half_away(value, 2), 2)


def count_of(count: int, known: int, pct: float) -> str:
    return "–" if not known else f"{count:,} ({number(pct, 0)}%)"


day_zero = f"first start of {as_text(cohort.anchor_drug)}" if cohort.anchor_drug else "first visit with an mRSS"
st.caption(f"Baseline: {day_zero}; follow-up: the {response_month}-month window visit. The numbers are those of the "
           "export's response.csv and activity.csv (ENDPOINTS.md); percentages are of the patients computable.")
criss_n = f"n computable: {criss.n_computable:,} of {criss.n:,}"
metric_row([
    ("ACR CRISS improvers", count_of(criss.n_improved, criss.n_computable, criss.pct_improved),
     "Probability ≥ 0.60, among the patients whose CRISS is computable (an organ event in between, or all five "
     "changes known)", criss_n),
    ("Median CRISS probability", number(round_half_away(criss.median_probability, 3), 3),
     "Of the computable patients (0 for a step-1 organ event)", criss_n),
    *((f"Active disease at {label}", count_of(at.summary.n_active, at.summary.n_computable, at.summary.pct_active),
       "EUSTAR activity index ≥ 2.5, among the patients whose index is known at that visit",
       f"n computable: {at.summary.n_computable:,} of {at.n_patients:,}")
      for label, at in (("baseline", at_baseline), (f"month {response_month}", at_follow_up))),
])
left, right = st.columns(2)
with left:
    st.markdown("**Revised CRISS responders** (≥ 3 of 5 items improved by X %)")
    st.table(pd.DataFrame({
        "Threshold": [f"{x} %" for x in criss.rcriss],
        "Responders, n (%)": [count_of(yes, known, pct) for known, yes, pct in criss.rcriss.values()],
        "n computable": [f"{known:,} of {criss.n:,}" for known, _, _ in criss.rcriss.values()],
    }).set_index("Threshold"))
with right:
    st.markdown("**EUSTAR activity index** (0–10; active ≥ 2.5)")
    st.table(pd.DataFrame({
        "Visit": ["Baseline", f"Month {response_month}"],
        "Active, n (%)": [count_of(a.summary.n_active, a.summary.n_computable, a.summary.pct_active)
                          for a in (at_baseline, at_follow_up)],
        "Median (IQR)": [f"{median_text(a.summary.median)} ({median_text(a.summary.q1)}–{median_text(a.summary.q3)})"
                         if a.summary.n_computable else "–" for a in (at_baseline, at_follow_up)],
        "n computable": [f"{a.summary.n_computable:,} of {a.n_patients:,}" for a in (at_baseline, at_follow_up)],
    }).set_index("Visit"))
if at_baseline.summary.n_computable or at_follow_up.summary.n_computable:
    show_chart(activity_distribution([
        (f"{label}: {a.summary.n_computable:,} patient{'' if a.summary.n_computable == 1 else 's'} with a known index",
         activity_counts(a.summary.index["eustar_ai"]))
        for label, a in (("Baseline", at_baseline), (f"Month {response_month}", at_follow_up))]),
        key="cohort_activity_distribution")
else:
    st.info("No patient of this cohort has a known activity index at baseline or at the follow-up visit, so there is "
            "no distribution to draw. The index needs skin worsening, digital ulcers, tendon friction rubs, CRP and "
            "DLCO within ±30 days of a visit with an mRSS: record them on the Measures tab of Visit entry.",
            icon=":material/info:")
not_computable = {
    "criss": ("ACR CRISS", criss.not_computable.assign(
        reason=[reason_words(r, month=response_month) for r in criss.not_computable["reason"]])),
    "activity_baseline": ("Activity index at baseline", at_baseline.not_computable.assign(
        reason=[reason_words(r) for r in at_baseline.not_computable["reason"]])),
    "activity_follow_up": (f"Activity index at month {response_month}", at_follow_up.not_computable.assign(
        reason=[reason_words(r) for r in at_follow_up.not_computable["reason"]])),
}
for name, (label, frame) in not_computable.items():
    with st.expander(f"{label}: {len(frame):,} patient{'' if len(frame) == 1 else 's'} not computable, and why"):
        drill_down(name, frame, "Every patient of this cohort is computable.",
                   "An item with no value within ±30 days of the visit, or no such visit. Record the missing measures "
                   "on the Measures tab of Visit entry.", labels={"reason": "Why not computable"})

st.subheader("Data quality")
run_quality = result.n <= QUALITY_AUTO_LIMIT or st.session_state.get("cohort_quality_for") == cohort
if not run_quality:
    st.info(f"The data-quality checks read every site score of the {result.n:,} patients, which takes a few "
            "seconds at this size; run them when you need them.", icon=":material/fact_check:")
    if st.button("Run the data-quality checks", key="cohort_quality_run", icon=":material/fact_check:"):
        st.session_state["cohort_quality_for"] = cohort
        run_quality = True
if run_quality:
    quality = load_quality(engine, url, version, cohort, MONTHS)
    tables = {name: getattr(quality, name) for name in QUALITY_CHECKS}  # each with its centre, grouped by it
    labels = {
        "incomplete": ("Incomplete assessments",
                       "Assessments with some but not all 17 sites scored: no rater total, so no mRSS "
                       "(CLINICAL.md, Rater total)."),
        "rater_changes": ("Rater changes",
                          "Consecutive visits of a patient whose named raters differ (CLINICAL.md: the same rater "
                          "should score a patient at every visit)."),
        "site_jumps": ("Site jumps ≥ 2",
                       "A site's score moving by 2 or more (0–3 scale) between consecutive visits at which it was "
                       "scored."),
        "missed_windows": ("Missed windows", ""),  # its help counts the rows shown (below)
        "implausible": ("Implausible measures",
                        "Measurement values outside the catalogue's plausible range (CLINICAL.md, Measures), or "
                        "missing."),
    }
    if len(quality.centres) > 1:
        st.markdown("**Rows to check per centre**")
        per_centre = quality.by_centre().rename(columns=SHORT_QUALITY_LABELS).rename_axis("Centre")
        st.dataframe(per_centre, key="cohort_dq_by_centre", width="stretch",
                     height=min(36 * (len(per_centre) + 1) + 2, 440))  # 11 centres before it scrolls
        queues = [ALL_QUEUES, *quality.centres]
        if st.session_state.get("cohort_dq_centre") not in queues:  # first run, or that centre left the cohort
            st.session_state["cohort_dq_centre"] = ALL_QUEUES
        queue = st.selectbox("Queue of", queues, key="cohort_dq_centre",
                             format_func=lambda code: code if code == ALL_QUEUES else
                             f"{code} — {as_text(centre_names.get(code, code))}",
                             help="A centre's data manager works through the rows of their own centre; every table "
                                  "below lists the centre of each row, grouped by centre.")
        if queue != ALL_QUEUES:
            tables = {name: frame[frame["centre"] == queue].drop(columns="centre").reset_index(drop=True)
                      for name, frame in tables.items()}
    else:  # one centre: its column would say the same on every row
        tables = {name: frame.drop(columns="centre") for name, frame in tables.items()}
    counts = {name: len(frame) for name, frame in tables.items()}
    per_window = missed_window_counts(tables["missed_windows"], result.months)
    labels["missed_windows"] = ("Missed windows", "Patient × window pairs: followed beyond a window without a visit "
                                "with an mRSS in it (" + ", ".join(f"{m} months: {n:,}" for m, n in per_window.items())
                                + ").")
    metric_row([(label, f"{counts[name]:,}", help_text, "") for name, (label, help_text) in labels.items()])
    tabs = st.tabs([f"{label} ({counts[name]:,})" for name, (label, _) in labels.items()])
    with tabs[0]:
        missing = [site_names(codes) for codes in tables["incomplete"]["missing_sites"]]
        incomplete = tables["incomplete"].assign(missing_sites=missing)
        drill_down("incomplete", incomplete, "Every assessment of this cohort has all 17 sites scored.",
                   "Some but not all 17 sites scored: such an assessment has no total and no mRSS.")
    with tabs[1]:
        drill_down("rater_changes", tables["rater_changes"],
                   "The same rater scored every patient at consecutive visits.",
                   "The named raters differ between two consecutive visits (between-rater SD ≈ 5 points, so a change "
                   "of rater can look like a response).")
    with tabs[2]:
        jumps = tables["site_jumps"].assign(site=[SITES_BY_CODE[code].display for code in tables["site_jumps"]["site"]])
        drill_down("site_jumps", jumps, "No site moved by 2 or more between consecutive visits.",
                   "A site's score moved by 2 or more between consecutive visits at which it was scored: "
                   "worth checking for a typo.")
    with tabs[3]:
        missed = tables["missed_windows"]
        drill_down("missed_windows", missed[[c for c in ("centre", *MISSED_ORDER) if c in missed.columns]],
                   "No patient's follow-up went past a window without a visit in it.",
                   "Patients missing each window: " + " · ".join(f"{m} months {n:,}" for m, n in per_window.items())
                   + ". Listed: the patient was followed beyond the window (last visit after it closes) but has no "
                   "visit with an mRSS inside it; the window's dates count from the patient's baseline visit.")
    with tabs[4]:
        implausible = tables["implausible"].assign(measure=[
            MEASURES_BY_CODE[code].label if code in MEASURES_BY_CODE else code
            for code in tables["implausible"]["measure"]])
        drill_down("implausible", implausible, "Every measurement lies in its plausible range.",
                   "Measurement values outside the catalogue's plausible range (CLINICAL.md), or missing.")

st.subheader("Export this cohort")
may_identify = allowed("export_identified")
who = actor()  # bound now: the download runs later, outside this script run, and must be audited as this user
left, middle, right = st.columns([1.4, 1, 1], vertical_alignment="bottom")
fmt = left.selectbox("Format", list(DOWNLOAD_FORMATS), key="cohort_export_format",
                     format_func=lambda key: DOWNLOAD_FORMATS[key].label,
                     help="All hold the same files; SAS, SPSS and Stata files carry the dictionary's labels.")
middle.markdown(f"CRISS follow-up: **{response_month} months**", help="Chosen under Composite endpoints above: "
                "response.csv compares the baseline with the visit windows.csv uses at this month (ENDPOINTS.md).")
wanted = right.toggle("De-identified", value=True, key="cohort_export_deidentify", disabled=not may_identify,
                      help="Pseudonymous ids, shifted dates, no names, notes or free text (EXCHANGE.md)." + (
                          "" if may_identify else " Identified exports need the permission for identified "
                                                  "data; ask an administrator."))
deidentify = must_deidentify(wanted, may_identify)
stem = f"skintrack-cohort-{'deidentified' if deidentify else 'identified'}"
download = DOWNLOAD_FORMATS[fmt]
st.download_button(
    f"Download the cohort ({result.n:,} patients)", file_name=f"{stem}{download.suffix}", mime=download.mime,
    data=deferred_export(engine, actor=who, fmt=fmt, deidentify=deidentify, anchor_drug=cohort.anchor_drug,
                         months=MONTHS, response_month=int(response_month), patients=result.patient_ids),
    key="cohort_export", icon=":material/download:", on_click="ignore")
st.caption("The bundle of EXCHANGE.md for these patients: patients, skin scores, measurements, medications, events, "
           "plus visits.csv, summary.csv, windows.csv (the table above), window_values.csv, response.csv (ACR CRISS "
           "and revised CRISS at the follow-up month), activity.csv (EUSTAR activity index) and dictionary.csv. "
           "Every export is recorded in the audit trail with your name." + (
               "" if not deidentify else " De-identified: pseudonymous ids, dates shifted per patient, no names, "
                                         "MRNs, notes, descriptions or medication reasons."))
