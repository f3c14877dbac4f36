"""What an export leaves on disk: everything or nothing, and a clear refusal where a workbook cannot hold it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo import generate_registry, load_registry
from exchange import export_bundle, exporter
from exchange.exporter import SHEET_ORDER, protect_cell
from exchange.reader import FORMULA_START, unescape
from exchange.sinks import CsvSink
from models.errors import InvalidValue


@pytest.fixture
def registry(fresh_sqlite):
    engine = fresh_sqlite("source")
    load_registry(engine, generate_registry(4), actor="fixture")
    return engine


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_a_failed_csv_export_leaves_the_folder_as_it_was(registry, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export_bundle(registry, out, actor="t")
    before = {name: (out / name).read_bytes() for name in SHEET_ORDER}

    real_write = CsvSink.write

    def failing_write(sink, name, frame, kinds):
        if name == "summary.csv":  # after the five bundle files and visits.csv of the chunk were written
            raise OSError("disk full")
        real_write(sink, name, frame, kinds)

    monkeypatch.setattr(CsvSink, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        export_bundle(registry, out, deidentify=True, actor="t")
    assert _files(out) == sorted(SHEET_ORDER)  # no staging folder, no stray file
    assert {name: (out / name).read_bytes() for name in SHEET_ORDER} == before  # the earlier export is intact


def test_a_failed_workbook_export_leaves_no_file(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 10)
    with pytest.raises(InvalidValue) as refused:
        export_bundle(registry, tmp_path / "books" / "book.xlsx", fmt="xlsx", actor="t")
    assert refused.value.problems[0].field == "format"
    assert "skin_scores.csv has more rows than an Excel sheet holds (9)" in str(refused.value)
    assert "export as CSV" in str(refused.value)
    assert _files(tmp_path / "books") == []


def test_a_workbook_within_the_limit_is_written(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 10_000)
    result = export_bundle(registry, tmp_path / "books" / "book.xlsx", fmt="xlsx", actor="t")
    assert _files(tmp_path / "books") == ["book.xlsx"] and result.rows["skin_scores.csv"] > 9


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("'=+-@\t\rax 1"), max_size=8) | st.text(max_size=8))
def test_every_text_comes_back_from_its_protected_form(text):
    """The export's formula protection and the import's unescape are inverse: a round trip gives back the text,
    and no protected cell starts with a formula character."""
    protected = protect_cell(text)
    assert unescape(protected) == text
    assert protected[:1] not in FORMULA_START


def test_identifiers_in_any_script_round_trip(fresh_sqlite, tmp_path):
    from exchange import import_bundle
    from tests.exchange.conftest import write_bundle

    bundle = write_bundle(tmp_path / "in", {
        "patients.csv": "patient_id,diagnosis\nZürich-01,NSF\n患者-0007,SSc\n",
        "skin_scores.csv": "patient_id,visit_date,total\nZürich-01,2020-01-01,12\n患者-0007,2020-02-01,30.5\n"})
    first = fresh_sqlite("first")
    assert import_bundle(first, bundle, actor="t").created["skin_scores.csv"] == 2
    export_bundle(first, tmp_path / "out", actor="t")
    assert "患者-0007,2020-02-01" in (tmp_path / "out" / "skin_scores.csv").read_text(encoding="utf-8")
    second = fresh_sqlite("second")
    assert import_bundle(second, tmp_path / "out", actor="t").created["patients.csv"] == 2


def test_a_workbook_takes_text_with_control_characters(fresh_sqlite, tmp_path):
    """A vertical tab (a word processor's line break) cannot sit in a workbook's XML: a space stands in there,
    while the CSV file keeps the text as it is."""
    import openpyxl
    from sqlalchemy import text

    engine = fresh_sqlite("vt")
    # written before the one text rule refused control characters (a database of an older version)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO patient (patient_id, diagnosis, name, mrn, notes, data_version, "
                                "centre_key) VALUES ('P1', 'SSc', '', '', :notes, 0, 1)"),
                           {"notes": "line\x0bbreak\x01"})
    export_bundle(engine, tmp_path / "book.xlsx", fmt="xlsx", actor="t")
    sheet = openpyxl.load_workbook(tmp_path / "book.xlsx", read_only=True)["patients"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][rows[0].index("notes")] == "line break "
    export_bundle(engine, tmp_path / "csv", actor="t")
    assert "line\x0bbreak\x01" in (tmp_path / "csv" / "patients.csv").read_text(encoding="utf-8")


def test_an_interrupted_export_leaves_nothing_inside_the_bundle_folder(registry, tmp_path, monkeypatch):
    """The files are staged beside OUT, so even a killed export cannot leave a stray folder that would make the
    bundle folder itself fail to import."""
    seen = []
    real_write = CsvSink.write

    def watching_write(sink, name, frame, kinds):
        seen.append(sorted(p.name for p in (tmp_path / "out").iterdir()))
        real_write(sink, name, frame, kinds)

    monkeypatch.setattr(CsvSink, "write", watching_write)
    export_bundle(registry, tmp_path / "out", actor="t")
    assert seen and all(listing == [] for listing in seen)  # nothing inside OUT while the export runs
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # staging removed


def test_a_folder_export_removes_the_files_an_earlier_export_left_there(engine, tmp_path, monkeypatch):
    """An export into a folder that holds an earlier export of another format: the earlier datasets were left beside
    the new ones (a de-identified SPSS export lay beside the identified CSV files it replaced, and the folder no
    longer imported: `patients.sav: unknown file`). Every file name an export writes that this one does not is
    removed; the dictionary is rewritten and any other file of the folder is kept."""
    from exchange import import_bundle

    monkeypatch.setenv("SKINTRACK_SECRET", "stale-files")
    load_registry(engine, generate_registry(3), actor="fixture")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    export_bundle(engine, folder, actor="t")
    assert (folder / "patients.csv").read_text(encoding="utf-8").count("DEMO-000") == 3
    export_bundle(engine, folder, fmt="spss", deidentify=True, actor="t")
    names = {p.name for p in folder.iterdir()}
    assert names == {"notes.txt", "dictionary.csv", *(n.replace(".csv", ".sav") for n in SHEET_ORDER)}
    assert not any(b"DEMO-000" in p.read_bytes() for p in folder.iterdir())
    export_bundle(engine, folder, actor="t")
    assert {p.name for p in folder.iterdir()} == {"notes.txt", *SHEET_ORDER}
    (folder / "notes.txt").unlink()
    assert import_bundle(engine, folder, actor="t", dry_run=True).lines()[0].startswith("dry run")
