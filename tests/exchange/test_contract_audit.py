"""EXCHANGE.md sentence by sentence: the rules that the other exchange tests leave out.

Each test names the sentence it holds the code to. Failing bundles of single column rules live in
test_rules.py; the shared example and the first hand-computed bundle in test_derived.py.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest
from sqlalchemy import select

import cli
from db.audit import load_audit
from db.engine import current_revision, head_revision, make_engine, upgrade_database, write_session
from db.patients import delete_patient
from exchange import BundleRejected, export_bundle, import_bundle
from exchange.deid import date_offset, pseudonym
from exchange.exporter import SHEET_ORDER
from exchange.spec import BUNDLE_FILES, DICTIONARY_COLUMNS
from models import Assessment, AuditEvent, Measurement, MedicationPeriod, Patient, TreatmentEvent
from models.catalog import SITE_CODES
from tests.exchange.conftest import EXAMPLE, snapshot, write_bundle

SECRET = "audit-secret"
SCORE_HEADER = "patient_id,visit_date,rater," + ",".join(SITE_CODES) + ",total\n"


def read(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def header(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def score_row(pid: str, day: str, rater: str = "", total="", **sites) -> str:
    return ",".join([pid, day, rater, *(str(sites.get(c, "")) for c in SITE_CODES), str(total)]) + "\n"


@pytest.fixture
def example(sqlite_engine):
    import_bundle(sqlite_engine, EXAMPLE, actor="fixture")
    return sqlite_engine


@pytest.fixture
def cli_example(sqlite_url, monkeypatch):
    """The example bundle in a SQLite database that `python cli.py` (in process) reads through the URL variable."""
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    import_bundle(engine, EXAMPLE, actor="fixture")
    yield engine
    engine.dispose()


# --- "The bundle" ----------------------------------------------------------------------------------


def test_a_bundle_is_a_folder_of_csv_files_only(cli_example, tmp_path, capsys):
    """"A bundle is a folder (or a .zip of one) holding any of the five files": a folder inside it, a zip
    holding one file twice, or nothing at all is a rejection (exit 1, a report, nothing written)."""
    before = snapshot(cli_example)
    nested = write_bundle(tmp_path / "nested", {"patients.csv": "patient_id,diagnosis\nN1,dcSSc\n"})
    write_bundle(nested / "more", {"skin_scores.csv": "patient_id,visit_date,total\nN1,2020-01-01,3\n"})
    assert cli.main(["import", str(nested)]) == 1
    assert "more:1: file: a folder inside the bundle" in capsys.readouterr().err

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/patients.csv", "patient_id,diagnosis\nN1,dcSSc\n")
        archive.writestr("b/patients.csv", "patient_id,diagnosis\nN2,dcSSc\n")
    (tmp_path / "twice.zip").write_bytes(buffer.getvalue())
    assert cli.main(["import", str(tmp_path / "twice.zip")]) == 1
    assert "patients.csv:1: file: appears twice in the zip" in capsys.readouterr().err

    (tmp_path / "empty").mkdir()
    assert cli.main(["import", str(tmp_path / "empty")]) == 1
    assert "empty:1: file: the bundle holds no files" in capsys.readouterr().err

    (tmp_path / "patients.csv").write_text("patient_id,diagnosis\nN1,dcSSc\n")  # a file, not a folder or a zip
    assert cli.main(["import", str(tmp_path / "patients.csv")]) == 1
    assert "not a readable zip archive" in capsys.readouterr().err
    assert snapshot(cli_example) == before


def test_rows_with_the_same_key_are_the_same_record(sqlite_engine, tmp_path):
    """"Each file has a key; rows with the same key are the same record": repeated identical rows give one
    record per file; rows differing outside the key are separate records."""
    folder = write_bundle(tmp_path / "dup", {
        "patients.csv": "patient_id,diagnosis\nK1,dcSSc\nK1,dcSSc\n",
        "skin_scores.csv": SCORE_HEADER + score_row("K1", "2020-01-01", "a", 10) * 2
        + score_row("K1", "2020-01-01", "b", 12),
        "measurements.csv": "patient_id,date,measure,side,value\nK1,2020-01-01,grip_strength,R,20\n"
                            "K1,2020-01-01,grip_strength,R,20\nK1,2020-01-01,grip_strength,L,18\n",
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,start_date\n"
                           "K1,imatinib,400,mg,daily,2020-01-01\nK1,imatinib,400,mg,daily,2020-01-01\n",
        "events.csv": "patient_id,date,kind,sites,description\nK1,2020-02-01,steroid_injection,hand_r;hand_l,x\n"
                      "K1,2020-02-01,steroid_injection,hand_l;hand_r,x\nK1,2020-02-01,steroid_injection,hand_r,x\n"})
    report = import_bundle(sqlite_engine, folder, actor="t")
    assert report.created == {"patients.csv": 1, "skin_scores.csv": 2, "measurements.csv": 2, "medications.csv": 1,
                              "events.csv": 2}


def test_the_three_forms_of_a_skin_score_row(sqlite_engine, tmp_path):
    """skin_scores.csv: a complete per-site row (total blank or the sum), an incomplete one (kept, flagged
    incomplete, no total) and a total-only one (decimals allowed); "On export, a complete per-site row carries its
    sum in `total`, an incomplete one a blank, a total-only row its total"."""
    complete = {c: 1 for c in SITE_CODES}
    folder = write_bundle(tmp_path / "forms", {
        "patients.csv": "patient_id,diagnosis\nF1,dcSSc\n",
        "skin_scores.csv": SCORE_HEADER + score_row("F1", "2020-01-01", "a", "", **complete)
        + score_row("F1", "2020-02-01", "a", 17, **complete) + score_row("F1", "2020-03-01", "a", "", face=2, hand_r=3)
        + score_row("F1", "2020-04-01", "a", 23.5)})
    assert import_bundle(sqlite_engine, folder, actor="t").created["skin_scores.csv"] == 4
    with sqlite_engine.connect() as connection:
        stored = connection.execute(select(Assessment.visit_date, Assessment.total, Assessment.incomplete)
                                    .order_by(Assessment.visit_date)).all()
    assert [(t, i) for _, t, i in stored] == [(17.0, False), (17.0, False), (None, True), (23.5, False)]
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    rows = read(tmp_path / "out" / "skin_scores.csv")
    assert [(r["visit_date"], r["face"], r["total"]) for r in rows] == [
        ("2020-01-01", "1", "17"), ("2020-02-01", "1", "17"), ("2020-03-01", "2", ""), ("2020-04-01", "", "23.5")]


