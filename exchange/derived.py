"""The derived files of an export (EXCHANGE.md, ENDPOINTS.md): their columns, column kinds and dictionary rows.

The five bundle files and visits.csv / summary.csv are declared in `exchange.spec`; this module adds
the files and columns of the endpoints wave — the CI columns of windows.csv, window_values.csv,
response.csv, activity.csv — and assembles dictionary.csv for every file an export writes. The column
lists come from `analysis/` (which computes the values), the meanings, units and allowed values from
the catalogue, so a new item or code shows in the files and the dictionary at once.
"""

from __future__ import annotations

from analysis.activity import ACTIVITY_COLUMNS, EUSTAR_AI_ITEMS, EUSTAR_AI_WEIGHTS
from analysis.criss import CRISS_ITEMS, RCRISS_THRESHOLDS, RESPONSE_COLUMNS
from analysis.windows import WINDOW_EXPORT_COLUMNS, WINDOW_VALUES_COLUMNS
from exchange.spec import BUNDLE_FILES, DATE, DERIVED_KINDS, DICTIONARY_COLUMNS, INT, NUMBER, TEXT, describe
from models.catalog import MEASURES_BY_CODE, MRSS_MAX, ORGAN_EVENT_KINDS

YES_NO = "yes, no"

WINDOWS = {"month": INT, "n": INT, "mean_change": NUMBER, "sd_change": NUMBER, "median_change": NUMBER,
           "ci_low": NUMBER, "ci_high": NUMBER, "n_improved": INT, "n_progressed": INT}
WINDOW_VALUES = {"patient_id": TEXT, "month": INT, "visit_date": DATE, "study_day": INT, "mrss": NUMBER,
                 "change": NUMBER, "change_pct": NUMBER, "improved": TEXT, "progressed": TEXT}
RESPONSE = {"patient_id": TEXT, "baseline_date": DATE, "followup_date": DATE, "step1_event": TEXT,
            **{f"d_{item}": NUMBER for item in CRISS_ITEMS}, "criss_probability": NUMBER, "criss_improved": TEXT,
            **{f"rcriss{x}": TEXT for x in RCRISS_THRESHOLDS}, "missing": TEXT}
ACTIVITY = {"patient_id": TEXT, "visit_date": DATE, "eustar_ai": NUMBER, "active": TEXT, "missing": TEXT}
assert list(WINDOWS) == WINDOW_EXPORT_COLUMNS
assert list(WINDOW_VALUES) == WINDOW_VALUES_COLUMNS
assert list(RESPONSE) == RESPONSE_COLUMNS
assert list(ACTIVITY) == ACTIVITY_COLUMNS

# summary.csv, one row per patient: the patient's centre after its patient_id, as in patients.csv, in the export of a
# registry of several centres (exporter.plan_export; a one-centre registry's summary.csv is the example's, unchanged)
SUMMARY = {"patient_id": TEXT, "centre": TEXT, **DERIVED_KINDS["summary.csv"]}

# Every file of an export in the order it is written (and of the workbook's sheets): the bundle, then the
# derived files, the dictionary last. Kinds: column -> TEXT/DATE/INT/NUMBER/YESNO (exchange.spec).
FILE_KINDS: dict[str, dict[str, str]] = {
    **{spec.name: {column: spec.kinds[column] for column in spec.columns} for spec in BUNDLE_FILES},
    "visits.csv": DERIVED_KINDS["visits.csv"],
    "summary.csv": SUMMARY,
    "windows.csv": WINDOWS,
    "window_values.csv": WINDOW_VALUES,
    "response.csv": RESPONSE,
    "activity.csv": ACTIVITY,
    "dictionary.csv": dict.fromkeys(DICTIONARY_COLUMNS, TEXT),
}
FILE_ORDER: tuple[str, ...] = tuple(FILE_KINDS)
# Files with one group of rows per patient (written chunk by chunk); windows.csv and dictionary.csv are the
# cohort's and are written once at the end.
PATIENT_FILES: tuple[str, ...] = tuple(name for name in FILE_ORDER if "patient_id" in FILE_KINDS[name])


def _measure(code: str) -> str:
    measure = MEASURES_BY_CODE[code]
    return f"{measure.label} ({code})"


def _item_unit(item: str) -> str:
    return "mRSS points" if item == "mrss" else MEASURES_BY_CODE[item].unit


def _item_label(item: str) -> str:
    return "mRSS (visit mRSS)" if item == "mrss" else _measure(item)


_RESPONSE_MONTH_NOTE = "the visit windows.csv uses at month --response-month (default 12)"

