"""One text rule (issue 14): NUL and the other control characters through every text field of every write path
(form, import, command line, correction reasons) are a named refusal naming the field; nothing is written and
nothing raises a traceback, on SQLite and PostgreSQL (a NUL used to crash the PostgreSQL import). Tab and line
breaks are allowed in the paragraphs (notes, description, reason) only."""

from __future__ import annotations

import csv
import io
import types
import typing

import pytest

import cli
from db.audit import load_audit
from db.engine import write_session
from db.measures import record_measurement
from db.patients import create_patient, get_patient, load_patients, update_patient
from db.treatments import load_event_rows, record_event, start_medication
from db.users import create_user, sign_in_attempt, update_user
from db.visits import correct_assessment, load_assessment_rows, record_assessment
from exchange import BundleRejected, import_bundle
from exchange.spec import BUNDLE_FILES, FILES_BY_NAME, TEXT
from models import (
    AssessmentCreate,
    MeasurementCreate,
    MedicationPeriodCreate,
    PatientCreate,
    PatientUpdate,
    TreatmentEventCreate,
    UserCreate,
    UserUpdate,
)
from models.errors import AuthenticationFailed, InvalidText
from models.validation import MULTILINE, SECRETS
from tests import factories
from tests.exchange.conftest import snapshot

HOSTILE = ["a\x00b", "\x1b[31mred", "x\x7f", "y\x85", "bell\x07"]


def text_fields(schema) -> list[str]:
    """The fields of a schema that take text (str or str | None), secrets aside."""
    out = []
    for name, info in schema.model_fields.items():
        members = typing.get_args(info.annotation) if isinstance(info.annotation, types.UnionType) else (
            info.annotation,)
        if str in members and name not in SECRETS:
            out.append(name)
    return out


def _user(**overrides):
    return {"username": "carol", "role": "staff", "password": "correct horse battery", "display_name": "Carol",
            **overrides}


# schema -> (the write of a form, a valid input)
FORMS = {
    PatientCreate: (lambda s, d: create_patient(session=s, data=d, actor="clerk"),
                    lambda: factories.patient(patient_id="P-002")),
    PatientUpdate: (lambda s, d: update_patient(session=s, patient_id="P-001", expected_version=1, data=d,
                                                actor="clerk"),
                    lambda: {k: v for k, v in factories.patient().items() if k != "patient_id"}),
    AssessmentCreate: (lambda s, d: record_assessment(session=s, data=d, actor="clerk"), factories.assessment),
    MeasurementCreate: (lambda s, d: record_measurement(session=s, data=d, actor="clerk"), factories.measurement),
    MedicationPeriodCreate: (lambda s, d: start_medication(session=s, data=d, actor="clerk"),
                             lambda: factories.medication(drug="methotrexate", dose=15, frequency="weekly")),
    TreatmentEventCreate: (lambda s, d: record_event(session=s, data=d, actor="clerk"),
                           lambda: factories.adverse_event(suspected_drug="imatinib", relatedness="possible",
                                                           action_taken="none", outcome="recovered",
                                                           description="after the first dose")),
    UserCreate: (lambda s, d: create_user(session=s, data=d, actor="admin"), _user),
    UserUpdate: (lambda s, d: update_user(session=s, username="bob", expected_version=1, data=d, actor="admin"),
                 lambda: {"display_name": "Bob", "role": "staff", "active": True, "can_export_identified": False}),
}
CASES = [(schema, field) for schema in FORMS for field in text_fields(schema)]


@pytest.fixture
def records(engine):
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="setup")
        start_medication(session=session, data=factories.medication(), actor="setup")
        create_user(session=session, actor="setup", data=_user(username="bob"))
    return engine


def test_every_text_field_of_every_schema_is_covered():
    assert len(CASES) >= 40
    assert {"rater", "notes", "description", "term", "suspected_drug", "reason", "name", "display_name"} <= {
        field for _, field in CASES}


