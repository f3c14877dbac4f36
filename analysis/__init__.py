"""Pure analysis of skin scores on pandas DataFrames: every derived number of CLINICAL.md's Definitions.

No database and no Streamlit here; input frames follow `analysis.frames`.
"""

from analysis.agreement import rater_agreement, summarise_agreement
from analysis.baseline import baselines, change_from_baseline, first_drug_starts
from analysis.quality import (
    implausible_measurements,
    incomplete_assessments,
    missed_windows,
    rater_changes,
    site_jumps,
)
from analysis.response import (
    improved_flags,
    is_improved,
    is_progressed,
    progressed_flags,
    response_categories,
    response_category,
)
from analysis.scores import assessment_totals, is_incomplete, rater_total, visit_scores
from analysis.stats import mean_confidence_interval, round_half_away, student_t_quantile
from analysis.summary import (
    SUMMARY_COLUMNS,
    VISIT_EXPORT_COLUMNS,
    format_summary_for_export,
    format_visits_for_export,
    summarise_patients,
    visit_export_frame,
)
from analysis.treatment import format_dose, on_treatment
from analysis.windows import (
    DEFAULT_WINDOW_MONTHS,
    WINDOW_COLUMNS,
    WINDOW_SCREEN_COLUMNS,
    cohort_windows,
    format_windows_for_export,
    select_window_visits,
    summarise_windows,
    window_target_day,
    window_tolerance,
)

__all__ = [
    "DEFAULT_WINDOW_MONTHS",
    "SUMMARY_COLUMNS",
    "VISIT_EXPORT_COLUMNS",
    "WINDOW_COLUMNS",
    "WINDOW_SCREEN_COLUMNS",
    "assessment_totals",
    "baselines",
    "change_from_baseline",
    "cohort_windows",
    "first_drug_starts",
    "format_dose",
    "format_summary_for_export",
    "format_visits_for_export",
    "format_windows_for_export",
    "implausible_measurements",
    "improved_flags",
    "incomplete_assessments",
    "is_improved",
    "is_incomplete",
    "is_progressed",
    "mean_confidence_interval",
    "missed_windows",
    "on_treatment",
    "progressed_flags",
    "rater_agreement",
    "rater_changes",
    "rater_total",
    "response_categories",
    "response_category",
    "round_half_away",
    "select_window_visits",
    "site_jumps",
    "student_t_quantile",
    "summarise_agreement",
    "summarise_patients",
    "summarise_windows",
    "visit_export_frame",
    "visit_scores",
    "window_target_day",
    "window_tolerance",
]
