"""FHIR output from a real database (SQLite and PostgreSQL): the NDJSON bulk export of the demo registry validates
line by line, is audited like every export and is the same on both databases; a patient's $everything Bundle
resolves every reference inside itself; de-identified output carries no identifier, name, MRN or original date."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from db.audit import load_audit
from db.engine import make_engine
from exchange.fhir import bulk, everything_json, export_fhir_bulk, patient_everything, patient_id_of_resource
from exchange.fhir.mapping import patient_resource_id
from models.catalog import ORGAN_EVENT_KINDS
from models.errors import InvalidValue, UnknownPatient

SECRET = "fhir-test-secret"
BASE = "https://skintrack.example.org/fhir"
DEMO_SIZE = 60  # the size `python cli.py demo` loads


@pytest.fixture
def fhir_settings(monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    monkeypatch.setenv("SKINTRACK_FHIR_BASE", BASE)


def load_demo(engine, size: int = DEMO_SIZE):
    """The demo registry, written through the importer's bulk path (the only place these tests name the demo)."""
    from demo import generate_registry, load_registry

    registry = generate_registry(size)
    load_registry(engine, registry, actor="fixture")
    return registry


@pytest.fixture
def demo(engine, fhir_settings):
    return engine, load_demo(engine)


def ndjson(folder: Path) -> dict[str, list[str]]:
    return {path.stem: path.read_text(encoding="utf-8").splitlines() for path in sorted(folder.glob("*.ndjson"))}


def test_bulk_export_of_the_demo_registry_validates_line_by_line(demo, tmp_path):
    engine, registry = demo
    result = export_fhir_bulk(engine, tmp_path / "fhir", actor="tester")
    files = ndjson(tmp_path / "fhir")
    assert set(files) == {"CodeSystem", "Patient", "Condition", "Observation", "MedicationStatement",
                          "MedicationAdministration", "AdverseEvent"}  # the demo has no procedure: no file
    assert {kind: len(lines) for kind, lines in files.items()} == result.counts
    assert result.patients == DEMO_SIZE
    manifest = result.manifest(request=f"{BASE}/$export", url_for=lambda path: f"{BASE}/files/{path.name}",
                               transaction_time="2026-01-01T00:00:00+00:00")
    assert manifest["output"][1] == {"type": "Patient", "url": f"{BASE}/files/Patient.ndjson", "count": DEMO_SIZE}
    assert result.lines()[0].startswith(f"exported {DEMO_SIZE} patients (identified, FHIR NDJSON)")
    for kind, lines in files.items():
        model_class = get_fhir_model_class(kind)
        for number, line in enumerate(lines, start=1):
            model = model_class.model_validate_json(line)  # each line one resource of the file's type
            if number <= 25:  # the round trip of every kind of resource is test_fhir_mapping's; here a sample
                assert json.loads(model.model_dump_json()) == json.loads(line), f"{kind}.ndjson:{number}"
                assert model_class.model_validate_json(model.model_dump_json()) == model
    counts = registry.counts()
    assert len(files["Patient"]) == counts["patients"]
    assert len(files["Observation"]) == counts["skin_scores"] + counts["measurements"]
    assert len(files["MedicationStatement"]) == counts["medications"]
    organ = sum(1 for event in registry.events if event["kind"] in ORGAN_EVENT_KINDS)  # DEMO-0006's ILD progression
    assert organ == 1 and len(files["Condition"]) == counts["patients"] + organ  # the diagnoses, and organ events
    assert len(files["MedicationAdministration"]) + len(files["AdverseEvent"]) + organ == counts["events"]
    ids = [json.loads(line)["id"] for line in files["Observation"]]
    assert len(set(ids)) == len(ids)


def test_bulk_export_is_audited_like_every_export(demo, tmp_path):
    engine, _ = demo
    export_fhir_bulk(engine, tmp_path / "fhir", actor="tester", deidentify=True, patients=["DEMO-0002", "DEMO-0001"])
    row = load_audit(engine, actor="tester", action="export").iloc[0]
    assert row["entity"] == "bundle"
    assert row["detail"].startswith("de-identified fhir export of 2 patients (selected)")
    assert str(tmp_path / "fhir") in row["detail"]