@pytest.mark.parametrize("schema,field", CASES, ids=[f"{s.__name__}.{f}" for s, f in CASES])
def test_a_control_character_in_any_field_of_a_form_is_refused_by_name(records, schema, field):
    write, valid = FORMS[schema]
    before = snapshot(records)
    for hostile in HOSTILE:
        data = {**valid(), field: hostile}
        with pytest.raises(InvalidText) as caught, write_session(records) as session:
            write(session, data)
        assert caught.value.field == field and "U+" in caught.value.reason, caught.value
    assert snapshot(records) == before
    breaks = {**valid(), field: "line one\nline two\tend"}
    if field in MULTILINE:  # paragraphs may hold tabs and line breaks; nothing else may
        with write_session(records) as session:
            write(session, breaks)
    else:
        with pytest.raises(InvalidText, match="one line"), write_session(records) as session:
            write(session, breaks)


def test_a_correction_reason_with_a_nul_is_refused(records):
    with write_session(records) as session:
        visit = record_assessment(session=session, data=factories.assessment(), actor="clerk")
    with pytest.raises(InvalidText) as caught, write_session(records) as session:
        correct_assessment(session=session, assessment_id=visit.assessment_id, expected_version=1, actor="clerk",
                           data=factories.assessment(face=0), reason="typo\x00")
    assert caught.value.field == "reason"
    assert load_assessment_rows(records, "P-001").iloc[0]["version"] == 1


def _bundle_row(name: str) -> dict:
    rows = {"patients.csv": factories.patient(patient_id="P-009"),
            "skin_scores.csv": factories.assessment(patient_id="P-009"),
            "measurements.csv": factories.measurement(patient_id="P-009"),
            "medications.csv": factories.medication(patient_id="P-009"),
            "events.csv": factories.adverse_event(patient_id="P-009", description="after the first dose",
                                                  suspected_drug="imatinib", relatedness="possible",
                                                  action_taken="none", outcome="recovered")}
    return rows[name]


def _csv(name: str, rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FILES_BY_NAME[name].columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


BUNDLE_CASES = [(spec.name, column) for spec in BUNDLE_FILES for column, kind in spec.kinds.items() if kind == TEXT]


@pytest.mark.parametrize("name,column", BUNDLE_CASES, ids=[f"{n}:{c}" for n, c in BUNDLE_CASES])
def test_a_nul_in_any_text_cell_of_a_bundle_is_a_report_line_not_a_crash(engine, name, column):
    files = {"patients.csv": [_bundle_row("patients.csv")], "medications.csv": [_bundle_row("medications.csv")]}
    files[name] = [{**_bundle_row(name), column: "a\x00b"}]
    before = snapshot(engine)
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(engine, {n: _csv(n, rows) for n, rows in files.items()}, actor="importer")
    assert f"{name}:2: {column}: contains U+0000 (NUL) at character 2" in [p.split(";")[0]
                                                                          for p in rejected.value.problems]
    assert snapshot(engine) == before


def test_a_nul_through_the_command_line_exits_1_with_the_report(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", db_url)
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "patients.csv").write_bytes(_csv("patients.csv", [factories.patient(name="Ann\x00")]))
    assert cli.main(["import", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "patients.csv:2: name: contains U+0000 (NUL)" in err and "Traceback" not in err


def test_reads_and_sign_in_given_a_nul_find_nothing_and_do_not_crash(records):
    assert get_patient(records, "P-001\x00") is None
    assert load_patients(records, ["P-001\x00"]).empty
    assert load_audit(records, patient="\x00", actor="\x00").empty
    assert load_event_rows(records, "\x00").empty
    with pytest.raises(AuthenticationFailed):
        sign_in_attempt(records, username="bob\x00", password="correct horse battery")
    failed = load_audit(records, action="sign_in_failed")
    assert failed["actor"].tolist() == ["bob\\x00"]
