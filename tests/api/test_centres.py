"""The API within each token's centre scope (issues 16 and 17), on SQLite and PostgreSQL: a physician of centre A and a
coordinator of centre A see, write and export only centre A's patients; another centre's patient or record answers
exactly as one that does not exist (status and body, but for the id asked); an account of every centre sees all.

The demo registry's six patients: DEMO-0001 and DEMO-0002 at A, DEMO-0003 at B, the rest at MAIN. (On PostgreSQL
the suite connects as a superuser, whom the row-level security policies do not bind: what holds here is the db/
filter; tests/security/test_row_level_security.py shows the policies.)
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from db.audit import load_audit
from db.centres import add_centre, centre_keys, set_user_centres, transfer_patient
from db.engine import write_session
from db.patients import get_patient
from db.scope import scoped
from db.visits import load_assessment_rows
from models.scope import Scope
from tests.api.conftest import PATIENTS

A_PATIENTS = ["DEMO-0001", "DEMO-0002"]
B_PATIENT = "DEMO-0003"
MISSING = "DEMO-9999"


@pytest.fixture
def centres(api):
    """Centres A and B; three demo patients moved there; physician and coordinator limited to A (the coordinator
    without the identified-export permission), the admin of every centre."""
    with write_session(api.engine) as session:
        for code in ("A", "B"):
            add_centre(session=session, data={"code": code, "name": f"Centre {code}"}, actor="admin")
    for patient_id, code in ((A_PATIENTS[0], "A"), (A_PATIENTS[1], "A"), (B_PATIENT, "B")):
        version = get_patient(api.engine, patient_id)["version"]
        with write_session(api.engine) as session:
            transfer_patient(session=session, patient_id=patient_id, centre=code, expected_version=version,
                             actor="admin", reason="multi-centre test")
    with write_session(api.engine) as session:
        set_user_centres(session=session, username="physician", all_centres=False, centres={"A": True},
                         actor="admin")
        set_user_centres(session=session, username="coordinator", all_centres=False, centres={"A": False},
                         actor="admin")
    return centre_keys(api.engine, ["A", "B"])


def same_answer(api, role: str, method: str, url: str, hidden: str, missing: str, **kwargs) -> None:
    """The answer for another centre's record (`hidden`) is the answer for a record that does not exist."""
    elsewhere = api.send(method, role, url.format(hidden), **kwargs)
    nowhere = api.send(method, role, url.format(missing), **kwargs)
    assert elsewhere.status_code == nowhere.status_code, (url, elsewhere.text, nowhere.text)
    assert elsewhere.status_code in (404, 422), (url, elsewhere.text)
    assert elsewhere.text.replace(str(hidden), "<id>") == nowhere.text.replace(str(missing), "<id>"), url


def test_a_centre_account_lists_and_reads_only_its_centre(api, centres):
    for role in ("physician", "coordinator"):
        listed = api.get(role, "/patients").json()["items"]
        assert [row["patient_id"] for row in listed] == A_PATIENTS, role
        for name in ("assessments", "measurements", "medication_periods", "events"):
            rows = api.get(role, f"/{name}", params={"limit": 1000}).json()["items"]
            assert {row["patient_id"] for row in rows} <= set(A_PATIENTS), (role, name)
        assert api.get(role, "/assessments", params={"patient_id": B_PATIENT}).json() == \
            {"items": [], "next_cursor": None}
    assert len(api.get("admin", "/patients").json()["items"]) == PATIENTS  # every centre
    assert len(api.get("staff", "/patients").json()["items"]) == PATIENTS  # an account left at every centre

    b_visit = int(load_assessment_rows(api.engine, B_PATIENT)["assessment_id"].iloc[0])
    absent = 10**9
    same_answer(api, "physician", "GET", "/patients/{}", B_PATIENT, MISSING)
    same_answer(api, "physician", "GET", "/assessments/{}", b_visit, absent)
    same_answer(api, "physician", "GET", "/fhir/Patient/{}/$everything", B_PATIENT, MISSING)
    reads = load_audit(api.engine, action="api_read", actor="physician via token 'physician script'")
    assert B_PATIENT not in set(reads["patient_id"].dropna())


