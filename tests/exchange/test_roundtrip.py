"""Round trip: demo registry -> export -> import into an empty database (SQLite and PostgreSQL) -> export
gives identical bundle files; the zip download and the workbook carry the same content."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl

from demo import generate_registry, load_registry
from exchange import export_bundle, export_bytes, import_bundle
from exchange.exporter import SHEET_ORDER
from tests.exchange.conftest import counts


def _same_centres(engine) -> None:
    from db.centres import add_centre
    from db.engine import write_session
    from demo import DEMO_CENTRES

    with write_session(engine) as session:
        for centre in reversed(DEMO_CENTRES):  # created in another order than the source's: keys differ
            add_centre(session=session, data={"code": centre.code, "name": centre.name, "country": centre.country},
                       actor="t")


def test_demo_round_trip_gives_identical_files(engine, fresh_sqlite, tmp_path):
    source = fresh_sqlite("source")
    load_registry(source, generate_registry(12), actor="fixture")
    first = export_bundle(source, tmp_path / "first", actor="t")
    assert first.patients == 12 and first.rows["skin_scores.csv"] > 100
    _same_centres(engine)  # the bundle names the demo's centres: the target database has them (other keys)
    report = import_bundle(engine, tmp_path / "first", actor="importer")
    assert report.created["patients.csv"] == 12 and report.created["skin_scores.csv"] == first.rows["skin_scores.csv"]
    export_bundle(engine, tmp_path / "second", actor="t")
    for name in SHEET_ORDER:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name
    # the same again: nothing changes, and the export folder (derived files included) imports as it is
    before = counts(engine)
    again = import_bundle(engine, tmp_path / "second", actor="importer")
    assert again.changed == 0 and sum(again.unchanged.values()) == sum(first.rows[n] for n in (
        "patients.csv", "skin_scores.csv", "measurements.csv", "medications.csv", "events.csv"))
    after = counts(engine)
    assert {k: v for k, v in after.items() if k != "audit_event"} == {k: v for k, v in before.items()
                                                                        if k != "audit_event"}


def test_zip_download_imports_and_workbook_has_every_sheet(fresh_sqlite, tmp_path):
    source = fresh_sqlite("source")
    load_registry(source, generate_registry(5), actor="fixture")
    data = export_bytes(source, fmt="zip", actor="t")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(SHEET_ORDER)
    target = fresh_sqlite("target")
    _same_centres(target)
    assert import_bundle(target, data, actor="t").created["patients.csv"] == 5
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(source, fmt="xlsx", actor="t")), read_only=True)
    assert book.sheetnames == [n.removesuffix(".csv") for n in SHEET_ORDER]
    rows = list(book["skin_scores"].iter_rows(values_only=True))
    assert rows[0][:3] == ("patient_id", "visit_date", "rater")
    assert isinstance(rows[1][-1], int | float)  # numbers are numbers in the workbook
    assert [r[1] for r in book["dictionary"].iter_rows(values_only=True)][1] == "patient_id"
    export_bundle(source, tmp_path / "book.xlsx", fmt="xlsx", actor="t")
    assert (tmp_path / "book.xlsx").stat().st_size > 5000


def test_deidentified_bundle_imports_like_any_other(fresh_sqlite, tmp_path):
    source = fresh_sqlite("source")
    load_registry(source, generate_registry(6), actor="fixture")
    export_bundle(source, tmp_path / "deid", deidentify=True, actor="t")
    pooled = fresh_sqlite("pooled")
    _same_centres(pooled)
    report = import_bundle(pooled, tmp_path / "deid", actor="t")
    assert report.created["patients.csv"] == 6
    export_bundle(pooled, tmp_path / "again", actor="t")
    for name in ("skin_scores.csv", "measurements.csv", "visits.csv", "summary.csv", "windows.csv",
                 "window_values.csv", "response.csv", "activity.csv"):
        assert (tmp_path / "deid" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    # the medication reason is removed from the de-identified bundle; the identified re-export has it, blank
    deid_rows = list(csv.DictReader(open(tmp_path / "deid" / "medications.csv", encoding="utf-8")))
    again_rows = list(csv.DictReader(open(tmp_path / "again" / "medications.csv", encoding="utf-8")))
    assert "reason" not in deid_rows[0] and {r.pop("reason") for r in again_rows} == {""}
    assert deid_rows == again_rows
    header = (tmp_path / "again" / "patients.csv").read_text().splitlines()[0]
    assert "age_at_baseline" in header  # a stored age is exported (identified export of pooled data)
