"""One rule set (issue 12): the import and the per-record form path accept and refuse exactly the same rows.

For random small bundles of valid and invalid rows of every file, each row is given to the form's write function
(create_patient, record_assessment, record_measurement, start_medication, record_event), one transaction per row,
in the bundle's file order; the whole bundle is given to the importer. The rows refused must be the same, with the
same (column, reason) problems; and the database written by the form path must equal the database an import of
the accepted rows writes (compared through the export's frames).

Two differences are the contract's, not a rule's, and are left out of the bundles: rows of one file never share a
key (a bundle row equal to an earlier one is the same record for the importer, idempotence, but a second entry
for a form), and every adverse event has a term (a bundle may hold adverse events recorded before terms were
coded, models.treatment.FROM_A_BUNDLE; a form may not).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from db.engine import write_session
from db.measures import load_measurements, record_measurement
from db.patients import create_patient, load_patients
from db.treatments import load_events, load_medications, record_event, start_medication
from db.visits import load_assessments, record_assessment
from exchange import BundleRejected, import_bundle
from exchange.spec import EVENTS, FILES_BY_NAME, MEASUREMENTS, MEDICATIONS, PATIENTS, SKIN_SCORES
from models.catalog import SITE_CODES
from models.errors import SkintrackError

FUTURE = (date.today() + timedelta(days=40)).isoformat()
PATIENT_IDS = ["P1", "P2", "P3"]
TEXT = ["", "dr a", "plain words", "=sum(x)", "two\nlines", "nul\x00", "esc\x1b"]

WRITERS = {PATIENTS.name: create_patient, SKIN_SCORES.name: record_assessment,
           MEASUREMENTS.name: record_measurement, MEDICATIONS.name: start_medication, EVENTS.name: record_event}
ORDER = list(WRITERS)


def _unique_by(*columns):
    return lambda row: tuple(row[c] for c in columns)


def pick(valid, invalid=()):
    """A cell: one of `valid` nine times in ten, else one of `invalid` (so that many rows reach the rules that span
    records)."""
    if not invalid:
        return st.sampled_from(valid)
    return st.integers(0, 9).flatmap(lambda n: st.sampled_from(invalid if n == 9 else valid))


GOOD_DATES = ["2015-03-02", "2020-07-15", "2016-11-20", "2011-04-01"]  # 2011: before the birth year 2012
BAD_DATES = ["1995-06-01", FUTURE, "2020-7-15", "2018-02-30", "2016-11-20T00:00"]


@st.composite
def patient_rows(draw, ids):
    return [{"patient_id": pid, "diagnosis": draw(pick(["dcSSc", "lcSSc", "morphea"], ["bogus", ""])),
             "sex": draw(pick(["", "F", "M"], ["Q"])),
             "birth_year": draw(pick(["1960", "2012", ""], ["3000", "19x0"])),
             "diagnosis_date": draw(pick(["", "2010-05-01"], ["1950-01-01", FUTURE, "2010-5-1"])),
             "name": draw(st.sampled_from(TEXT)), "mrn": draw(st.sampled_from(["", "000123"])),
             "notes": draw(st.sampled_from(TEXT))} for pid in ids]


@st.composite
def score_row(draw, ids):
    row = {"patient_id": draw(pick(ids, ["P9"])), "visit_date": draw(pick(GOOD_DATES, BAD_DATES)),
           "rater": draw(pick(["", "dr a", "dr b"], ["dr\x00a", "dr\ta"]))}
    shape = draw(pick(["complete", "incomplete", "total"], ["bad total", "bad site", "wrong sum", "empty"]))
    sites = {c: str(draw(st.integers(0, 3))) for c in SITE_CODES}
    total = ""
    if shape == "incomplete":
        sites[draw(st.sampled_from(SITE_CODES))] = ""
    elif shape in ("total", "bad total", "empty"):
        sites = dict.fromkeys(SITE_CODES, "")
        total = {"total": draw(st.sampled_from(["12", "8.5", "0"])), "bad total": draw(st.sampled_from(
            ["52", "-1", "nan", "x"])), "empty": ""}[shape]
    elif shape == "bad site":
        sites[draw(st.sampled_from(SITE_CODES))] = draw(st.sampled_from(["4", "-1", "x", "2.5"]))
    elif shape == "wrong sum":
        total = "99" if draw(st.booleans()) else str(sum(int(v) for v in sites.values()) + 1)
    return {**row, **sites, "total": total}


@st.composite
def measurement_row(draw, ids):
    measure = draw(pick(["ftp_distance", "fvc_pct", "tendon_friction_rubs"], ["bogus"]))
    sided = measure == "ftp_distance"
    return {"patient_id": draw(pick(ids, ["P9"])), "date": draw(pick(GOOD_DATES, BAD_DATES)),
            "measure": measure, "side": draw(pick(["R", "L"] if sided else [""], ["", "R"] if sided else ["L"])),
            "value": draw(pick(["1", "4"] if measure != "fvc_pct" else ["75"], ["0.5", "200", "nan", "x", "inf"])),
            "unit": draw(pick([""], ["cm", "%"])), "rater": draw(st.sampled_from(["", "dr a"]))}


@st.composite
def medication_row(draw, ids):
    drug = draw(st.sampled_from(["imatinib", "imatinib", "methotrexate", "Imatinib"]))
    return {"patient_id": draw(pick(ids, ["P9"])), "drug": drug,
            "dose": draw(pick(["15" if drug == "methotrexate" else "400"], ["40000", "0", "nan"])),
            "dose_unit": draw(pick(["mg"], ["kg"])),
            "frequency": draw(pick(["daily", "weekly"], ["sometimes"])),
            "route": draw(pick(["", "oral"], ["nasal"])),
            "start_date": draw(pick(["2015-03-02", "2016-01-10", "2016-06-01", "2017-06-01", "2011-04-01"],
                                    ["1995-06-01", FUTURE, "2016-1-10"])),
            "end_date": draw(pick(["", "2016-05-31", "2018-12-31"], ["2014-01-01"])),
            "reason": draw(st.sampled_from(TEXT))}


@st.composite
def event_row(draw, ids):
    kind = draw(pick(["steroid_injection", "adverse_event", "procedure", "renal_crisis"], ["bogus"]))
    injection, adverse = kind == "steroid_injection", kind == "adverse_event"
    return {"patient_id": draw(pick(ids, ["P9"])), "date": draw(pick(GOOD_DATES, BAD_DATES)),
            "kind": kind, "description": draw(st.sampled_from(["", "nausea", "biopsy"])),
            "sites": draw(pick(["hand_r;hand_l"] if injection else [""], ["hand_x", ""] if injection else ["face"])),
            "agent": draw(st.sampled_from(["", "triamcinolone acetonide"])),
            "dose": draw(pick(["", "40"], ["-4"])), "dose_unit": draw(pick(["", "mg"], ["kg"])),
            "grade": draw(pick(["2"] if adverse else [""], ["", "7"] if adverse else ["2"])),
            "serious": draw(pick(["no", "yes"] if adverse else [""], ["", "maybe"] if adverse else ["no"])),
            "end_date": draw(pick(["", "2021-01-01"], ["2010-01-01"])),
            "term": draw(pick(["Nausea", "Edema limbs"] if adverse else [""], ["Bogus"] if adverse else ["Nausea"])),
            "suspected_drug": draw(pick(["", "imatinib", "methotrexate"] if adverse else [""],
                                        ["aspirin", "Imatinib"] if adverse else ["imatinib"])),
            "relatedness": draw(pick(["", "possible"] if adverse else [""], ["maybe"])),
            "action_taken": draw(pick(["", "none", "withdrawn"] if adverse else [""], ["stopped"])),
            "outcome": draw(pick(["", "recovered"] if adverse else [""], ["fine"]))}


@st.composite
def bundles(draw):
    ids = draw(st.lists(st.sampled_from(PATIENT_IDS), min_size=1, max_size=3, unique=True))
    return {
        PATIENTS.name: draw(patient_rows(ids)),
        SKIN_SCORES.name: draw(st.lists(score_row(ids), max_size=5,
                                        unique_by=_unique_by("patient_id", "visit_date", "rater"))),
        MEASUREMENTS.name: draw(st.lists(measurement_row(ids), max_size=4, unique_by=_unique_by(
            "patient_id", "date", "measure", "side", "rater"))),
        MEDICATIONS.name: draw(st.lists(medication_row(ids), min_size=2, max_size=5, unique_by=_unique_by(
            "patient_id", "drug", "start_date"))),
        EVENTS.name: draw(st.lists(event_row(ids), max_size=4, unique_by=_unique_by(
            "patient_id", "date", "kind", "sites", "agent", "description"))),
    }


def to_csv(name: str, rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FILES_BY_NAME[name].columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _column(name: str, field: str) -> str:
    """A form problem's field as the import report names its column."""
    return field if field in FILES_BY_NAME[name].kinds else (field or "row")


