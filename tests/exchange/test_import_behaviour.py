"""Import behaviour: idempotence, --update audited, traceability to the import, dry run, formula
escapes undone, BOM and free column order, derived files ignored."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select

from db.audit import load_audit
from exchange import BundleRejected, export_bundle, import_bundle
from models import Assessment, AuditEvent, Patient
from tests.exchange.conftest import EXAMPLE, counts, write_bundle


def test_import_is_audited_traceable_and_idempotent(engine):
    report = import_bundle(engine, EXAMPLE, actor="alice")
    with engine.connect() as connection:
        event = connection.execute(select(AuditEvent).where(AuditEvent.audit_id == report.import_id)).one()
        assert (event.actor, event.action, event.entity) == ("alice", "import", "bundle")
        assert "example_bundle" in event.detail
        ids = {row[0] for row in connection.execute(select(Assessment.import_id))}
        assert ids == {report.import_id}
        assert {row[0] for row in connection.execute(select(Patient.import_id))} == {report.import_id}
    before = counts(engine)
    again = import_bundle(engine, EXAMPLE, actor="alice")
    assert again.changed == 0 and again.unchanged["skin_scores.csv"] == 10
    after = counts(engine)
    assert after["audit_event"] == before["audit_event"] + 1  # the import itself is audited
    assert {k: v for k, v in after.items() if k != "audit_event"} == {k: v for k, v in before.items()
                                                                        if k != "audit_event"}


def test_update_writes_changes_with_an_audit_row_each(sqlite_engine, tmp_path):
    import_bundle(sqlite_engine, EXAMPLE, actor="t")
    changed = (EXAMPLE / "patients.csv").read_text().replace("EX-03,lcSSc", "EX-03,SSc")
    scores = (EXAMPLE / "skin_scores.csv").read_text().replace("EX-03,2019-11-05,,,,,,,,,,,,,,,,,,,4",
                                                              "EX-03,2019-11-05,,,,,,,,,,,,,,,,,,,5")
    folder = write_bundle(tmp_path / "v2", {"patients.csv": changed, "skin_scores.csv": scores})
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(sqlite_engine, folder, actor="t")
    assert {p.column for p in rejected.value.problems} == {"diagnosis", "total"}
    report = import_bundle(sqlite_engine, folder, actor="bob", update=True)
    assert report.updated == {"patients.csv": 1, "skin_scores.csv": 1, "measurements.csv": 0,
                              "medications.csv": 0, "events.csv": 0}
    trail = load_audit(sqlite_engine, action="update")
    assert set(trail["entity"]) == {"patient", "assessment"} and set(trail["actor"]) == {"bob"}
    row = trail[trail["entity"] == "assessment"].iloc[0]
    assert json.loads(row["before"])["total"] == 4 and json.loads(row["after"])["total"] == 5
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    assert "EX-03,MAIN,SSc" in (tmp_path / "out" / "patients.csv").read_text()


def test_dry_run_writes_nothing(sqlite_engine):
    before = counts(sqlite_engine)
    report = import_bundle(sqlite_engine, EXAMPLE, actor="t", dry_run=True)
    assert report.dry_run and report.created["skin_scores.csv"] == 10 and report.import_id is None
    assert counts(sqlite_engine) == before


def test_formula_protection_round_trips(sqlite_engine, tmp_path):
    # "'=quoted" is read as an escaped "=quoted"; "''=twice" (a ' followed by ') is kept as it is, and written as it
    # is (it starts with ' followed by ', which needs no protection)
    notes = ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "'=quoted", "''=twice", "plain, with comma"]
    rows = [["patient_id", "diagnosis", "notes", "name"]]
    rows += [[f"=P{i}" if i == 0 else f"P{i}", "dcSSc", note, "-name"] for i, note in enumerate(notes)]
    folder = tmp_path / "f"
    folder.mkdir()
    with open(folder / "patients.csv", "w", newline="", encoding="utf-8-sig") as handle:  # with a BOM
        csv.writer(handle).writerows(rows)
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    with open(tmp_path / "out" / "patients.csv", newline="", encoding="utf-8") as handle:
        exported = {r["notes"]: r for r in csv.DictReader(handle)}
    assert set(exported) == {"'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)", "'=quoted", "''=twice",
                             "plain, with comma"}
    assert exported["'+1"]["name"] == "'-name" and "'=P0" in {r["patient_id"] for r in exported.values()}
    with open(tmp_path / "out" / "skin_scores.csv", newline="") as handle:
        assert next(csv.reader(handle))  # numbers are never prefixed (no scores here: header only)
    again = import_bundle(sqlite_engine, tmp_path / "out", actor="t")
    assert again.changed == 0 and again.unchanged["patients.csv"] == len(notes)


def test_protect_marks_text_starting_like_a_formula():
    import pandas as pd

    from exchange.exporter import protect
    values = pd.Series(["=1", "+1", "-1", "@a", "\tx", "\rx", "'=x", "'\tx", "'a", "a=1", "", None])
    assert protect(values).tolist() == ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "''=x", "''\tx", "'a", "a=1",
                                        "", ""]


def test_free_column_order_omitted_columns_and_ignored_derived_files(sqlite_engine, tmp_path):
    folder = write_bundle(tmp_path / "b", {
        "patients.csv": "diagnosis,patient_id\nlcSSc,Q1\n",
        "skin_scores.csv": "total,visit_date,patient_id\n12.5,2020-01-01,Q1\n",
        "summary.csv": "anything,goes\n1,2\n", "visits.csv": "x\n", "windows.csv": "", "dictionary.csv": "y\n"})
    report = import_bundle(sqlite_engine, folder, actor="t")
    assert report.created["skin_scores.csv"] == 1
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    assert (tmp_path / "out" / "skin_scores.csv").read_text().splitlines()[1].endswith(",12.5")


def test_child_rows_of_a_patient_in_the_database(sqlite_engine, tmp_path):
    import_bundle(sqlite_engine, EXAMPLE, actor="t")
    folder = write_bundle(tmp_path / "more", {"measurements.csv": "patient_id,date,measure,value\n"
                                                                  "EX-03,2020-01-01,haq_di,1.25\n"})
    assert import_bundle(sqlite_engine, folder, actor="t").created["measurements.csv"] == 1


def test_a_date_of_the_right_shape_but_no_such_day_is_named_as_such(engine, tmp_path):
    """`2020-02-30` is written as YYYY-MM-DD: "must be a date as YYYY-MM-DD" (without the value, unlike every other
    date problem) told a coordinator to do what the cell already does. The report names the value and why no such
    day exists; nothing is written."""
    bundle = write_bundle(tmp_path / "days", {
        "patients.csv": "patient_id,diagnosis,diagnosis_date\nD-1,dcSSc,2020-02-30\nD-2,dcSSc,01/02/2020\n",
        "skin_scores.csv": "patient_id,visit_date,total\nD-1,2021-00-10,5\nD-1,2021-04-31,6\n"})
    before = counts(engine)
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(engine, bundle, actor="t")
    assert rejected.value.problems.lines() == [
        "patients.csv:2: diagnosis_date: '2020-02-30' is not a calendar date (day is out of range for month)",
        "patients.csv:3: diagnosis_date: '01/02/2020' must be a date as YYYY-MM-DD",
        "skin_scores.csv:2: visit_date: '2021-00-10' is not a calendar date (month must be in 1..12)",
        "skin_scores.csv:3: visit_date: '2021-04-31' is not a calendar date (day is out of range for month)"]
    assert counts(engine) == before
