"""Records over the API on SQLite and PostgreSQL: cursor pages with patient and date filters, the 17 sites of an
assessment, create / correct (PUT, PATCH) / delete through the db/ write paths, a stale version refused with 409,
validation errors naming the field (422), and an audit row naming the account and the token for every read and
write."""

from __future__ import annotations

from db.audit import load_audit
from db.visits import load_assessment_rows
from models.catalog import SITE_CODES

ACTOR = "physician via token 'physician script'"


def test_pages_follow_the_cursor_and_filter_by_patient_and_dates(api):
    every, cursor = [], None
    while True:
        page = api.get("coordinator", "/assessments", params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 7
        every += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [row["id"] for row in every]
    assert ids == sorted(set(ids)) and len(ids) > 7
    first = every[0]
    assert set(SITE_CODES) <= set(first) and {"patient_id", "visit_date", "rater", "total", "version"} <= set(first)
    mine = api.get("staff", "/assessments", params={"patient_id": "DEMO-0002", "limit": 1000}).json()["items"]
    stored = load_assessment_rows(api.engine, "DEMO-0002")
    assert [row["id"] for row in mine] == sorted(stored["assessment_id"].tolist())
    dates = sorted(row["visit_date"] for row in mine)
    since, until = dates[1], dates[-2]
    window = api.get("staff", "/assessments", params={"patient_id": "DEMO-0002", "since": since, "until": until})
    assert sorted(row["visit_date"] for row in window.json()["items"]) == dates[1:-1]
    assert api.get("staff", "/assessments", params={"cursor": "abc"}).json()["detail"][0]["field"] == "cursor"
    assert api.get("staff", "/assessments", params={"since": "2024-13-01"}).json()["detail"][0]["field"] == "since"
    reads = load_audit(api.engine, action="api_read", actor="staff via token 'staff script'")
    assert "API GET /assessments: " in reads["detail"].iloc[-1]
    assert set(reads["patient_id"].dropna()) == {"DEMO-0002"}


def test_every_resource_lists_and_reads_one(api):
    for name, key in (("patients", "patient_id"), ("measurements", "id"), ("medication_periods", "id"),
                      ("events", "id")):
        items = api.get("physician", f"/{name}", params={"patient_id": "DEMO-0001"}).json()["items"]
        assert items and {row["patient_id"] for row in items} == {"DEMO-0001"}
        one = api.get("physician", f"/{name}/{items[0][key]}")
        assert one.status_code == 200 and one.json() == items[0]
    patient = api.get("physician", "/patients/DEMO-0001").json()
    assert patient["name"] and patient["mrn"] and patient["version"] >= 1  # identified: the read is audited
    assert api.get("physician", "/patients/NOPE").status_code == 404
    assert api.get("physician", "/events/999999").json()["detail"][0]["field"] == "event_id"
    assert len(load_audit(api.engine, action="api_read", actor=ACTOR)) == 9  # 4 lists, 5 records found


def test_create_correct_and_delete_go_through_the_write_paths(api):
    scores = dict.fromkeys(SITE_CODES, 1)
    created = api.send("POST", "physician", "/assessments", json={
        "patient_id": "DEMO-0001", "visit_date": "2025-01-15", "rater": "Dr API", **scores})
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["total"] == 17 and record["version"] == 1 and created.headers["Location"].endswith(
        f"/assessments/{record['id']}")
    url = f"/assessments/{record['id']}"
    patched = api.send("PATCH", "physician", url, json={"face": 3, "expected_version": 1, "reason": "face rescored"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["face"], patched.json()["total"], patched.json()["version"]) == (3, 19, 2)
    stale = api.send("PATCH", "physician", url, json={"face": 0, "expected_version": 1, "reason": "again"})
    assert stale.status_code == 409
    assert stale.json()["detail"][0]["field"] == "version" and ACTOR in stale.json()["detail"][0]["msg"]
    put = api.send("PUT", "physician", url, json={"patient_id": "DEMO-0001", "visit_date": "2025-01-16",
                                                  "rater": "Dr API", **scores, "expected_version": 2,
                                                  "reason": "wrong day"})
    assert put.status_code == 200 and put.json()["visit_date"] == "2025-01-16" and put.json()["total"] == 17
    assert api.send("DELETE", "physician", url, params={"expected_version": 2, "reason": "x"}).status_code == 409
    gone = api.send("DELETE", "physician", url, params={"expected_version": 3, "reason": "entered twice"})
    assert gone.status_code == 204
    assert api.get("physician", url).status_code == 404
    writes = load_audit(api.engine, actor=ACTOR, entity="assessment")
    assert writes["action"].tolist() == ["delete", "update", "update", "create"]
    assert writes["reason"].tolist()[:3] == ["entered twice", "wrong day", "face rescored"]


def test_the_other_resources_are_written_too(api):
    patient = api.send("POST", "staff", "/patients", json={"patient_id": "API-1", "diagnosis": "lcSSc", "sex": "F",
                                                           "birth_year": 1970})
    assert patient.status_code == 201, patient.text
    fixed = api.send("PATCH", "staff", "/patients/API-1", json={"diagnosis": "dcSSc", "expected_version": 1,
                                                                "reason": "reclassified"})
    assert fixed.json()["diagnosis"] == "dcSSc" and fixed.json()["sex"] == "F"
    measurement = api.send("POST", "staff", "/measurements", json={
        "patient_id": "API-1", "date": "2025-02-01", "measure": "fvc_pct", "value": 81})
    assert measurement.status_code == 201, measurement.text
    period = api.send("POST", "staff", "/medication_periods", json={
        "patient_id": "API-1", "drug": "methotrexate", "dose": 15, "dose_unit": "mg", "frequency": "weekly",
        "route": "oral", "start_date": "2024-05-01"})
    assert period.status_code == 201, period.text
    overlapping = api.send("POST", "staff", "/medication_periods", json={
        "patient_id": "API-1", "drug": "methotrexate", "dose": 20, "dose_unit": "mg", "frequency": "weekly",
        "route": "oral", "start_date": "2024-06-01"})
    assert overlapping.status_code == 409
    event = api.send("POST", "staff", "/events", json={"patient_id": "API-1", "date": "2025-01-05",
                                                       "kind": "procedure", "description": "biopsy"})
    assert event.status_code == 201, event.text
    deleted = api.send("DELETE", "staff", f"/events/{event.json()['id']}", params={"expected_version": 1,
                                                                                   "reason": "wrong patient"})
    assert deleted.status_code == 204
    assert set(load_audit(api.engine, actor="staff via token 'staff script'")["entity"]) >= {
        "patient", "measurement", "medication_period", "treatment_event"}


def test_validation_errors_name_the_field(api):
    def refused(method, url, body=None, **kwargs):
        response = api.send(method, "staff", url, json=body, **kwargs)
        assert response.status_code == 422, response.text
        return [problem["field"] for problem in response.json()["detail"]]

    base = {"patient_id": "DEMO-0001", "visit_date": "2025-01-15", "rater": "x"}
    assert "face" in refused("POST", "/assessments", {**base, "face": 7})
    assert refused("POST", "/assessments", {**base, "face": 1, "colour": "red"}) == ["colour"]
    assert "visit_date" in refused("POST", "/assessments", {**base, "visit_date": "15/01/2025", "face": 1})
    assert "rater" in refused("POST", "/assessments", {**base, "rater": "a\x00b", "face": 1})
    assert refused("POST", "/measurements", {"patient_id": "DEMO-0001", "date": "2025-01-01", "measure": "nope",
                                             "value": 1}) == ["measure"]
    assert refused("POST", "/assessments", [1, 2]) == ["body"]
    first = api.get("staff", "/assessments", params={"patient_id": "DEMO-0001"}).json()["items"][0]
    assert refused("PATCH", f"/assessments/{first['id']}", {"face": 1, "reason": "x"}) == ["expected_version"]
    assert refused("PATCH", f"/assessments/{first['id']}", {"face": 1, "expected_version": first["version"]}) \
        == ["reason"]
    assert refused("DELETE", f"/assessments/{first['id']}", params={"reason": "x"}) == ["expected_version"]
    unknown = api.send("POST", "staff", "/assessments", json={**base, "patient_id": "NOPE", "face": 1})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "patient_id"