MEANINGS: dict[tuple[str, str], tuple[str, str, str]] = {
    # (file, column) -> (meaning, unit, allowed values), for the columns exchange.spec does not describe
    ("windows.csv", "ci_low"): ("lower end of the 95% confidence interval of the mean change (Student's t, "
                                "n - 1 degrees of freedom), 2 decimals; blank when n < 2", "mRSS points", ""),
    ("windows.csv", "ci_high"): ("upper end of the 95% confidence interval of the mean change (Student's t, "
                                 "n - 1 degrees of freedom), 2 decimals; blank when n < 2", "mRSS points", ""),
    ("window_values.csv", "month"): ("visit window: month after baseline, as in windows.csv", "months",
                                     "whole number"),
    ("window_values.csv", "visit_date"): ("date of the visit windows.csv used for this patient and month", "date",
                                          "YYYY-MM-DD"),
    ("window_values.csv", "study_day"): ("days from the baseline visit to this visit", "days", "whole number"),
    ("window_values.csv", "mrss"): ("visit mRSS, 2 decimals", "mRSS points", f"0-{MRSS_MAX}"),
    ("window_values.csv", "change"): ("mrss - baseline mRSS, 2 decimals", "mRSS points", ""),
    ("window_values.csv", "change_pct"): ("100 x change / baseline mRSS, 1 decimal; blank when the baseline is 0",
                                          "%", ""),
    ("window_values.csv", "improved"): ("fall of more than 5 points and at least 25% (EUSTAR)", "", YES_NO),
    ("window_values.csv", "progressed"): ("rise of more than 5 points and at least 25%", "", YES_NO),
    ("response.csv", "baseline_date"): ("date of the baseline visit (anchored with --anchor-drug)", "date",
                                        "YYYY-MM-DD"),
    ("response.csv", "followup_date"): (f"date of the follow-up visit: {_RESPONSE_MONTH_NOTE}", "date",
                                        "YYYY-MM-DD"),
    ("response.csv", "step1_event"): ("CRISS step 1: organ event kinds dated after the baseline and on or before "
                                      "the follow-up, sorted, joined by ';'; blank when none", "",
                                      "; ".join(ORGAN_EVENT_KINDS)),
    **{("response.csv", f"d_{item}"): (f"change of {_item_label(item)} from baseline to follow-up, each date's "
                                       "value the closest within +-30 days; 2 decimals", _item_unit(item), "")
       for item in CRISS_ITEMS},
    ("response.csv", "criss_probability"): ("ACR CRISS probability of improvement (Khanna 2016), 3 decimals; 0 "
                                            "after a step-1 event", "probability", "0-1"),
    ("response.csv", "criss_improved"): ("ACR CRISS improved: probability 0.60 or more", "", YES_NO),
    **{("response.csv", f"rcriss{x}"): (f"revised CRISS responder at {x}% (Khanna 2021): 3 of the 5 items "
                                        f"improved by {x}% of baseline (FVC % predicted by 5%)", "", YES_NO)
       for x in RCRISS_THRESHOLDS},
    ("response.csv", "missing"): ("why CRISS is blank: baseline (no baseline visit), followup (no follow-up "
                                  "visit), or the unknown items joined by ';'", "",
                                  "baseline; followup; " + "; ".join(CRISS_ITEMS)),
    ("activity.csv", "visit_date"): ("date of the visit (every visit with an mRSS)", "date", "YYYY-MM-DD"),
    ("activity.csv", "eustar_ai"): ("revised EUSTAR activity index (Valentini 2017): "
                                    + " + ".join(f"{EUSTAR_AI_WEIGHTS[i]:g} x {i}" for i in EUSTAR_AI_ITEMS)
                                    + ", each item's value the closest within +-30 days; 2 decimals", "points",
                                    "0-10"),
    ("activity.csv", "active"): ("active disease: eustar_ai 2.5 or more", "", YES_NO),
    ("activity.csv", "missing"): ("the items without a value within +-30 days, joined by ';'; then eustar_ai "
                                  "and active are blank", "", "; ".join(EUSTAR_AI_ITEMS)),
    ("dictionary.csv", "name_in_file"): (
        "the variable's name in this folder's datasets: the column name when it fits the format (SAS transport: 8 "
        "characters, Stata: 32, SPSS: 64), else its first N characters, or, when two names of a file would then "
        "be the same, its first N-2 characters and a two-digit number (01, 02, ...) in column order", "", ""),
}


def describe_column(file: str, column: str) -> tuple[str, str, str, str, str]:
    """The dictionary row (file, column, meaning, unit, allowed_values) of one column of any export file."""
    meaning = MEANINGS.get((file, column))
    if meaning is not None:
        return (file, column, *meaning)
    return describe(file, column)


def dictionary_rows(files: dict[str, list[str]], extra_columns: tuple[str, ...] = ()) -> list[tuple]:
    """One dictionary row per column of every file in `files` (name -> its columns, in order), then the rows of
    dictionary.csv's own columns (with `extra_columns` after the contract's five)."""
    rows = [describe_column(name, column) for name, columns in files.items() for column in columns]
    rows += [describe_column("dictionary.csv", column) for column in (*DICTIONARY_COLUMNS, *extra_columns)]
    return rows
