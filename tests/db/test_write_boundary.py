"""One write path (issue 12): nothing outside db/ writes a clinical table, and every audit row names who acted.

Two checks of the first: a static scan of every module outside db/ (SQLAlchemy's insert/update/delete, raw DML,
table objects created, the driver's bulk calls), and a runtime one: during an import and every kind of form write,
each INSERT, UPDATE or DELETE on a clinical table that SQLAlchemy executes must come from a function of db/. (The
bulk inserts of an import go to the driver itself, COPY or executemany, which SQLAlchemy's events do not see; the
static scan keeps those in db/batch.py.)"""

from __future__ import annotations

import ast
import re
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, text

from db.audit import load_audit
from db.common import audit
from db.engine import write_session
from db.measures import correct_measurement, delete_measurement, record_measurement, restore_measurement
from db.patients import create_patient, delete_patient, restore_patient, update_patient
from db.treatments import (
    change_dose,
    delete_event,
    delete_medication,
    record_event,
    restore_event,
    restore_medication,
    start_medication,
    stop_medication,
    update_event,
    update_medication,
)
from db.users import change_password, create_user, sign_in_attempt, update_user
from db.visits import VisitMeasure, correct_assessment, delete_assessment, restore_assessment, save_visit
from exchange import export_bundle, import_bundle
from models.errors import AuthenticationFailed, MissingValue
from tests import factories
from tests.exchange.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
CLINICAL = ("patient", "assessment", "measurement", "medication_period", "treatment_event", "audit_event",
            "app_user")
MODELS = ("Patient", "Assessment", "Measurement", "MedicationPeriod", "TreatmentEvent", "AuditEvent", "User")
DML = re.compile(rf"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE)\s+\"?(?:{'|'.join(CLINICAL)})\b", re.I)
# Writes outside db/ that touch no clinical table, each with why.
ALLOWED = {("exchange/deid.py", "insert"): "the installation's pseudonym key (installation_setting)"}


def modules_outside_db() -> list[Path]:
    skip = ("db", "tests", ".git", "data")
    return sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in skip)


def write_calls(path: Path) -> list[str]:
    """What in `path` could write a table: (what, line) descriptions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("sqlalchemy", "sqlmodel"):
            for alias in node.names:
                if alias.name in ("insert", "update", "delete") and (name, alias.name) not in ALLOWED:
                    found.append(f"{name}:{node.lineno}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DML.search(node.value):
            found.append(f"{name}:{node.lineno}: SQL {DML.search(node.value).group(0)!r}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in MODELS:
                found.append(f"{name}:{node.lineno}: makes a {func.id} row")
            if isinstance(func, ast.Attribute) and func.attr in ("executemany", "add", "add_all", "merge",
                                                                 "bulk_save_objects", "bulk_insert_mappings"):
                receiver = ast.unparse(func.value)
                if "session" in receiver or "cursor" in receiver or "connection" in receiver:
                    found.append(f"{name}:{node.lineno}: {receiver}.{func.attr}(...)")
    return found


def test_no_module_outside_db_writes_a_clinical_table():
    modules = modules_outside_db()
    assert len(modules) > 40 and any(p.name == "importer.py" for p in modules)
    found = [line for path in modules for line in write_calls(path)]
    assert found == [], "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The scan is not blind: a module that writes the old way is reported."""
    sample = ROOT / "tests" / "db" / "_scan_sample.py"
    sample.write_text("from sqlalchemy import update\nfrom models import Assessment\n"
                      "def f(session):\n    session.add(Assessment(total=1))\n"
                      "    session.execute('DELETE FROM assessment')\n", encoding="utf-8")
    try:
        found = write_calls(sample)
    finally:
        sample.unlink()
    assert [line.split(": ", 1)[1] for line in found] == [
        "imports sqlalchemy.update", "session.add(...)", "makes a Assessment row", "SQL 'DELETE FROM assessment'"]