def test_patients_limit_the_export_and_unknown_ones_are_refused(demo, tmp_path):
    engine, _ = demo
    out = tmp_path / "fhir"
    out.mkdir()
    (out / "Procedure.ndjson").write_text("left by an earlier export\n")
    result = export_fhir_bulk(engine, out, actor="tester", patients=["DEMO-0003"])
    assert result.patients == 1 and not (out / "Procedure.ndjson").exists()
    patients = [json.loads(line)["id"] for line in ndjson(out)["Patient"]]
    assert patients == ["DEMO-0003"]
    subjects = {json.loads(line)["subject"]["reference"] for line in ndjson(out)["Observation"]}
    assert subjects == {"Patient/DEMO-0003"}
    before = ndjson(out)
    with pytest.raises(UnknownPatient, match="NOPE"):
        export_fhir_bulk(engine, out, actor="tester", patients=["DEMO-0003", "NOPE"])
    assert ndjson(out) == before  # nothing written
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidValue):
        export_fhir_bulk(engine, tmp_path / "file", actor="tester")
    assert not list(tmp_path.glob(".*partial*"))


def test_chunks_do_not_change_the_output(demo, tmp_path, monkeypatch):
    """Patients are read CHUNK at a time (bounded memory); chunk boundaries change nothing, raters included."""
    engine, _ = demo
    export_fhir_bulk(engine, tmp_path / "one", actor="t", deidentify=True)
    export_fhir_bulk(engine, tmp_path / "plain-one", actor="t")
    monkeypatch.setattr(bulk, "CHUNK", 25)
    export_fhir_bulk(engine, tmp_path / "many", actor="t", deidentify=True)
    export_fhir_bulk(engine, tmp_path / "plain-many", actor="t")
    assert ndjson(tmp_path / "one") == ndjson(tmp_path / "many")
    assert ndjson(tmp_path / "plain-one") == ndjson(tmp_path / "plain-many")


def references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for item in value.values() for r in references(item)]
    if isinstance(value, list):
        return [r for item in value for r in references(item)]
    return []


@pytest.mark.parametrize("patient_id", ["DEMO-0001", "DEMO-0002", "DEMO-0003"])
def test_everything_bundle_references_all_resolve_inside_the_bundle(demo, patient_id):
    engine, _ = demo
    bundle = everything_json(engine, patient_id)
    assert bundle["type"] == "searchset" and bundle["total"] == len(bundle["entry"])
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    assert full_urls[0] == f"{BASE}/Patient/{patient_id}"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{BASE}/{resource['resourceType']}/{resource['id']}"
        for reference in references(resource):
            assert f"{BASE}/{reference}" in full_urls, (resource["id"], reference)
    subjects = {r for e in bundle["entry"][1:] for r in references(e["resource"]) if r.startswith("Patient/")}
    assert subjects == {f"Patient/{patient_id}"}


def test_everything_bundle_parses_and_round_trips_and_names_the_suspect(demo):
    engine, _ = demo
    model = patient_everything(engine, "DEMO-0001")
    again = type(model).model_validate_json(model.model_dump_json())
    assert again == model
    kinds = [entry.resource.get_resource_type() for entry in model.entry]
    assert kinds[:2] == ["Patient", "Condition"] and "AdverseEvent" in kinds
    with pytest.raises(UnknownPatient):
        everything_json(engine, "NOPE")
    assert patient_id_of_resource(engine, "DEMO-0001") == "DEMO-0001"
    assert patient_id_of_resource(engine, "NOPE") is None


def pseudonym(patient_id: str) -> str:
    return "S-" + hmac.new(SECRET.encode(), patient_id.encode(), hashlib.sha256).digest()[:5].hex()


