"""Pure analysis of skin scores on pandas DataFrames: every derived number of CLINICAL.md's Definitions
and ENDPOINTS.md's composite endpoints.

No database and no Streamlit here; input frames follow `analysis.frames`.
"""

from analysis.activity import (
    ACTIVITY_COLUMNS,
    activity_frame,
    eustar_ai,
    format_activity_for_export,
    summarise_activity,
)
from analysis.baseline import baselines, change_and_percent, change_from_baseline, first_drug_starts
from analysis.criss import (
    DEFAULT_RESPONSE_MONTH,
    RESPONSE_COLUMNS,
    criss_probability,
    format_response_for_export,
    rcriss_item_improved,
    response_frame,
    step1_events,
    summarise_response,
)
from analysis.formatting import dose_label, format_number, yes_no
from analysis.measure_values import values_at
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
from analysis.stats import (
    confidence_half_width,
    describe,
    mean_confidence_interval,
    round_half_away,
    student_t_quantile,
)
from analysis.summary import (
    SUMMARY_COLUMNS,
    VISIT_EXPORT_COLUMNS,
    format_summary_for_export,
    format_visits_for_export,
    summarise_patients,
    visit_export_frame,
)
from analysis.treatment import on_treatment
from analysis.windows import (
    DEFAULT_WINDOW_MONTHS,
    WINDOW_COLUMNS,
    WINDOW_EXPORT_COLUMNS,
    WINDOW_SCREEN_COLUMNS,
    WINDOW_VALUES_COLUMNS,
    format_window_values_for_export,
    format_windows_for_export,
    parse_month,
    parse_months,
    select_window_visits,
    summarise_windows,
    window_choice,
    window_target_day,
    window_tolerance,
    window_values_frame,
)

__all__ = [
    "ACTIVITY_COLUMNS",
    "DEFAULT_RESPONSE_MONTH",
    "DEFAULT_WINDOW_MONTHS",
    "RESPONSE_COLUMNS",
    "SUMMARY_COLUMNS",
    "VISIT_EXPORT_COLUMNS",
    "WINDOW_COLUMNS",
    "WINDOW_EXPORT_COLUMNS",
    "WINDOW_SCREEN_COLUMNS",
    "WINDOW_VALUES_COLUMNS",
    "activity_frame",
    "assessment_totals",
    "baselines",
    "change_and_percent",
    "change_from_baseline",
    "confidence_half_width",
    "criss_probability",
    "describe",
    "dose_label",
    "eustar_ai",
    "first_drug_starts",
    "format_activity_for_export",
    "format_number",
    "format_response_for_export",
    "format_summary_for_export",
    "format_visits_for_export",
    "format_window_values_for_export",
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
    "parse_month",
    "parse_months",
    "progressed_flags",
    "rater_changes",
    "rater_total",
    "rcriss_item_improved",
    "response_categories",
    "response_category",
    "response_frame",
    "round_half_away",
    "select_window_visits",
    "site_jumps",
    "step1_events",
    "student_t_quantile",
    "summarise_activity",
    "summarise_patients",
    "summarise_response",
    "summarise_windows",
    "values_at",
    "visit_export_frame",
    "visit_scores",
    "window_choice",
    "window_target_day",
    "window_tolerance",
    "window_values_frame",
    "yes_no",
]