def test_measurement_unit_is_optional_and_exported_from_the_catalogue(example, tmp_path):
    """measurements.csv `unit`: "if present, must equal the catalogue unit; exports always write the catalogue
    unit"; `side` "blank (or the column absent) for unsided measures"."""
    folder = write_bundle(tmp_path / "m", {"measurements.csv": "patient_id,date,measure,value\n"
                                                               "EX-03,2020-01-01,haq_di,1.25\n"
                                                               "EX-03,2020-01-01,oral_aperture,41\n"})
    import_bundle(example, folder, actor="t")
    export_bundle(example, tmp_path / "out", patients=["EX-03"], actor="t")
    assert [(r["measure"], r["side"], r["value"], r["unit"]) for r in read(tmp_path / "out" / "measurements.csv")] \
        == [("haq_di", "", "1.25", "score"), ("oral_aperture", "", "41", "mm")]


def test_dose_changes_frequencies_and_other_drugs(sqlite_engine, tmp_path):
    """medications.csv: "A dose change is two rows: the old period ends the day before the new one starts"; periods
    of other drugs may overlap; frequency `N per day/week/month`."""
    folder = write_bundle(tmp_path / "d", {
        "patients.csv": "patient_id,diagnosis\nD1,dcSSc\n",
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,route,start_date,end_date,reason\n"
                           "D1,imatinib,400,mg,daily,oral,2020-01-01,2020-03-31,\n"
                           "D1,imatinib,200,mg,daily,oral,2020-04-01,,dose reduced: oedema\n"
                           "D1,methotrexate,15,mg,1 per week,sc,2020-02-01,2020-02-01,\n"
                           "D1,rituximab,1,g,2 per month,iv,2020-01-15,,\n"})
    assert import_bundle(sqlite_engine, folder, actor="t").created["medications.csv"] == 4


def test_patient_id_of_64_characters_and_age_at_baseline_kept_as_given(sqlite_engine, tmp_path):
    """patients.csv: `patient_id` of 1-64 printable characters; `age_at_baseline` "(kept as given)"."""
    long_id = "P" + "-x" * 31 + "9"
    assert len(long_id) == 64
    folder = write_bundle(tmp_path / "p", {
        "patients.csv": f"patient_id,diagnosis,age_at_baseline\n{long_id},dcSSc,\n1,SSc,47\n",
        "skin_scores.csv": "patient_id,visit_date,total\n1,2015-01-01,10\n1,2020-01-01,12\n"})
    assert import_bundle(sqlite_engine, folder, actor="t").created["patients.csv"] == 2
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    ages = {r["patient_id"]: r["age_at_baseline"] for r in read(tmp_path / "out" / "patients.csv")}
    assert ages == {"1": "47", long_id: ""}


def test_a_deleted_patient_takes_no_rows(example, tmp_path, capsys, monkeypatch):
    """skin_scores.csv `patient_id` "must exist in patients.csv of the bundle or in the database": a deleted patient
    does not count as existing."""
    with write_session(example) as session:
        delete_patient(session=session, expected_version=1, patient_id="EX-03", actor="t", reason="test")
    folder = write_bundle(tmp_path / "b", {"skin_scores.csv": "patient_id,visit_date,total\nEX-03,2020-01-01,4\n"})
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(example, folder, actor="t")
    assert [p[:36] for p in rejected.value.problems] == ["skin_scores.csv:2: patient_id: patie"]
    assert "was deleted" in rejected.value.problems[0]


# --- "Command line" --------------------------------------------------------------------------------


