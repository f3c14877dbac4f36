"""Imports, exports and derived tables over the API (SQLite and PostgreSQL): the import's report is the CLI's, line
for line, all or nothing; the streamed export holds the CLI export's files byte for byte; window_values as JSON
rows; FHIR $everything and the asynchronous bulk export with its status URL and NDJSON files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

import cli
from db.audit import load_audit
from tests.api.conftest import PATIENTS
from tests.exchange.conftest import EXAMPLE, counts, write_bundle


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def cli_run(monkeypatch, capsys, engine, *args) -> tuple[int, str, str]:
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_refused_import_reports_as_the_cli_and_writes_nothing(api, tmp_path, monkeypatch, capsys):
    bad = write_bundle(tmp_path / "bad", {p.name: p.read_bytes() for p in EXAMPLE.iterdir()})
    text = (bad / "measurements.csv").read_text(encoding="utf-8").splitlines()
    text[1] = text[1].replace(text[1].split(",")[1], "2020-13-45", 1)
    (bad / "measurements.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    archive = tmp_path / "bad.zip"
    archive.write_bytes(zipped(bad))
    before = counts(api.engine)
    response = api.send("POST", "admin", "/imports", files={"bundle": ("bad.zip", archive.read_bytes())})
    assert response.status_code == 422
    assert counts(api.engine) == before
    code, _, err = cli_run(monkeypatch, capsys, api.engine, "import", str(archive))
    assert code == 1
    body = response.json()
    assert body["problems"] + [body["summary"]] == err.splitlines()
    assert body["problems"] and body["detail"][0]["field"] == "bundle"


def test_an_import_is_audited_with_the_token(api, tmp_path):
    archive = zipped(EXAMPLE)
    dry = api.send("POST", "admin", "/imports", params={"dry_run": True}, files={"bundle": ("ex.zip", archive)})
    assert dry.status_code == 200 and dry.json()["imported"] is False
    done = api.send("POST", "admin", "/imports", files={"bundle": ("ex.zip", archive)})
    assert done.status_code == 200, done.text
    assert done.json()["imported"] and done.json()["lines"]
    assert load_audit(api.engine, action="import")["actor"].tolist()[0] == "admin via token 'admin script'"


@pytest.mark.slow  # two whole exports (~3 s)
def test_the_streamed_export_is_the_cli_export(api, tmp_path, monkeypatch, capsys):
    response = api.get("coordinator", "/exports", params={"months": "6,12"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "deidentified" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        served = {name: archive.read(name) for name in archive.namelist()}
    code, _, err = cli_run(monkeypatch, capsys, api.engine, "export", str(tmp_path / "cli"), "--deidentify",
                           "--months", "6,12")
    assert code == 0, err
    written = {path.name: path.read_bytes() for path in (tmp_path / "cli").iterdir()}
    assert served == written
    exports = load_audit(api.engine, action="export")
    assert exports["actor"].tolist()[-1] == "coordinator via token 'coordinator script'"
    assert exports["detail"].iloc[-1].startswith(f"de-identified csv export of {PATIENTS} patients")
    identified = api.get("coordinator", "/exports", params={"deidentify": False})
    assert identified.status_code == 403 and identified.json()["detail"][0]["field"] == "deidentify"
    xlsx = api.get("admin", "/exports", params={"format": "xlsx", "deidentify": False, "patients": "DEMO-0001"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert api.get("admin", "/exports", params={"patients": "NOPE"}).json()["detail"][0]["field"] == "patients"


def test_window_values_as_json_rows(api, tmp_path, monkeypatch, capsys):
    response = api.get("coordinator", "/derived/window_values")
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    cli_run(monkeypatch, capsys, api.engine, "export", str(tmp_path / "cli"), "--deidentify")
    lines = (tmp_path / "cli" / "window_values.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(lines) - 1 and list(rows[0]) == lines[0].split(",")
    assert all(row["patient_id"].startswith("S-") for row in rows)
    assert api.get("coordinator", "/derived/nonsense").json()["detail"][0]["field"] == "table"


def test_an_unknown_anchor_drug_is_a_422_naming_the_stored_drugs(api):
    """An anchor drug that no medication period holds (a typo, another case) is refused, not answered with every
    baseline blank; a stored one is answered."""
    from db.treatments import load_medications

    drugs = sorted(set(load_medications(api.engine)["drug"]))
    assert drugs
    for url in ("/exports", "/derived/summary"):
        response = api.get("coordinator", url, params={"anchor_drug": drugs[0].upper()})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["field"] == "anchor_drug" and ", ".join(drugs) in detail["msg"]
    response = api.get("coordinator", "/derived/summary", params={"anchor_drug": drugs[0]})
    assert response.status_code == 200, response.text


@pytest.mark.slow  # the R4B models' import and a bulk export (~3-4 s)
def test_fhir_everything_and_bulk_export(api):
    bundle = api.get("staff", "/fhir/Patient/DEMO-0001/$everything")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("application/fhir+json")
    body = bundle.json()
    assert body["resourceType"] == "Bundle" and body["entry"][0]["resource"]["resourceType"] == "Patient"
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(body)
    missing = api.get("staff", "/fhir/Patient/NOPE/$everything")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert load_audit(api.engine, action="api_read", patient="DEMO-0001")["detail"].str.contains(
        "everything").any()

    status_url, status = api.bulk_export("coordinator", polls=200)
    assert status.status_code == 200
    manifest = status.json()
    assert manifest["requiresAccessToken"] and manifest["error"] == []
    kinds = {item["type"]: item for item in manifest["output"]}
    assert kinds["Patient"]["count"] == PATIENTS
    assert api.client.get(status_url, headers=api.headers("admin")).status_code == 404  # another account's job
    patients = api.client.get(kinds["Patient"]["url"], headers=api.headers("coordinator"))
    assert patients.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in patients.text.splitlines()]
    assert len(lines) == PATIENTS and all(p["id"].startswith("S-") and "name" not in p for p in lines)
    assert api.client.delete(status_url, headers=api.headers("coordinator")).status_code == 202
    assert api.client.get(kinds["Patient"]["url"], headers=api.headers("coordinator")).status_code == 404
    assert "fhir export" in load_audit(api.engine, action="export")["detail"].iloc[0]


@pytest.mark.parametrize("query", ["_since=2026-01-01T00:00:00Z", "_typeFilter=Observation%3Fcode%3Dmrss",
                                   "patient=Patient/DEMO-0001", "_elements=id", "_outputFormat=text/csv"])
def test_bulk_export_refuses_the_parameters_it_does_not_implement(api, query):
    """An ignored `_since` answered an incremental client with the whole registry as if it were the changes, an
    ignored `patient` with every patient: each parameter the export does not implement is a 422 naming it, and no
    job starts."""
    answer = api.get("coordinator", f"/fhir/$export?{query}")
    assert answer.status_code == 422, answer.text
    assert "Content-Location" not in answer.headers
    assert answer.json()["detail"][0]["field"] == query.split("=")[0]
    assert len(api.client.app.state.jobs.jobs) == 0


@pytest.mark.slow  # a spawned process and its forked workers (~5 s)
def test_a_large_export_runs_in_a_process_of_its_own_with_the_same_files(sqlite_engine, tmp_path):
    """Beyond one chunk of patients the API's export runs in a spawned process whose export forks the CLI's worker
    processes; here forced with chunks of 2 patients: the files are those of the export in the server's thread."""
    from api.transfer import run_export
    from demo import generate_registry, load_registry

    load_registry(sqlite_engine, generate_registry(5), actor="fixture")
    options = {"deidentify": True, "anchor_drug": None, "months": [6, 12], "response_month": 12, "patients": None}
    run_export(sqlite_engine, tmp_path / "thread", "csv", options, "tester", 5)
    run_export(sqlite_engine, tmp_path / "child", "csv", options, "tester", 5, spawn_above=0, child_chunk=2)
    files = sorted(path.name for path in (tmp_path / "thread").iterdir())
    assert files == sorted(path.name for path in (tmp_path / "child").iterdir()) and "windows.csv" in files
    for name in files:
        assert (tmp_path / "child" / name).read_bytes() == (tmp_path / "thread" / name).read_bytes(), name
    assert load_audit(sqlite_engine, action="export")["actor"].tolist() == ["tester", "tester"]
    with pytest.raises(Exception, match="no live patient"):
        run_export(sqlite_engine, tmp_path / "bad", "csv", {**options, "patients": ["NOPE"]}, "tester", 5,
                   spawn_above=0)