def through_forms(engine, bundle) -> dict[tuple[str, int], set]:
    """(file, line) -> {(column, reason)} of every row a form refuses; the others are written."""
    refused = {}
    for name in ORDER:
        for line, row in enumerate(bundle[name], start=2):
            try:
                with write_session(engine) as session:
                    WRITERS[name](session=session, data=dict(row), actor="clerk")
            except SkintrackError as error:
                refused[(name, line)] = {(_column(name, p.field), p.reason) for p in error.problems}
    return refused


def through_import(engine, bundle) -> dict[tuple[str, int], set]:
    refused: dict[tuple[str, int], set] = {}
    try:  # every file, a header alone when it has no rows
        import_bundle(engine, {name: to_csv(name, rows) for name, rows in bundle.items()}, actor="clerk")
    except BundleRejected as rejected:
        for problem in rejected.problems:
            prefix = f"{problem.file}:{problem.line}: {problem.column}: "
            assert problem.startswith(prefix), problem
            refused.setdefault((problem.file, problem.line), set()).add((problem.column, problem[len(prefix):]))
    return refused


def frames(engine) -> dict[str, pd.DataFrame]:
    return {"patients": load_patients(engine), "assessments": load_assessments(engine),
            "measurements": load_measurements(engine), "medications": load_medications(engine),
            "events": load_events(engine)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(bundle=bundles())
def test_import_and_forms_accept_and_refuse_the_same_rows(fresh_sqlite, bundle):
    by_form, by_import = fresh_sqlite("form"), fresh_sqlite("import")
    refused_by_form = through_forms(by_form, bundle)
    refused_by_import = through_import(by_import, bundle)
    assert refused_by_import == refused_by_form
    for problems in refused_by_form.values():  # --hypothesis-show-statistics: how often each rule is reached
        for _, reason in problems:
            for rule in ("overlaps", "before the birth year", "does not exist", "not a drug of the patient"):
                if rule in reason:
                    event(rule)

    accepted = {name: [row for line, row in enumerate(rows, start=2) if (name, line) not in refused_by_form]
                for name, rows in bundle.items()}
    target = by_import if not refused_by_import else fresh_sqlite("accepted")
    if refused_by_import:
        assert through_import(target, accepted) == {}
    for what, frame in frames(by_form).items():
        pd.testing.assert_frame_equal(frames(target)[what], frame, obj=what)