def test_a_centre_account_cannot_write_another_centres_records(api, centres):
    b_visit = load_assessment_rows(api.engine, B_PATIENT).iloc[0]
    visit_id, absent = int(b_visit["assessment_id"]), 10**9
    correction = {"rater": "dr x", "expected_version": int(b_visit["version"]), "reason": "typo"}
    same_answer(api, "physician", "PATCH", "/assessments/{}", visit_id, absent, json=correction)
    same_answer(api, "physician", "PUT", "/patients/{}", B_PATIENT, MISSING,
                json={"diagnosis": "lcSSc", "name": "Changed Name", "expected_version": 1, "reason": "typo"})
    same_answer(api, "physician", "DELETE", "/assessments/{}?expected_version=1&reason=x", visit_id, absent)
    same_answer(api, "physician", "DELETE", "/patients/{}?expected_version=1&reason=x", B_PATIENT, MISSING)
    for url in ("/measurements", "/assessments"):  # a record of a patient of B: as of a patient that does not exist
        answers = {}
        for patient_id in (B_PATIENT, MISSING):
            body = {"patient_id": patient_id, "date": "2024-03-14", "visit_date": "2024-03-14", "rater": "dr x",
                    "measure": "fvc_pct", "value": 78.0, "total": 10}
            answer = api.send("POST", "physician", url, json={k: v for k, v in body.items() if k != (
                "visit_date" if url == "/measurements" else "date")} if url == "/measurements" else {
                k: body[k] for k in ("patient_id", "visit_date", "rater", "total")})
            answers[patient_id] = (answer.status_code, answer.text.replace(patient_id, "<id>"))
        assert answers[B_PATIENT] == answers[MISSING] and answers[MISSING][0] in (404, 422), (url, answers)
    # a new patient joins one of the account's centres only (named by its code)
    new = {"patient_id": "P-NEW", "diagnosis": "dcSSc", "centre": "B"}
    outside = api.send("POST", "physician", "/patients", json=new)
    assert outside.status_code == 403 and outside.json()["detail"][0]["field"] == "centre", outside.text
    unknown = api.send("POST", "physician", "/patients", json={**new, "centre": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "centre", unknown.text
    missing = api.send("POST", "physician", "/patients", json={k: v for k, v in new.items() if k != "centre"})
    assert missing.status_code == 422, missing.text  # a value to give, not a permission: was 403
    assert missing.json()["detail"][0] == {"field": "centre", "type": "InvalidValue",
                                           "msg": "is required: this registry has 3 active centres (A)"}
    inside = api.send("POST", "physician", "/patients", json={**new, "centre": "A"})
    assert inside.status_code == 201 and inside.json()["centre"] == "A", inside.text
    assert get_patient(scoped(api.engine, Scope(frozenset({centres["A"]}))), "P-NEW") is not None
    assert get_patient(api.engine, B_PATIENT)["name"] != "Changed Name"


def test_exports_hold_only_the_scopes_patients(api, centres):
    """The coordinator of A: derived tables and the FHIR bulk export hold A's patients; naming a patient of B is
    naming one that does not exist; an identified export needs the permission for the centre."""
    summary = api.get("coordinator", "/derived/summary")
    assert summary.status_code == 200, summary.text
    assert len(summary.json()["rows"]) == len(A_PATIENTS)
    same_answer(api, "coordinator", "GET", "/derived/summary?patients={}", B_PATIENT, MISSING)
    same_answer(api, "coordinator", "GET", "/exports?patients={}", B_PATIENT, MISSING)
    same_answer(api, "coordinator", "GET", "/fhir/$export?patients={}", B_PATIENT, MISSING)
    identified = api.get("coordinator", "/exports", params={"deidentify": False})
    assert identified.status_code == 403 and identified.json()["detail"][0]["field"] == "deidentify"
    assert api.get("admin", "/derived/summary").json()["rows"].__len__() == PATIENTS
    physician = api.get("physician", "/exports", params={"deidentify": False, "patients": "DEMO-0001"})
    assert physician.status_code == 403  # the role may not export at all, whatever its centres' permission

    _, status = api.bulk_export("coordinator")
    assert status.status_code == 200
    kinds = {item["type"]: item for item in status.json()["output"]}
    assert kinds["Patient"]["count"] == len(A_PATIENTS)
    lines = api.client.get(kinds["Patient"]["url"], headers=api.headers("coordinator")).text.splitlines()
    assert len([json.loads(line) for line in lines]) == len(A_PATIENTS)


@pytest.mark.slow  # a whole export, streamed (~1-2 s)
def test_the_streamed_export_of_a_centre(api, centres):
    response = api.get("coordinator", "/exports")
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        patients = archive.read("patients.csv").decode("utf-8").splitlines()
    assert len(patients) - 1 == len(A_PATIENTS)
    exports = load_audit(api.engine, action="export")
    assert exports["detail"].iloc[0].startswith(f"de-identified csv export of {len(A_PATIENTS)} patients")


@pytest.mark.slow  # a spawned process and its forked workers (~5 s)
def test_an_export_in_a_process_of_its_own_keeps_the_scope(sqlite_engine, tmp_path):
    """The API's large export runs in a spawned process with an engine of its own: the request's scope goes with
    it (else the child would export every centre)."""
    from api.transfer import run_export
    from demo import generate_registry, load_registry

    load_registry(sqlite_engine, generate_registry(4), actor="fixture")
    with write_session(sqlite_engine) as session:
        add_centre(session=session, data={"code": "A", "name": "Centre A"}, actor="admin")
        transfer_patient(session=session, patient_id="DEMO-0002", centre="A", expected_version=1, actor="admin",
                         reason="test")
    only_a = scoped(sqlite_engine, Scope(frozenset(centre_keys(sqlite_engine, ["A"]).values())))
    options = {"deidentify": False, "anchor_drug": None, "months": [6, 12], "response_month": 12, "patients": None}
    run_export(only_a, tmp_path / "child", "csv", options, "tester", 4, spawn_above=0, child_chunk=2)
    rows = (tmp_path / "child" / "patients.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and rows[1].startswith("DEMO-0002,")


def test_a_coordinator_reads_identifying_fields_only_where_it_may_export_identified(api, centres):
    """Issue 16: coordinators de-identified unless they hold the identified-export permission for the centre; the
    physician of the same centre reads the patient as recorded."""
    patient = A_PATIENTS[0]
    recorded = api.get("physician", f"/patients/{patient}").json()
    assert recorded["name"]  # the demo's patients have names
    shielded = api.get("coordinator", f"/patients/{patient}").json()
    assert (shielded["name"], shielded["mrn"], shielded["notes"]) == ("", "", "")
    assert {k: v for k, v in shielded.items() if k not in ("name", "mrn", "notes")} == \
        {k: v for k, v in recorded.items() if k not in ("name", "mrn", "notes")}
    listed = api.get("coordinator", "/patients").json()["items"]
    assert all(row["name"] == "" for row in listed)
    with write_session(api.engine) as session:
        set_user_centres(session=session, username="coordinator", all_centres=False, centres={"A": True},
                         actor="admin")
    assert api.get("coordinator", f"/patients/{patient}").json()["name"] == recorded["name"]


@pytest.mark.slow  # whole exports, streamed
def test_an_identified_export_of_the_centres_the_coordinator_may_export_identified(api, centres):
    """A coordinator of A and B, identified for A only: identified, the whole scope is refused; `centres=A` (the
    CLI's --centre) exports A's patients identified; `centres=B` is refused naming B; an unknown code is a 422."""
    with write_session(api.engine) as session:
        set_user_centres(session=session, username="coordinator", all_centres=False, centres={"A": True, "B": False},
                         actor="admin")
    assert api.get("coordinator", "/exports", params={"deidentify": False}).status_code == 403
    response = api.get("coordinator", "/exports", params={"deidentify": False, "centres": "A"})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        rows = archive.read("patients.csv").decode("utf-8").splitlines()
    assert sorted(row.split(",")[0] for row in rows[1:]) == A_PATIENTS  # named, not pseudonyms
    refused = api.get("coordinator", "/exports", params={"deidentify": False, "centres": "B"})
    assert refused.status_code == 403 and "centre B" in refused.text and "limit the export to centre A" in refused.text
    derived = api.get("coordinator", "/derived/summary", params={"centres": "B"})
    assert derived.status_code == 200 and [row["centre"] for row in derived.json()["rows"]] == ["B"]
    unknown = api.get("coordinator", "/exports", params={"centres": "ZZ"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "centre"