def test_the_openapi_examples_are_shaped_as_the_answers(api, tmp_path):
    """The /docs examples a statistician copies from: the derived row had columns no table has (window_month, item,
    value) and the import report named a file no bundle holds (assessments.csv) in a summary the CLI never prints."""
    spec = api.client.get("/openapi.json").json()["paths"]
    example = spec["/derived/{table}"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    rows = api.get("coordinator", f"/derived/{example['table']}").json()["rows"]
    assert rows and [list(row) for row in example["rows"]] == [list(rows[0])]
    answers = spec["/imports"]["post"]["responses"]
    refused_example = answers["422"]["content"]["application/json"]["example"]
    bundle = write_bundle(tmp_path / "bad", {"skin_scores.csv": "patient_id,visit_date,total\nDEMO-0001,2024-01-01,"
                                                                "5\nDEMO-0001,2024-13-01,6\n"})
    refused = api.send("POST", "admin", "/imports", files={"bundle": ("bundle.zip", zipped(bundle))})
    assert refused.status_code == 422 and refused.json() == refused_example
    ok_example = answers["200"]["content"]["application/json"]["example"]
    assert ok_example["lines"][0].startswith("imported bundle.zip (import #")
    assert all(line.split(":")[0] in ("patients.csv", "skin_scores.csv") for line in ok_example["lines"][1:])


@pytest.mark.parametrize("url", ["/exports?centre=MAIN", "/exports?month=6", "/derived/windows?month=6",
                                 "/derived/summary?centre=MAIN&deidentify=true"])
def test_a_parameter_the_export_does_not_take_is_refused_not_ignored(api, url):
    """`centre=MAIN` (the CLI's --centre) was ignored and answered with every centre of the account; a misspelt
    `month=6` with the default windows. Each is a 422 naming the parameter and those the endpoint takes."""
    answer = api.get("coordinator", url)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    name = url.split("?")[1].split("=")[0]
    assert detail["field"] == name and "deidentify, anchor_drug, months, response_month, patients" in detail["msg"]
    assert api.get("staff", url).status_code == 403  # the role's refusal first