def test_deidentified_export_has_no_identifier_name_mrn_text_or_original_date(demo, tmp_path):
    engine, registry = demo
    result = export_fhir_bulk(engine, tmp_path / "deid", actor="tester", deidentify=True)
    assert result.deidentified
    files = ndjson(tmp_path / "deid")
    text = "\n".join("\n".join(lines) for lines in files.values())
    identifying = {p["patient_id"] for p in registry.patients}
    identifying |= {p[c] for p in registry.patients for c in ("name", "mrn", "notes") if p[c]}
    identifying |= {e["description"] for e in registry.events if e["description"]}
    identifying |= {m["reason"] for m in registry.medications if m["reason"]}
    identifying |= {s["rater"] for s in registry.skin_scores if s["rater"]}
    identifying |= {m["rater"] for m in registry.measurements if m["rater"]}
    for value in identifying:
        assert value not in text, value
    assert "birthDate" not in text and "NamingSystem/patient-id" not in text and "NamingSystem/mrn" not in text
    # the pseudonyms of EXCHANGE.md, in pseudonym order (the identifiers' order does not show through)
    patients = [json.loads(line) for line in files["Patient"]]
    assert [p["id"] for p in patients] == sorted(pseudonym(p["patient_id"]) for p in registry.patients)


def test_one_deidentified_patient_checked_by_hand(demo, tmp_path):
    """DEMO-0001 (born 1968, first visit 2023-01-10, scored by Dr Alvarez and once by Dr Brennan): pseudonym,
    dates shifted by one offset of 1-180 days either way, no original date, raters renumbered, age 55."""
    engine, _ = demo
    export_fhir_bulk(engine, tmp_path / "deid", actor="tester", deidentify=True, patients=["DEMO-0001"])
    files = ndjson(tmp_path / "deid")
    resources = [json.loads(line) for kind, lines in files.items() if kind != "CodeSystem" for line in lines]
    pid = pseudonym("DEMO-0001")
    patient = json.loads(files["Patient"][0])
    assert patient["id"] == pid and patient["identifier"][0]["value"] == pid
    assert patient["extension"][0]["valueAge"]["value"] == 2023 - 1968
    assert "name" not in patient and "birthDate" not in patient and patient["gender"] == "female"
    mrss = [r for r in resources if r["id"].startswith("mrss-")]
    original = [date(2023, 1, 10) + timedelta(days=d) for d in (0, 91, 182, 182, 273, 365, 548)]
    shifted = sorted(date.fromisoformat(r["effectiveDateTime"]) for r in mrss)
    offsets = {(s - o).days for s, o in zip(shifted, original, strict=True)}
    assert len(offsets) == 1 and 1 <= abs(offsets.pop()) <= 180
    text = json.dumps(resources)
    for day in (*original, date(2022, 6, 1), date(2023, 1, 20), date(2023, 6, 30), date(2023, 7, 1),
                date(2023, 8, 14), date(2023, 9, 20)):
        assert day.isoformat() not in text, day
    raters = {r["performer"][0]["display"] for r in mrss}
    assert raters == {"rater-1", "rater-2"}
    assert all(r["subject"]["reference"] == f"Patient/{pid}" for r in resources if r["resourceType"] != "Patient")


def test_deidentified_everything_bundle_uses_the_pseudonym(demo):
    engine, _ = demo
    bundle = everything_json(engine, "DEMO-0002", deidentify=True)
    text = json.dumps(bundle)
    assert "DEMO-0002" not in text and "Bo Demo" not in text and "Dr Chen" not in text
    assert bundle["entry"][0]["fullUrl"] == f"{BASE}/Patient/{pseudonym('DEMO-0002')}"


def test_sqlite_and_postgresql_give_the_same_files(sqlite_url, pg_url, fhir_settings, tmp_path):
    outputs = []
    for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        engine = make_engine(url)
        try:
            load_demo(engine, 25)
            export_fhir_bulk(engine, tmp_path / name, actor="t")
            export_fhir_bulk(engine, tmp_path / f"{name}-deid", actor="t", deidentify=True)
        finally:
            engine.dispose()
        outputs.append((ndjson(tmp_path / name), ndjson(tmp_path / f"{name}-deid")))
    assert outputs[0] == outputs[1]


def test_default_base_is_the_installations_own_and_stable(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    monkeypatch.delenv("SKINTRACK_FHIR_BASE", raising=False)
    load_demo(engine, 3)
    first = everything_json(engine, "DEMO-0003")
    second = everything_json(engine, "DEMO-0003")
    assert first["entry"][0]["fullUrl"] == second["entry"][0]["fullUrl"]
    assert ".invalid/fhir/Patient/DEMO-0003" in first["entry"][0]["fullUrl"]
    assert patient_resource_id("DEMO-0003") == "DEMO-0003"
