"""Centres in the exchange (issue 16): patients.csv's `centre` column on import and export, exports limited to a
scope and to chosen centres, the identified export refused per centre, imports refused whole for unknown centres
and rows outside the importer's scope, and the round trip between two multi-centre databases."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import select

import cli
from db.centres import add_centre, centre_keys
from db.engine import write_session
from db.scope import scoped
from exchange import BundleRejected, export_bundle, export_bytes, import_bundle
from exchange.fhir import everything_json, export_fhir_bulk
from exchange.spec import FILES_BY_NAME
from models import Centre, Patient
from models.errors import InvalidValue, NotPermitted, UnknownPatient
from models.scope import Scope
from tests.exchange.conftest import EXAMPLE, counts, write_bundle

PATIENTS = "patient_id,centre,diagnosis,birth_year,name\nPA,A,dcSSc,1960,Ann\nPB,B,lcSSc,1970,Bob\nPM,MAIN,SSc,1980,\n"
SCORES = ("patient_id,visit_date,rater,total\nPA,2020-01-10,dr a,20\nPB,2020-02-10,dr b,30\n"
          "PM,2020-03-10,dr a,25\n")


def _centres(engine, *codes) -> dict[str, int]:
    with write_session(engine) as session:
        for code in codes:
            add_centre(session=session, data={"code": code, "name": f"Centre {code}"}, actor="admin")
    return centre_keys(engine, codes)


def _registry(engine, tmp_path) -> dict[str, int]:
    """Centres A and B beside MAIN; PA at A, PB at B, PM at MAIN, one assessment each (imported, unscoped)."""
    keys = _centres(engine, "A", "B")
    import_bundle(engine, write_bundle(tmp_path / "registry", {"patients.csv": PATIENTS, "skin_scores.csv": SCORES}),
                  actor="admin")
    return keys


def _rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _centre_of(engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(select(Patient.patient_id, Centre.code).join(
            Centre, Centre.centre_key == Patient.centre_key)).all())


def _problems(engine, files: dict[str, str], **options) -> list[str]:
    with pytest.raises(BundleRejected) as rejected:
        import_bundle(engine, {name: text.encode() for name, text in files.items()}, actor="t", **options)
    return list(rejected.value.problems.lines())


def _only(keys, *codes, identified=()) -> Scope:
    return Scope(frozenset(keys[c] for c in codes), frozenset(keys[c] for c in identified), tuple(codes))


def test_exports_carry_the_centre_identified_and_deidentified(engine, tmp_path):
    _registry(engine, tmp_path)
    export_bundle(engine, tmp_path / "plain", actor="t", workers=1)
    people = _rows(tmp_path / "plain" / "patients.csv")
    assert list(people[0])[:3] == ["patient_id", "centre", "diagnosis"]
    assert {r["patient_id"]: r["centre"] for r in people} == {"PA": "A", "PB": "B", "PM": "MAIN"}
    assert {r["patient_id"]: r["centre"] for r in _rows(tmp_path / "plain" / "summary.csv")} == {
        "PA": "A", "PB": "B", "PM": "MAIN"}
    dictionary = {(r["file"], r["column"]): r for r in _rows(tmp_path / "plain" / "dictionary.csv")}
    assert "centre" in dictionary[("patients.csv", "centre")]["meaning"]
    export_bundle(engine, tmp_path / "deid", deidentify=True, actor="t", workers=1)
    hidden = _rows(tmp_path / "deid" / "patients.csv")
    assert sorted(r["centre"] for r in hidden) == ["A", "B", "MAIN"]  # a centre is not a person: kept
    assert all(r["patient_id"].startswith("S-") and "name" not in r for r in hidden)
    pseudonyms = {r["patient_id"]: r["centre"] for r in hidden}
    assert {r["patient_id"]: r["centre"] for r in _rows(tmp_path / "deid" / "summary.csv")} == pseudonyms


def test_statistical_formats_and_fhir_carry_the_centre(sqlite_engine, tmp_path):
    _registry(sqlite_engine, tmp_path)
    data = export_bytes(sqlite_engine, fmt="parquet", deidentify=True, actor="t")
    import pyarrow.parquet as pq

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        table = pq.read_table(io.BytesIO(archive.read("patients.parquet")))
    assert sorted(table.column("centre").to_pylist()) == ["A", "B", "MAIN"]
    result = export_fhir_bulk(sqlite_engine, tmp_path / "fhir", deidentify=True, actor="t")
    patients = [json.loads(line) for line in result.files()["Patient"].read_text().splitlines()]
    assert sorted(p["managingOrganization"]["identifier"]["value"] for p in patients) == ["A", "B", "MAIN"]
    assert all(p["managingOrganization"]["identifier"]["system"].endswith("/NamingSystem/centre") for p in patients)


def test_an_export_can_be_limited_to_centres(engine, tmp_path):
    _registry(engine, tmp_path)
    result = export_bundle(engine, tmp_path / "a", centres="A", actor="t", workers=1)
    assert result.patients == 1 and [r["patient_id"] for r in _rows(tmp_path / "a" / "skin_scores.csv")] == ["PA"]
    data = export_bytes(engine, fmt="zip", centres=["B", "MAIN"], actor="t")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        people = list(csv.DictReader(io.StringIO(archive.read("patients.csv").decode())))
    assert [(r["patient_id"], r["centre"]) for r in people] == [("PB", "B"), ("PM", "MAIN")]
    with pytest.raises(InvalidValue) as unknown:
        export_bytes(engine, centres="ZZ", actor="t")
    assert unknown.value.field == "centre" and "no centre ZZ" in unknown.value.reason
    with pytest.raises(UnknownPatient) as elsewhere:
        export_bytes(engine, centres="A", patients=["PB"], actor="t")
    assert "not of the centres chosen (A): 'PB' (B)" in elsewhere.value.reason


def test_the_command_line_takes_centre(sqlite_url, tmp_path, monkeypatch, capsys):
    from db.engine import make_engine

    engine = make_engine(sqlite_url)
    _registry(engine, tmp_path)
    engine.dispose()
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    assert cli.main(["export", str(tmp_path / "out"), "--centre", "A,MAIN"]) == 0, capsys.readouterr().err
    assert [r["patient_id"] for r in _rows(tmp_path / "out" / "patients.csv")] == ["PA", "PM"]
    assert cli.main(["export", str(tmp_path / "out2"), "--centre", "NOPE"]) == 2
    assert "--centre: no centre NOPE" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "out3"), "--centre", ","]) == 2


def test_a_scoped_export_sees_only_its_centres(engine, tmp_path):
    keys = _registry(engine, tmp_path)
    only_a = scoped(engine, _only(keys, "A", identified=("A",)))
    result = export_bundle(only_a, tmp_path / "a", actor="phys", workers=1)
    assert result.patients == 1
    for name in ("patients.csv", "skin_scores.csv", "summary.csv", "visits.csv"):
        assert {r["patient_id"] for r in _rows(tmp_path / "a" / name)} == {"PA"}, name
    with pytest.raises(UnknownPatient) as hidden:  # another centre's patient: as if it did not exist
        export_bytes(only_a, patients=["PB"], actor="phys")
    assert hidden.value.reason == "no live patient 'PB'"
    with pytest.raises(NotPermitted) as outside:
        export_bytes(only_a, centres="B", actor="phys")
    assert outside.value.field == "centre" and "B is outside your centres (A)" in outside.value.reason
    fhir = export_fhir_bulk(only_a, tmp_path / "fhir", actor="phys")
    assert fhir.patients == 1 and '"id":"PA"' in fhir.files()["Patient"].read_text()
    with pytest.raises(UnknownPatient):
        everything_json(only_a, "PB")


def test_an_identified_export_is_refused_for_a_centre_without_the_permission(engine, tmp_path):
    keys = _registry(engine, tmp_path)
    account = scoped(engine, _only(keys, "A", "B", identified=("A",)))
    for export in (lambda: export_bytes(account, actor="c"),
                   lambda: export_fhir_bulk(account, tmp_path / "fhir", actor="c"),
                   lambda: everything_json(account, "PB")):
        with pytest.raises(NotPermitted) as refused:
            export()
        assert refused.value.field == "centre"
        assert refused.value.reason == ("this account may not export the patients of centre B identified; limit the "
                                        "export to centre A, or de-identify it")
    assert export_bundle(account, tmp_path / "a", centres="A", actor="c", workers=1).patients == 1
    assert everything_json(account, "PA")["total"] >= 1
    assert export_bundle(account, tmp_path / "deid", deidentify=True, actor="c", workers=1).patients == 2
    nowhere = scoped(engine, Scope(None, frozenset()))  # every centre, identified at none
    with pytest.raises(NotPermitted) as refused:
        export_bytes(nowhere, actor="c")
    assert "centres A, B, MAIN identified; de-identify it" in refused.value.reason


def test_a_new_patient_needs_a_centre_when_there_are_several(engine):
    _centres(engine, "A")
    bundle = {"patients.csv": "patient_id,diagnosis\nP1,dcSSc\n",
              "skin_scores.csv": "patient_id,visit_date,total\nP1,2020-01-10,20\n"}
    required = "is required: this registry has 2 active centres"
    first, second = _problems(engine, bundle)
    assert first.startswith(f"patients.csv:2: centre: {required} (") and "A" in first and "MAIN" in first
    assert second.startswith(f"skin_scores.csv:2: centre: patient 'P1' is refused on patients.csv:2 ({required}")
    blank = {"patients.csv": "patient_id,centre,diagnosis\nP1,,dcSSc\n"}
    assert _problems(engine, blank)[0].startswith("patients.csv:2: centre: is required")
    import_bundle(engine, {"patients.csv": b"patient_id,centre,diagnosis\nP1,A,dcSSc\n"}, actor="t")
    # a patient already there: its row needs no centre, and names its own one or none
    report = import_bundle(engine, {"patients.csv": b"patient_id,diagnosis\nP1,dcSSc\n"}, actor="t")
    assert report.unchanged["patients.csv"] == 1
    assert _problems(engine, {"patients.csv": "patient_id,centre,diagnosis\nP1,MAIN,dcSSc\n"}) == [
        "patients.csv:2: centre: patient 'P1' belongs to centre A; a patient moves to another centre only by a "
        "transfer"]


def test_a_single_centre_database_imports_bundles_without_centres(engine, tmp_path):
    assert "centre" not in (EXAMPLE / "patients.csv").read_text().splitlines()[0]
    report = import_bundle(engine, EXAMPLE, actor="t")
    assert report.created["patients.csv"] > 0 and set(_centre_of(engine).values()) == {"MAIN"}
    export_bundle(engine, tmp_path / "out", actor="t", workers=1)
    assert {r["centre"] for r in _rows(tmp_path / "out" / "patients.csv")} == {"MAIN"}
    assert "centre" not in _rows(tmp_path / "out" / "summary.csv")[0]  # one centre: the example's summary.csv


def test_unknown_centres_and_rows_outside_the_scope_refuse_the_bundle_whole(engine, tmp_path):
    keys = _centres(engine, "A", "B")
    import_bundle(engine, {"patients.csv": b"patient_id,centre,diagnosis\nOLD-B,B,SSc\n"}, actor="admin")
    before = counts(engine)
    only_a = scoped(engine, _only(keys, "A"))
    bundle = {
        "patients.csv": "patient_id,centre,diagnosis\nP1,A,dcSSc\nP2,ZZ,dcSSc\nP3,B,lcSSc\nOLD-B,A,SSc\nP4,a b,SSc\n",
        "skin_scores.csv": "patient_id,visit_date,total\nP1,2020-01-10,20\nP3,2020-01-10,21\nP2,2020-01-10,22\n",
    }
    problems = _problems(only_a, bundle)
    assert problems == [
        "patients.csv:3: centre: no centre ZZ (centres: A, B, MAIN)",
        "patients.csv:4: centre: centre B is outside your centres (A)",
        "patients.csv:5: centre: patient 'OLD-B' belongs to a centre outside your centres (A)",
        "patients.csv:6: centre: 'a b' is not a centre code: 1-32 letters, digits, '-' or '_'",
        "skin_scores.csv:3: centre: patient 'P3' is refused on patients.csv:4 (centre B is outside your centres (A))",
        "skin_scores.csv:4: centre: patient 'P2' is refused on patients.csv:3 (no centre ZZ (centres: A, B, MAIN))",
    ]
    assert counts(engine) == before  # nothing written, not even P1
    assert _problems(only_a, bundle, dry_run=True) == problems


def test_round_trip_between_databases_with_the_same_centres(engine, fresh_sqlite, tmp_path):
    source = fresh_sqlite("source")
    _registry(source, tmp_path)
    export_bundle(source, tmp_path / "first", actor="t", workers=1)
    _centres(engine, "B", "A")  # other keys than the source's: the codes carry the centres
    report = import_bundle(engine, tmp_path / "first", actor="importer")
    assert report.created["patients.csv"] == 3
    assert _centre_of(engine) == _centre_of(source) == {"PA": "A", "PB": "B", "PM": "MAIN"}
    export_bundle(engine, tmp_path / "second", actor="t", workers=1)
    for name in FILES_BY_NAME:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name
