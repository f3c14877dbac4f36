"""The files of a bundle (EXCHANGE.md): their columns, keys, column kinds and the data dictionary.

Everything here derives from `models.catalog`, so a new site, measure or code appears in the
bundle's validation, its export and its dictionary at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.summary import SUMMARY_COLUMNS, VISIT_EXPORT_COLUMNS
from analysis.windows import WINDOW_COLUMNS
from models.catalog import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    AGE_CAP,
    CTCAE_GRADES,
    DIAGNOSES,
    DOSE_UNITS,
    EVENT_KINDS,
    FREQUENCY_RULE,
    MEASURES,
    MRSS_MAX,
    PATIENT_ID_RULE,
    RELATEDNESS,
    ROUTES,
    SEXES,
    SIDES,
    SITE_CODES,
    SITES_BY_CODE,
)
from models.centre import CENTRE_CODE_RULE
from models.ctcae import CTCAE_VERSION

TEXT, DATE, INT, NUMBER, YESNO = "text", "date", "int", "number", "yesno"


@dataclass(frozen=True)
class BundleFile:
    name: str
    columns: tuple[str, ...]  # in export order
    required: tuple[str, ...]  # columns that must be in the header
    key: tuple[str, ...]
    kinds: dict[str, str]  # column -> TEXT/DATE/INT/NUMBER/YESNO


PATIENTS = BundleFile(
    "patients.csv",
    ("patient_id", "centre", "diagnosis", "sex", "birth_year", "age_at_baseline", "diagnosis_date", "name", "mrn",
     "notes"),
    ("patient_id", "diagnosis"),  # centre: required by the import when the database has several centres
    ("patient_id",),
    {"patient_id": TEXT, "centre": TEXT, "diagnosis": TEXT, "sex": TEXT, "birth_year": INT, "age_at_baseline": INT,
     "diagnosis_date": DATE, "name": TEXT, "mrn": TEXT, "notes": TEXT},
)
SKIN_SCORES = BundleFile(
    "skin_scores.csv",
    ("patient_id", "visit_date", "rater", *SITE_CODES, "total"),
    ("patient_id", "visit_date"),
    ("patient_id", "visit_date", "rater"),
    {"patient_id": TEXT, "visit_date": DATE, "rater": TEXT, **{c: INT for c in SITE_CODES}, "total": NUMBER},
)
MEASUREMENTS = BundleFile(
    "measurements.csv",
    ("patient_id", "date", "measure", "side", "value", "unit", "rater"),
    ("patient_id", "date", "measure", "value"),
    ("patient_id", "date", "measure", "side", "rater"),
    {"patient_id": TEXT, "date": DATE, "measure": TEXT, "side": TEXT, "value": NUMBER, "unit": TEXT,
     "rater": TEXT},
)
MEDICATIONS = BundleFile(
    "medications.csv",
    ("patient_id", "drug", "dose", "dose_unit", "frequency", "route", "start_date", "end_date", "reason"),
    ("patient_id", "drug", "dose", "dose_unit", "frequency", "start_date"),
    ("patient_id", "drug", "start_date"),
    {"patient_id": TEXT, "drug": TEXT, "dose": NUMBER, "dose_unit": TEXT, "frequency": TEXT, "route": TEXT,
     "start_date": DATE, "end_date": DATE, "reason": TEXT},
)
EVENTS = BundleFile(
    "events.csv",
    ("patient_id", "date", "kind", "description", "sites", "agent", "dose", "dose_unit", "grade", "serious",
     "end_date", "term", "suspected_drug", "relatedness", "action_taken", "outcome"),
    ("patient_id", "date", "kind"),
    ("patient_id", "date", "kind", "sites", "agent", "description"),
    {"patient_id": TEXT, "date": DATE, "kind": TEXT, "description": TEXT, "sites": TEXT, "agent": TEXT,
     "dose": NUMBER, "dose_unit": TEXT, "grade": INT, "serious": YESNO, "end_date": DATE, "term": TEXT,
     "suspected_drug": TEXT, "relatedness": TEXT, "action_taken": TEXT, "outcome": TEXT},
)
BUNDLE_FILES: tuple[BundleFile, ...] = (PATIENTS, SKIN_SCORES, MEASUREMENTS, MEDICATIONS, EVENTS)
FILES_BY_NAME = {f.name: f for f in BUNDLE_FILES}

DERIVED_FILES = ("visits.csv", "summary.csv", "windows.csv", "window_values.csv", "response.csv", "activity.csv",
                 "dictionary.csv")
DICTIONARY_COLUMNS = ("file", "column", "meaning", "unit", "allowed_values")

DERIVED_KINDS = {
    "visits.csv": {"patient_id": TEXT, "visit_date": DATE, "study_day": INT, "n_raters": INT, "mrss": NUMBER,
                   **{c: NUMBER for c in SITE_CODES}, "change_from_baseline": NUMBER, "on_treatment": TEXT},
    "summary.csv": {"patient_id": TEXT, "diagnosis": TEXT, "anchor_date": DATE, "baseline_date": DATE,
                    "baseline_mrss": NUMBER, "latest_date": DATE, "latest_mrss": NUMBER, "change": NUMBER,
                    "change_pct": NUMBER, "n_visits": INT, "improved": TEXT, "progressed": TEXT},
    "windows.csv": {"month": INT, "n": INT, "mean_change": NUMBER, "sd_change": NUMBER, "median_change": NUMBER,
                    "n_improved": INT, "n_progressed": INT},
}
assert list(DERIVED_KINDS["visits.csv"]) == VISIT_EXPORT_COLUMNS
assert list(DERIVED_KINDS["summary.csv"]) == SUMMARY_COLUMNS
assert list(DERIVED_KINDS["windows.csv"]) == WINDOW_COLUMNS


def _codes(values) -> str:
    return ", ".join(map(str, values))


def _site_row(file: str, code: str, meaning: str) -> tuple:
    return (file, code, f"{meaning}: {SITES_BY_CODE[code].display}", "score", "0, 1, 2, 3")


_MEASURE_RANGES = "; ".join(f"{m.code}: {m.low:g}-{m.high:g} {m.unit}" for m in MEASURES)

_MEANINGS: dict[tuple[str, str], tuple[str, str, str]] = {
    # (file, column) -> (meaning, unit, allowed values); "*" applies to every file
    ("*", "patient_id"): ("the clinic's or study's identifier (S- pseudonym in de-identified bundles)", "",
                          PATIENT_ID_RULE),
    ("*", "centre"): ("the code of the centre the patient belongs to (kept in de-identified bundles: a centre is "
                      "not a person)", "", CENTRE_CODE_RULE),
    ("patients.csv", "diagnosis"): ("diagnosis", "", _codes(DIAGNOSES)),
    ("patients.csv", "sex"): ("sex", "", _codes(SEXES)),
    ("patients.csv", "birth_year"): ("year of birth", "year", "four digits, not in the future"),
    ("patients.csv", "age_at_baseline"): (f"age at the baseline visit, {AGE_CAP} for {AGE_CAP} or more "
                                          "(de-identified bundles, in place of birth_year)", "years",
                                          f"0-{AGE_CAP}"),
    ("patients.csv", "diagnosis_date"): ("date of diagnosis", "date", "YYYY-MM-DD"),
    ("patients.csv", "name"): ("name (identifying)", "", "free text"),
    ("patients.csv", "mrn"): ("medical record number (identifying)", "", "free text"),
    ("patients.csv", "notes"): ("notes (identifying)", "", "free text"),
    ("skin_scores.csv", "visit_date"): ("date of the visit", "date", "YYYY-MM-DD"),
    ("*", "rater"): ("who scored or measured (rater-N in de-identified bundles); blank = unspecified", "",
                     "free text"),
    ("skin_scores.csv", "total"): ("the rater's total: the sum of the 17 sites, blank when sites are missing, "
                                   "or the recorded total of a total-only assessment", "mRSS points",
                                   f"0-{MRSS_MAX}"),
    ("measurements.csv", "date"): ("date of the measurement", "date", "YYYY-MM-DD"),
    ("measurements.csv", "measure"): ("measure code", "", _codes(m.code for m in MEASURES)),
    ("measurements.csv", "side"): ("side of a sided measure, blank for unsided measures", "", _codes(SIDES)),
    ("measurements.csv", "value"): ("the measured value, in the catalogue unit of the measure", "see unit",
                                    _MEASURE_RANGES),
    ("measurements.csv", "unit"): ("the catalogue unit of the measure", "",
                                   "; ".join(f"{m.code}: {m.unit}" for m in MEASURES)),
    ("medications.csv", "drug"): ("generic drug name, lower case", "", "free text, lower case"),
    ("*", "dose"): ("dose", "see dose_unit", "a number greater than 0"),
    ("*", "dose_unit"): ("unit of the dose", "", _codes(DOSE_UNITS)),
    ("medications.csv", "frequency"): ("how often the dose is taken", "", FREQUENCY_RULE),
    ("medications.csv", "route"): ("route of administration", "", _codes(ROUTES)),
    ("medications.csv", "start_date"): ("first day of the period", "date", "YYYY-MM-DD"),
    ("medications.csv", "end_date"): ("last day of the period (inclusive); blank while ongoing", "date",
                                      "YYYY-MM-DD, not before start_date"),
    ("medications.csv", "reason"): ("why the period started or the dose changed", "", "free text"),
    ("events.csv", "date"): ("date of the event", "date", "YYYY-MM-DD"),
    ("events.csv", "kind"): ("kind of event", "", _codes(EVENT_KINDS)),
    ("events.csv", "description"): ("description (identifying); in de-identified bundles only a stand-in, "
                                    "event-1, event-2 ..., where events of one day differ by nothing else", "",
                                    "free text"),
    ("events.csv", "sites"): ("injected sites (steroid injections)", "", "site codes joined by ';': "
                              + _codes(SITE_CODES)),
    ("events.csv", "agent"): ("agent, e.g. triamcinolone acetonide or gadodiamide", "", "free text"),
    ("events.csv", "grade"): ("CTCAE grade (adverse events)", "grade", _codes(CTCAE_GRADES)),
    ("events.csv", "serious"): ("serious adverse event", "", "yes, no"),
    ("events.csv", "end_date"): ("resolution date (adverse events)", "date", "YYYY-MM-DD, not before date"),
    ("events.csv", "term"): (f"adverse event term, CTCAE v{CTCAE_VERSION} (adverse events; blank on events recorded "
                             "before terms were coded, whose term is then the description)", "",
                             f"a term of the CTCAE v{CTCAE_VERSION} list of the catalogue"),
    ("events.csv", "suspected_drug"): ("the drug suspected of causing the adverse event, a drug of the patient's "
                                       "medications; blank = none", "", "a drug of medications.csv"),
    ("events.csv", "relatedness"): ("relatedness of the adverse event to the suspected drug", "", _codes(RELATEDNESS)),
    ("events.csv", "action_taken"): ("action taken with the suspected drug", "", _codes(ACTIONS_TAKEN)),
    ("events.csv", "outcome"): ("outcome of the adverse event", "", _codes(AE_OUTCOMES)),
    ("visits.csv", "visit_date"): ("date of the visit", "date", "YYYY-MM-DD"),
    ("visits.csv", "study_day"): ("days since the baseline visit (negative before it); blank without a baseline",
                                  "days", "whole number"),
    ("visits.csv", "n_raters"): ("number of assessments with a total at this visit", "", "1 or more"),
    ("visits.csv", "mrss"): ("visit mRSS: mean of the rater totals, 2 decimals", "mRSS points", f"0-{MRSS_MAX}"),
    ("visits.csv", "change_from_baseline"): ("mrss - baseline mRSS, 2 decimals", "mRSS points", ""),
    ("visits.csv", "on_treatment"): ("medication periods active that day, 'drug dose unit frequency' joined by "
                                     "'; '", "", "free text"),
    ("summary.csv", "diagnosis"): ("diagnosis", "", _codes(DIAGNOSES)),
    ("summary.csv", "anchor_date"): ("first start date of the anchor drug (--anchor-drug)", "date", "YYYY-MM-DD"),
    ("summary.csv", "baseline_date"): ("date of the baseline visit", "date", "YYYY-MM-DD"),
    ("summary.csv", "baseline_mrss"): ("mRSS at baseline, 2 decimals", "mRSS points", f"0-{MRSS_MAX}"),
    ("summary.csv", "latest_date"): ("date of the last visit with an mRSS", "date", "YYYY-MM-DD"),
    ("summary.csv", "latest_mrss"): ("mRSS at the last visit, 2 decimals", "mRSS points", f"0-{MRSS_MAX}"),
    ("summary.csv", "change"): ("latest - baseline, 2 decimals", "mRSS points", ""),
    ("summary.csv", "change_pct"): ("100 x change / baseline, 1 decimal; blank when the baseline is 0", "%", ""),
    ("summary.csv", "n_visits"): ("distinct visit dates with an mRSS", "", "0 or more"),
    ("summary.csv", "improved"): ("fall of more than 5 points and at least 25% (EUSTAR)", "", "yes, no"),
    ("summary.csv", "progressed"): ("rise of more than 5 points and at least 25%", "", "yes, no"),
    ("windows.csv", "month"): ("visit window: month after baseline (target day 30.4375 x month, half up)",
                               "months", "whole number"),
    ("windows.csv", "n"): ("patients with a visit in the window (+-45 days to month 6, +-90 after)", "", ""),
    ("windows.csv", "mean_change"): ("mean change from baseline, 2 decimals", "mRSS points", ""),
    ("windows.csv", "sd_change"): ("sample SD (n - 1) of the change, 2 decimals; blank when n < 2", "mRSS points",
                                   ""),
    ("windows.csv", "median_change"): ("median change from baseline, 2 decimals", "mRSS points", ""),
    ("windows.csv", "n_improved"): ("patients improved at the window visit", "", ""),
    ("windows.csv", "n_progressed"): ("patients progressed at the window visit", "", ""),
    ("dictionary.csv", "file"): ("file the column belongs to", "", ""),
    ("dictionary.csv", "column"): ("column name", "", ""),
    ("dictionary.csv", "meaning"): ("what the column holds", "", ""),
    ("dictionary.csv", "unit"): ("unit of the values", "", ""),
    ("dictionary.csv", "allowed_values"): ("the values allowed", "", ""),
}


def describe(file: str, column: str) -> tuple[str, str, str, str, str]:
    """The dictionary row (file, column, meaning, unit, allowed_values) of one column."""
    if column in SITE_CODES:
        if file == "visits.csv":
            return (file, column, f"mean score across raters: {SITES_BY_CODE[column].display}; 2 decimals",
                    "score", "0-3")
        return _site_row(file, column, "site score")
    meaning = _MEANINGS.get((file, column)) or _MEANINGS.get(("*", column))
    if meaning is None:
        raise KeyError(f"no dictionary entry for {file}:{column}")
    return (file, column, *meaning)


def dictionary_rows(files: dict[str, list[str]]) -> list[tuple]:
    """One dictionary row per column of every file in `files` (file name -> its columns, in order)."""
    rows = [describe(name, column) for name, columns in files.items() for column in columns]
    rows += [describe("dictionary.csv", column) for column in DICTIONARY_COLUMNS]
    return rows