def test_cli_uses_the_default_sqlite_file_and_migrates_it_first(tmp_path, monkeypatch, capsys):
    """"Both read SKINTRACK_DATABASE_URL (default: the app's SQLite file) and bring the schema up to date first"."""
    default = tmp_path / "data" / "skintrack.db"
    monkeypatch.delenv("SKINTRACK_DATABASE_URL", raising=False)
    monkeypatch.setattr("db.engine.DEFAULT_SQLITE_PATH", default)
    assert cli.main(["import", str(EXAMPLE)]) == 0
    engine = make_engine(f"sqlite:///{default}")
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(select(Patient.patient_id).order_by(Patient.patient_id)).scalars().all() == [
            "EX-01", "EX-02", "EX-03"]
    engine.dispose()

    older = tmp_path / "older.db"  # an older schema is brought up to date before the export
    engine = make_engine(f"sqlite:///{older}")
    upgrade_database(engine, "0001")
    assert current_revision(engine) != head_revision()
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", f"sqlite:///{older}")
    assert cli.main(["export", str(tmp_path / "out")]) == 0
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert "exported 0 patients" in capsys.readouterr().out


def test_cli_update_dry_run_and_the_audited_user(cli_example, tmp_path, capsys):
    """`--update` writes (audited) changes that are otherwise an error; `--dry-run` "validates and reports without
    writing", also when the bundle is bad; "Every import is audited with the importing user and the bundle's
    name"."""
    changed = (EXAMPLE / "patients.csv").read_text().replace("EX-03,lcSSc", "EX-03,SSc")
    folder = write_bundle(tmp_path / "changed-bundle", {"patients.csv": changed})
    before = snapshot(cli_example)
    assert cli.main(["import", str(folder)]) == 1
    assert "patients.csv:4: diagnosis:" in capsys.readouterr().err
    assert cli.main(["import", str(folder), "--update", "--dry-run"]) == 0
    assert "dry run of changed-bundle: nothing written; 1 records would be written" in capsys.readouterr().out
    bad = write_bundle(tmp_path / "bad", {"patients.csv": "patient_id,diagnosis\nN1,bogus\n"})
    assert cli.main(["import", str(bad), "--dry-run"]) == 1
    assert "patients.csv:2: diagnosis:" in capsys.readouterr().err
    assert snapshot(cli_example) == before

    assert cli.main(["import", str(folder), "--update"]) == 0
    assert "1 records were written" in capsys.readouterr().out
    trail = load_audit(cli_example, actor=cli.CLI_ACTOR)
    assert cli.CLI_ACTOR == f"cli:{getpass.getuser()}"
    imported = trail[trail["action"] == "import"].iloc[0]
    assert imported["detail"].startswith("changed-bundle:")
    updated = trail[trail["action"] == "update"].iloc[0]
    assert (updated["entity"], updated["patient_id"]) == ("patient", "EX-03")
    assert f"import #{imported['audit_id']}" == updated["detail"]
    assert json.loads(updated["before"])["diagnosis"] == "lcSSc" and json.loads(updated["after"])["diagnosis"] == "SSc"