def _caller_outside_libraries() -> str:
    """The file of the first frame of this repository, outside the tests, that led to the statement."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if ROOT in path.parents and "tests" not in path.relative_to(ROOT).parts[:1]:
            return path.relative_to(ROOT).as_posix()
        frame = frame.f_back
    return "(none)"


def workflow(engine) -> None:
    """Every write path of the clinical tables and the accounts, once."""
    import_bundle(engine, EXAMPLE, actor="importer")
    with write_session(engine) as s:
        create_patient(session=s, data=factories.patient(), actor="clerk")
        update_patient(session=s, patient_id="P-001", expected_version=1, actor="clerk", reason="mrn",
                       data={k: v for k, v in factories.patient(mrn="9").items() if k != "patient_id"})
        visit = save_visit(session=s, patient_id="P-001", visit_date=date(2018, 1, 10), rater="dr a", actor="clerk",
                           total=20, measures=[VisitMeasure("haq_di", "", 1.0)])
        correct_assessment(session=s, assessment_id=visit.assessment.assessment_id, expected_version=1,
                           actor="clerk", reason="typo", data=factories.total_only(total=21, visit_date="2018-01-10"))
        delete_assessment(session=s, assessment_id=visit.assessment.assessment_id, expected_version=2,
                          actor="clerk", reason="wrong")
        restore_assessment(session=s, assessment_id=visit.assessment.assessment_id, expected_version=3,
                           actor="admin", reason="mistake")
        m = record_measurement(session=s, data=factories.measurement(), actor="clerk")
        correct_measurement(session=s, measurement_id=m.measurement_id, expected_version=1, actor="clerk",
                            reason="typo", data=factories.measurement(value=5.0))
        delete_measurement(session=s, measurement_id=m.measurement_id, expected_version=2, actor="clerk",
                           reason="wrong")
        restore_measurement(session=s, measurement_id=m.measurement_id, expected_version=3, actor="admin",
                            reason="mistake")
        p = start_medication(session=s, data=factories.medication(), actor="clerk")
        update_medication(session=s, period_id=p.period_id, expected_version=1, actor="clerk", reason="dose",
                          data=factories.medication(dose=300))
        following = change_dose(session=s, period_id=p.period_id, expected_version=2, change_date=date(2018, 6, 1),
                                dose=400, actor="clerk", reason="response")
        stop_medication(session=s, period_id=following.period_id, expected_version=1, end_date=date(2019, 1, 1),
                        actor="clerk", reason="remission")
        delete_medication(session=s, period_id=following.period_id, expected_version=2, actor="clerk",
                          reason="wrong")
        restore_medication(session=s, period_id=following.period_id, expected_version=3, actor="admin",
                           reason="mistake")
        e = record_event(session=s, data=factories.adverse_event(suspected_drug="imatinib"), actor="clerk")
        update_event(session=s, event_id=e.event_id, expected_version=1, actor="clerk", reason="grade",
                     data=factories.adverse_event(grade=3, suspected_drug="imatinib"))
        delete_event(session=s, event_id=e.event_id, expected_version=2, actor="clerk", reason="wrong")
        restore_event(session=s, event_id=e.event_id, expected_version=3, actor="admin", reason="mistake")
        create_user(session=s, actor="admin", data={"username": "bob", "role": "staff",
                                                    "password": "correct horse battery"})
        update_user(session=s, username="bob", expected_version=1, actor="admin", data={
            "display_name": "Bob", "role": "physician", "active": True, "can_export_identified": False})
        change_password(session=s, username="bob", new_password="another good one", actor="admin")
    sign_in_attempt(engine, username="bob", password="another good one")
    with pytest.raises(AuthenticationFailed):
        sign_in_attempt(engine, username="", password="x")
    with write_session(engine) as s:
        delete_patient(session=s, patient_id="P-001", expected_version=2, actor="admin", reason="test record")
        restore_patient(session=s, patient_id="P-001", expected_version=3, actor="admin", reason="needed")


def test_every_write_comes_from_db_and_every_audit_row_names_its_actor(engine, tmp_path):
    seen: list[tuple[str, str]] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        found = re.match(rf"\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?({'|'.join(CLINICAL)})\b", statement, re.I)
        if found:
            seen.append((found.group(0).split()[0].upper() + " " + found.group(2), _caller_outside_libraries()))

    event.listen(engine, "before_cursor_execute", watch)
    try:
        workflow(engine)
        export_bundle(engine, tmp_path / "out", actor="coordinator")
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    kinds = {what for what, _ in seen}
    assert {"INSERT patient", "UPDATE assessment", "UPDATE medication_period", "INSERT treatment_event",
            "UPDATE app_user", "INSERT audit_event"} <= kinds, kinds
    outside = [(what, where) for what, where in seen if not where.startswith("db/")]
    assert outside == [], outside

    trail = load_audit(engine, limit=10_000)
    assert len(trail) > 30
    assert trail["actor"].str.strip().ne("").all() and not trail["actor"].isin(["anonymous", "unknown"]).any(), \
        trail["actor"].value_counts()
    with engine.connect() as connection:  # the column itself, not only what the reader shows
        assert connection.execute(text("SELECT count(*) FROM audit_event WHERE actor = '' OR actor IS NULL "
                                       "OR actor IN ('anonymous', 'unknown')")).scalar_one() == 0


def test_an_audit_row_without_its_actor_is_refused(engine):
    for nobody in ("", "   ", None):
        with pytest.raises(MissingValue) as caught, write_session(engine) as session:
            audit(session, actor=nobody, action="export", entity="bundle")
        assert caught.value.field == "actor"
    assert load_audit(engine).empty
