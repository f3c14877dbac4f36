"""The shapes of the DataFrames that flow from `db/` reads into `analysis/`, `charts/` and `exchange/`.

Every read in `db/` returns exactly these columns (in this order); every pure function downstream
may rely on them. Conventions, for all frames:
- `patient_id` is the clinic's or study's identifier (str), never the database's integer key;
- dates are pandas datetime64 (midnight, no time zone); a missing date is NaT;
- free-text columns are strings, with "" for blank (never None/NaN) — `rater` "" means unspecified;
- numbers that may be missing are float64 with NaN (site scores too: 0-3 or NaN); integers that may
  be missing (grade, birth_year) use pandas' nullable "Int64"; `serious` is the nullable "boolean".
"""

from __future__ import annotations

from models.catalog import SITE_CODES

PATIENT_COLUMNS = [
    "patient_id", "diagnosis", "sex", "birth_year", "age_at_baseline", "diagnosis_date",
    "name", "mrn", "notes",
]

# One row per rater assessment. `total` is the stored rater total: the sum of the 17 sites when all
# are scored, the recorded total of a total-only assessment, NaN when sites are missing
# (`incomplete` True). Total-only rows have all 17 sites NaN and a total.
ASSESSMENT_COLUMNS = ["patient_id", "visit_date", "rater", *SITE_CODES, "total", "incomplete"]

# Long format, one row per value. `side` is "R", "L" or "" for unsided measures.
MEASUREMENT_COLUMNS = ["patient_id", "date", "measure", "side", "value", "unit", "rater"]

# One row per period at a constant dose; `end_date` NaT while ongoing; end dates are inclusive.
MEDICATION_COLUMNS = [
    "patient_id", "drug", "dose", "dose_unit", "frequency", "route", "start_date", "end_date", "reason",
]

# One row per point event; `sites` is the ';'-joined site codes (steroid injections).
EVENT_COLUMNS = [
    "patient_id", "date", "kind", "description", "sites", "agent", "dose", "dose_unit", "grade",
    "serious", "end_date",
]

# analysis.visit_scores(): one row per patient and visit date that has an mRSS.
VISIT_COLUMNS = ["patient_id", "visit_date", "n_raters", "mrss", *SITE_CODES]