def test_cli_usage_errors_of_export_out(cli_example, tmp_path, capsys):
    """"With `--format csv`, OUT is a folder (created if missing); with `--format xlsx`, OUT is the workbook's
    path": the other way round is wrong usage (exit 2), and nothing is written."""
    (tmp_path / "file.csv").write_text("x")
    assert cli.main(["export", str(tmp_path / "file.csv")]) == 2
    assert "is a file" in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    assert cli.main(["export", str(tmp_path / "folder"), "--format", "xlsx"]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert list((tmp_path / "folder").iterdir()) == []
    assert cli.main(["export", str(tmp_path / "new" / "deeper")]) == 0
    assert sorted(p.name for p in (tmp_path / "new" / "deeper").iterdir()) == sorted(SHEET_ORDER)


# --- "Import rules" --------------------------------------------------------------------------------


def test_every_imported_row_points_to_its_import_and_updates_name_it(engine, tmp_path):
    """"every imported row can be traced to that import" (all five files, both databases), and an update made by a
    later import names that import in its audit row."""
    report = import_bundle(engine, EXAMPLE, actor="alice")
    with engine.connect() as connection:
        for model in (Patient, Assessment, Measurement, MedicationPeriod, TreatmentEvent):
            ids = connection.execute(select(model.import_id)).scalars().all()
            assert ids and set(ids) == {report.import_id}, model.__tablename__
    folder = write_bundle(tmp_path / "fix", {"measurements.csv": (EXAMPLE / "measurements.csv").read_text()
                                             .replace("EX-01,2018-01-10,fvc_pct,,71", "EX-01,2018-01-10,fvc_pct,,72")})
    second = import_bundle(engine, folder, actor="bob", update=True)
    assert second.updated["measurements.csv"] == 1
    with engine.connect() as connection:
        event = connection.execute(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert (event.actor, event.entity, event.detail) == ("bob", "measurement", f"import #{second.import_id}")


def test_update_ends_an_ongoing_period_and_starts_the_next_dose(example, tmp_path):
    """A dose change arriving later: the ongoing period of the database gets its end date (--update) and the new
    period starts the day after, which must not count as an overlap with the old, open-ended version."""
    folder = write_bundle(tmp_path / "dose", {
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,route,start_date,end_date,reason\n"
                           "EX-02,imatinib,400,mg,daily,oral,2016-12-20,2019-12-31,\n"
                           "EX-02,imatinib,200,mg,daily,oral,2020-01-01,,dose reduced: oedema\n"})
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(example, folder, actor="t")
    assert [p.split(" ")[0] for p in rejected.value.problems] == ["medications.csv:2:"]
    report = import_bundle(example, folder, actor="t", update=True)
    assert (report.created["medications.csv"], report.updated["medications.csv"]) == (1, 1)
    export_bundle(example, tmp_path / "out", patients=["EX-02"], actor="t")
    assert [(r["dose"], r["start_date"], r["end_date"]) for r in read(tmp_path / "out" / "medications.csv")] == [
        ("400", "2016-12-20", "2019-12-31"), ("200", "2020-01-01", "")]


def test_a_leading_quote_before_a_formula_character_is_removed(sqlite_engine, tmp_path):
    """"A text cell that starts with `'` followed by `=`, `+`, `-`, `@`, tab or carriage return has that first `'`
    removed"; any other `'` stays. Also in the rater cells of the two large files. A run of quotes before a formula
    character loses one (`''=x` -> `'=x`): that is how the export writes a stored `'=x`, and "a round trip gives
    back the same text" (test_a_stored_text_starting_with_a_quote_and_a_formula_character_round_trips)."""
    notes = {"Q1": "'@SUM(A1)", "Q2": "'+1", "Q3": "'-", "Q4": "'a", "Q5": "a'=b", "Q6": "'", "Q7": "''=x",
             "Q8": "'\tx", "Q9": "'\rx"}
    rows = [["patient_id", "diagnosis", "notes"], *[[p, "SSc", n] for p, n in notes.items()]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    files = {"patients.csv": buffer.getvalue(),
             "skin_scores.csv": "patient_id,visit_date,rater,total\nQ1,2020-01-01,'=dr a,3\n",
             "measurements.csv": "patient_id,date,measure,value,rater\nQ1,2020-01-01,haq_di,1,'-dr b\n"}
    import_bundle(sqlite_engine, write_bundle(tmp_path / "q", files), actor="t")
    with sqlite_engine.connect() as connection:
        stored = dict(connection.execute(select(Patient.patient_id, Patient.notes)).all())
        raters = (connection.execute(select(Assessment.rater)).scalar_one(),
                  connection.execute(select(Measurement.rater)).scalar_one())
    assert {p: stored[p] for p in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")} == {
        "Q1": "@SUM(A1)", "Q2": "+1", "Q3": "-", "Q4": "'a", "Q5": "a'=b", "Q6": "'", "Q7": "'=x"}
    assert not stored["Q8"].startswith("'") and not stored["Q9"].startswith("'")  # tab / CR: the quote goes
    assert raters == ("=dr a", "-dr b")


# --- "Export" --------------------------------------------------------------------------------------


def test_patients_option_limits_every_file_windows_included(example, fresh_sqlite, tmp_path):
    """"`--patients` limits every file to those patients": the derived files are those of that patient alone (the
    limited export, imported into an empty database, exports the same files)."""
    export_bundle(example, tmp_path / "one", patients=["EX-02"], actor="t")
    for name in ("patients.csv", "skin_scores.csv", "measurements.csv", "medications.csv", "events.csv",
                 "visits.csv", "summary.csv"):
        rows = read(tmp_path / "one" / name)
        assert rows and {r["patient_id"] for r in rows} == {"EX-02"}, name
    alone = fresh_sqlite("alone")
    import_bundle(alone, tmp_path / "one", actor="t")
    export_bundle(alone, tmp_path / "again", actor="t")
    for name in SHEET_ORDER:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_anchor_drug_is_matched_exactly_as_stored(engine, tmp_path):
    """"`--anchor-drug` names a drug exactly as stored": `Imatinib` is not `imatinib`. A drug that no medication
    period holds would anchor nobody and blank every baseline, window and response without a word; it is refused,
    naming the drugs as stored, and nothing is written. A stored drug that the patients chosen do not take anchors
    none of them, as before."""
    from models.errors import InvalidValue

    import_bundle(engine, EXAMPLE, actor="fixture")
    export_bundle(engine, tmp_path / "exact", anchor_drug="imatinib", actor="t")
    exact = {r["patient_id"]: r["anchor_date"] for r in read(tmp_path / "exact" / "summary.csv")}
    assert exact == {"EX-01": "2018-01-20", "EX-02": "2016-12-20", "EX-03": ""}
    before = len(load_audit(engine))
    for drug in ("Imatinib", "imatinib ", "nosuchdrug"):
        with pytest.raises(InvalidValue) as refused:
            export_bundle(engine, tmp_path / "case", anchor_drug=drug, actor="t")
        assert refused.value.field == "anchor_drug"
        assert f"no medication period of drug {drug!r}" in refused.value.reason
        assert refused.value.reason.endswith("name a drug exactly as stored (imatinib)"), refused.value.reason
    assert not (tmp_path / "case").exists() and len(load_audit(engine)) == before
    export_bundle(engine, tmp_path / "none", anchor_drug="imatinib", patients=["EX-03"], actor="t")
    assert [r["anchor_date"] for r in read(tmp_path / "none" / "summary.csv")] == [""]


def test_cli_export_refuses_an_unknown_anchor_drug_as_wrong_usage(cli_example, tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "out"), "--anchor-drug", "Imatinib"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage error: --anchor-drug: no medication period of drug 'Imatinib'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("deidentify", [False, True])
def test_dictionary_has_one_row_per_column_of_every_file(example, tmp_path, monkeypatch, deidentify):
    """dictionary.csv: "one row per column of every file", itself included, each with a meaning."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    export_bundle(example, tmp_path / "out", deidentify=deidentify, actor="t")
    rows = read(tmp_path / "out" / "dictionary.csv")
    assert header(tmp_path / "out" / "dictionary.csv") == list(DICTIONARY_COLUMNS)
    expected = [(name, column) for name in SHEET_ORDER for column in header(tmp_path / "out" / name)]
    assert [(r["file"], r["column"]) for r in rows] == expected
    assert all(r["meaning"] for r in rows)
    assert ("patients.csv", "name") in expected or deidentify


def _sheet_as_csv_cells(sheet) -> list[list[str]]:
    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):  # a spreadsheet date (openpyxl reads it as a datetime at midnight)
            assert value.time() == time(0)
            return value.date().isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return [[text(v) for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("deidentify", [False, True])
def test_workbook_sheets_hold_the_csv_files(cli_example, tmp_path, monkeypatch, deidentify):
    """"`--format xlsx` writes one workbook with one sheet per file above, `dictionary` included": each sheet holds
    the cells of its CSV file (numbers as numbers, dates as spreadsheet dates)."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    flags = ["--deidentify"] if deidentify else []
    assert cli.main(["export", str(tmp_path / "csv"), "--anchor-drug", "imatinib", *flags]) == 0
    assert cli.main(["export", str(tmp_path / "book.xlsx"), "--format", "xlsx", "--anchor-drug", "imatinib",
                     *flags]) == 0
    book = openpyxl.load_workbook(tmp_path / "book.xlsx", read_only=True)
    assert book.sheetnames == [name.removesuffix(".csv") for name in SHEET_ORDER]
    for name in SHEET_ORDER:
        with open(tmp_path / "csv" / name, newline="", encoding="utf-8") as handle:
            expected = list(csv.reader(handle))
        cells = _sheet_as_csv_cells(book[name.removesuffix(".csv")])
        cells = [row + [""] * (len(expected[0]) - len(row)) for row in cells]
        assert cells == expected, name
    scores = list(book["skin_scores"].iter_rows(values_only=True))
    totals = [row[scores[0].index("total")] for row in scores[1:] if len(row) == len(scores[0])]
    assert totals and all(isinstance(t, int | float) for t in totals if t is not None)
    dates = [row[scores[0].index("visit_date")] for row in scores[1:] if len(row) == len(scores[0])]
    assert dates and all(isinstance(d, datetime) for d in dates)
    book.close()


# --- hand-computed derived files, second bundle ------------------------------------------------------

HAND_PATIENTS = "patient_id,diagnosis\n" + "".join(f"Q{i},dcSSc\n" for i in range(1, 9))
HAND_SCORES = SCORE_HEADER + "".join([
    score_row("Q1", "2020-01-01", "a", 10), score_row("Q1", "2020-01-01", "b", 11),
    score_row("Q1", "2020-01-01", "c", 11), score_row("Q1", "2020-07-01", "a", 5),  # 32/3: rounding
    score_row("Q2", "2020-01-01", "", 20.004), score_row("Q2", "2020-06-01", "", 15),  # improved unrounded
    score_row("Q3", "2020-01-01", "", 20), score_row("Q3", "2020-06-01", "", 25.004),  # progressed unrounded
    score_row("Q4", "2020-01-01", "a", "", **dict.fromkeys(SITE_CODES, 1)),  # complete 17 ...
    score_row("Q4", "2020-01-01", "b", "", face=3),  # ... and incomplete at one visit
    score_row("Q4", "2020-01-02", "a", 16),
    score_row("Q5", "2020-01-31", "", 30), score_row("Q5", "2020-02-01", "", 28),  # anchor - 91, anchor - 90
    score_row("Q5", "2020-08-01", "", 20),
    score_row("Q6", "2020-01-31", "", 25),  # only anchor - 91: no anchored baseline
    score_row("Q7", "2019-01-01", "", 20), score_row("Q7", "2020-03-31", "", 12),  # day 455: month 12 edge
    score_row("Q8", "2019-01-01", "", 20), score_row("Q8", "2020-04-01", "", 19),  # day 456: outside
])
HAND_MEDICATIONS = "patient_id,drug,dose,dose_unit,frequency,start_date,end_date\n" + "".join([
    "Q4,prednisone,7.5,mg,daily,2019-06-01,2020-01-01\n",  # ends on the first visit: active that day
    "Q4,imatinib,200,mg,daily,2019-12-01,\n",
    "Q4,mycophenolate mofetil,0.5,g,twice daily,2020-01-02,\n",
    "Q5,imatinib,200,mg,daily,2020-05-01,2020-06-30\n", "Q5,imatinib,400,mg,daily,2020-07-01,\n",
    "Q6,imatinib,400,mg,daily,2020-05-01,\n",
])


@pytest.fixture
def hand(sqlite_engine, tmp_path):
    folder = write_bundle(tmp_path / "hand2", {"patients.csv": HAND_PATIENTS, "skin_scores.csv": HAND_SCORES,
                                               "medications.csv": HAND_MEDICATIONS})
    import_bundle(sqlite_engine, folder, actor="t")
    return sqlite_engine


SUMMARY_PICK = ("anchor_date", "baseline_date", "baseline_mrss", "latest_date", "latest_mrss", "change", "change_pct",
                "n_visits", "improved", "progressed")


def test_hand_computed_rounding_responders_sites_and_treatment(hand, tmp_path):
    """summary.csv: mRSS and change to 2 decimals, change_pct to 1, improved/progressed "decided on unrounded
    values"; visits.csv: site means across raters (an incomplete assessment's sites included, not its total),
    `on_treatment` sorted by drug with doses like `0.5` and inclusive end dates; windows.csv: ±90 days at month 12,
    both ends included."""
    export_bundle(hand, tmp_path / "out", months=(12,), actor="t")
    summary = {r["patient_id"]: tuple(r[c] for c in SUMMARY_PICK) for r in read(tmp_path / "out" / "summary.csv")}
    assert summary == {
        "Q1": ("", "2020-01-01", "10.67", "2020-07-01", "5", "-5.67", "-53.1", "2", "yes", "no"),
        "Q2": ("", "2020-01-01", "20", "2020-06-01", "15", "-5", "-25", "2", "yes", "no"),
        "Q3": ("", "2020-01-01", "20", "2020-06-01", "25", "5", "25", "2", "no", "yes"),
        "Q4": ("", "2020-01-01", "17", "2020-01-02", "16", "-1", "-5.9", "2", "no", "no"),
        "Q5": ("", "2020-01-31", "30", "2020-08-01", "20", "-10", "-33.3", "3", "yes", "no"),
        "Q6": ("", "2020-01-31", "25", "2020-01-31", "25", "0", "0", "1", "no", "no"),
        "Q7": ("", "2019-01-01", "20", "2020-03-31", "12", "-8", "-40", "2", "yes", "no"),
        "Q8": ("", "2019-01-01", "20", "2020-04-01", "19", "-1", "-5", "2", "no", "no"),
    }
    visits = {(r["patient_id"], r["visit_date"]): r for r in read(tmp_path / "out" / "visits.csv")}
    q4 = visits[("Q4", "2020-01-01")]
    assert (q4["n_raters"], q4["mrss"], q4["face"], q4["chest"], q4["on_treatment"]) == (
        "1", "17", "2", "1", "imatinib 200 mg daily; prednisone 7.5 mg daily")
    q4 = visits[("Q4", "2020-01-02")]
    assert (q4["face"], q4["study_day"], q4["on_treatment"]) == (
        "", "1", "imatinib 200 mg daily; mycophenolate mofetil 0.5 g twice daily")
    assert visits[("Q1", "2020-01-01")]["mrss"] == "10.67"
    windows = read(tmp_path / "out" / "windows.csv")
    assert [tuple(r.values()) for r in windows] == [("12", "1", "-8", "", "-8", "", "", "1", "0")]  # Q7 in, Q8 out


def test_hand_computed_anchored_on_the_first_start_with_a_90_day_lookback(hand, tmp_path):
    """With `--anchor-drug D`: `anchor_date` = the first start date of D; baseline = the latest visit with an mRSS in
    [anchor − 90 days, anchor]; `n_visits` counts every visit; without a baseline `study_day` and the changes are
    blank while `latest_*` stay filled."""
    export_bundle(hand, tmp_path / "out", months=(6,), anchor_drug="imatinib", actor="t")
    summary = {r["patient_id"]: tuple(r[c] for c in SUMMARY_PICK) for r in read(tmp_path / "out" / "summary.csv")}
    assert summary["Q5"] == ("2020-05-01", "2020-02-01", "28", "2020-08-01", "20", "-8", "-28.6", "3", "yes", "no")
    assert summary["Q6"] == ("2020-05-01", "", "", "2020-01-31", "25", "", "", "1", "", "")
    assert summary["Q4"] == ("2019-12-01", "", "", "2020-01-02", "16", "", "", "2", "", "")
    assert summary["Q1"] == ("", "", "", "2020-07-01", "5", "", "", "2", "", "")
    visits = [r for r in read(tmp_path / "out" / "visits.csv") if r["patient_id"] in ("Q5", "Q6")]
    assert [(r["visit_date"], r["study_day"], r["change_from_baseline"], r["on_treatment"]) for r in visits] == [
        ("2020-01-31", "-1", "2", ""), ("2020-02-01", "0", "0", ""),
        ("2020-08-01", "182", "-8", "imatinib 400 mg daily"), ("2020-01-31", "", "", "")]
    assert [tuple(r.values()) for r in read(tmp_path / "out" / "windows.csv")] == [
        ("6", "1", "-8", "", "-8", "", "", "1", "0")]


# --- "De-identified export" ------------------------------------------------------------------------

DATED = {"patients.csv": ("diagnosis_date",), "skin_scores.csv": ("visit_date",), "measurements.csv": ("date",),
         "medications.csv": ("start_date", "end_date"), "events.csv": ("date", "end_date"),
         "visits.csv": ("visit_date",), "summary.csv": ("anchor_date", "baseline_date", "latest_date")}


def test_every_date_of_a_patient_moves_by_one_offset_in_every_file(example, tmp_path, monkeypatch):
    """"Every date of a patient, in every file, is shifted by the same per-patient offset of 1 to 180 days either way
    (never 0), derived from the HMAC, so intervals are exact"."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    export_bundle(example, tmp_path / "plain", anchor_drug="imatinib", actor="t")
    export_bundle(example, tmp_path / "deid", anchor_drug="imatinib", deidentify=True, actor="t")
    names = {pseudonym(SECRET.encode(), p): p for p in ("EX-01", "EX-02", "EX-03")}
    plain: dict[tuple, list[date]] = {}
    shifted: dict[tuple, list[date]] = {}
    for name, columns in DATED.items():
        for folder, into, key in (("plain", plain, lambda p: p), ("deid", shifted, names.__getitem__)):
            for row in read(tmp_path / folder / name):
                for column in columns:
                    if row[column]:
                        into.setdefault((key(row["patient_id"]), name, column), []).append(
                            date.fromisoformat(row[column]))
    assert plain.keys() == shifted.keys() and len(plain) >= 15
    for patient in ("EX-01", "EX-02", "EX-03"):
        latest = max(d for (p, _, _), days in plain.items() if p == patient for d in days)
        offset = date_offset(SECRET.encode(), patient, latest)
        assert offset != 0 and abs(offset) <= 180
        for key in [k for k in plain if k[0] == patient]:
            assert sorted((d - date(1970, 1, 1)).days + offset for d in plain[key]) == \
                sorted((d - date(1970, 1, 1)).days for d in shifted[key]), key


def test_a_deidentified_export_of_dates_up_to_today_imports(sqlite_engine, fresh_sqlite, tmp_path, monkeypatch):
    """"no date may lie in the future" holds for de-identified bundles too: whichever way the offset goes, the
    shifted dates stay in the past, so the bundle imports; windows and changes are those of the real dates."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    today = date.today().isoformat()
    ids = [f"T{i}" for i in range(12)]  # a dozen offsets: forward and backward ones both occur
    folder = write_bundle(tmp_path / "t", {
        "patients.csv": "patient_id,diagnosis\n" + "".join(f"{p},SSc\n" for p in ids),
        "skin_scores.csv": "patient_id,visit_date,total\n" + "".join(f"{p},2020-01-01,20\n{p},{today},12\n"
                                                                       for p in ids),
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,start_date,end_date\n"
                           + "".join(f"{p},imatinib,400,mg,daily,2020-01-02,{today}\n" for p in ids)})
    import_bundle(sqlite_engine, folder, actor="t")
    assert {date_offset(SECRET.encode(), p) > 0 for p in ids} == {True, False}
    export_bundle(sqlite_engine, tmp_path / "plain", actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    assert max(r["visit_date"] for r in read(tmp_path / "deid" / "skin_scores.csv")) <= today
    assert import_bundle(fresh_sqlite("pooled"), tmp_path / "deid", actor="t").created["skin_scores.csv"] == 24
    assert (tmp_path / "plain" / "windows.csv").read_bytes() == (tmp_path / "deid" / "windows.csv").read_bytes()


def test_an_empty_database_exports_every_bundle_file_as_its_header(sqlite_engine, tmp_path):
    """"writes all five bundle files (header only when a table is empty)"."""
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    for spec in BUNDLE_FILES:
        text = (tmp_path / "out" / spec.name).read_bytes().decode("utf-8")
        columns = [c for c in spec.columns if c != "age_at_baseline"]  # written only when some patient has one
        assert text == ",".join(columns) + "\r\n", spec.name


def test_raters_are_renamed_consistently_and_blank_stays_blank(sqlite_engine, tmp_path, monkeypatch):
    """"raters become `rater-1`, `rater-2` … consistently within the export (blank stays blank)": one rater has one
    label in skin_scores.csv and measurements.csv; skin_scores.csv `rater` "blank means unspecified and is kept
    blank" in both exports."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    folder = write_bundle(tmp_path / "r", {
        "patients.csv": "patient_id,diagnosis\nR1,dcSSc\nR2,SSc\n",
        "skin_scores.csv": "patient_id,visit_date,rater,total\nR1,2020-01-01,Dr Who,10\nR1,2020-01-01,,11\n"
                           "R2,2020-01-01,Dr No,12\nR2,2020-02-01,Dr Who,13\n",
        "measurements.csv": "patient_id,date,measure,value,rater\nR2,2020-01-01,haq_di,1,Dr Who\n"
                            "R2,2020-01-01,fvc_pct,80,\nR1,2020-01-01,weight,60,Dr Zed\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "plain", actor="t")
    assert sorted(r["rater"] for r in read(tmp_path / "plain" / "skin_scores.csv")) == ["", "Dr No", "Dr Who",
                                                                                        "Dr Who"]
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    back = {pseudonym(SECRET.encode(), p): p for p in ("R1", "R2")}
    labels: dict[str, set[str]] = {}
    for name in ("skin_scores.csv", "measurements.csv"):
        plain = sorted((r["patient_id"], r.get("total") or r.get("measure"), r["rater"])
                       for r in read(tmp_path / "plain" / name))
        deid = sorted((back[r["patient_id"]], r.get("total") or r.get("measure"), r["rater"])
                      for r in read(tmp_path / "deid" / name))
        for (p1, what1, real), (p2, what2, label) in zip(plain, deid, strict=True):
            assert (p1, what1) == (p2, what2)
            labels.setdefault(real, set()).add(label)
    assert labels.pop("") == {""}
    assert all(len(found) == 1 for found in labels.values())  # one label per rater, in both files
    chosen = {real: next(iter(found)) for real, found in labels.items()}
    assert len(chosen) == 3 and len(set(chosen.values())) == 3
    assert all(label.startswith("rater-") for label in chosen.values())


def test_formula_protection_in_a_deidentified_export(sqlite_engine, tmp_path, monkeypatch):
    """"A text cell — never a number or a date — that starts with `=`, `+`, `-`, `@`, tab or carriage return, or with
    `'` followed by one of those, gets a `'` in front, de-identified or not"."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    folder = write_bundle(tmp_path / "f", {
        "patients.csv": "patient_id,diagnosis\nF1,dcSSc\n",
        "skin_scores.csv": "patient_id,visit_date,total\nF1,2020-01-01,20\nF1,2020-06-01,10\n",
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,start_date,reason\n"
                           "F1,=cmd,1.5,mg,daily,2019-01-01,@reason\n",
        "events.csv": "patient_id,date,kind,agent\nF1,2020-02-01,procedure,+agent\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    medication = read(tmp_path / "deid" / "medications.csv")[0]
    assert (medication["drug"], medication["dose"]) == ("'=cmd", "1.5") and "reason" not in medication
    export_bundle(sqlite_engine, tmp_path / "plain", actor="t")
    assert read(tmp_path / "plain" / "medications.csv")[0]["reason"] == "'@reason"
    assert read(tmp_path / "deid" / "events.csv")[0]["agent"] == "'+agent"
    summary = read(tmp_path / "deid" / "summary.csv")[0]
    assert (summary["change"], summary["change_pct"]) == ("-10", "-50")  # numbers never get a quote
    visit = read(tmp_path / "deid" / "visits.csv")[0]
    assert visit["on_treatment"] == "'=cmd 1.5 mg daily"


def test_deidentified_events_that_differed_only_by_description_import(sqlite_engine, fresh_sqlite, tmp_path,
                                                                       monkeypatch):
    """"A de-identified bundle imports like any other": two adverse events of one patient on one day, told apart only
    by their descriptions, must stay two events."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    folder = write_bundle(tmp_path / "e", {
        "patients.csv": "patient_id,diagnosis\nE1,dcSSc\n",
        "events.csv": "patient_id,date,kind,description,grade,serious\nE1,2020-01-01,adverse_event,rash,1,no\n"
                      "E1,2020-01-01,adverse_event,nausea,2,no\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    report = import_bundle(fresh_sqlite("pooled"), tmp_path / "deid", actor="t")
    assert report.created["events.csv"] == 2
    text = (tmp_path / "deid" / "events.csv").read_text(encoding="utf-8")
    assert "rash" not in text and "nausea" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["description"] for r in rows) == ["event-1", "event-2"]
    assert sorted(r["grade"] for r in rows) == ["1", "2"]


def test_deidentified_events_drop_the_description_column_when_nothing_needs_a_stand_in(sqlite_engine, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    folder = write_bundle(tmp_path / "e", {
        "patients.csv": "patient_id,diagnosis\nE1,dcSSc\n",
        "events.csv": "patient_id,date,kind,description,grade,serious\nE1,2020-01-01,adverse_event,rash,1,no\n"
                      "E1,2020-01-02,adverse_event,nausea,2,no\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    header = (tmp_path / "deid" / "events.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "description" not in header


def test_a_stored_text_starting_with_a_quote_and_a_formula_character_round_trips(sqlite_engine, fresh_sqlite,
                                                                                 tmp_path):
    """"so a round trip gives back the same text": a note typed as `'=x` (as a spreadsheet user forces text)."""
    from db.patients import create_patient, get_patient

    with write_session(sqlite_engine) as session:
        create_patient(session=session, data={"patient_id": "P1", "diagnosis": "SSc", "notes": "'=x"}, actor="t")
    export_bundle(sqlite_engine, tmp_path / "out", actor="t")
    target = fresh_sqlite("target")
    import_bundle(target, tmp_path / "out", actor="t")
    assert get_patient(target, "P1")["notes"] == "'=x"
