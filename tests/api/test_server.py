"""The real thing: `python cli.py serve-api` on a free port as its own process, a token made by the CLI's `token
create` (in-process, as tests/test_cli.py runs the CLI), calls over HTTP with httpx."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

import cli
from bench.api_bench import wait_for_api
from demo import generate_registry, load_registry
from tests.api.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # a server process starts (~5 s)
def test_serve_api_answers_over_http_with_a_cli_token(sqlite_engine, sqlite_url, monkeypatch, capsys):
    make_user(sqlite_engine, "ana", "coordinator")
    load_registry(sqlite_engine, generate_registry(4), actor="fixture")
    env = {**os.environ, "SKINTRACK_DATABASE_URL": sqlite_url}
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    assert cli.main(["token", "create", "--user", "ana", "--name", "http test"]) == 0  # `python cli.py token ...`
    token = capsys.readouterr().out.strip()
    port = free_port()
    server = subprocess.Popen([sys.executable, "cli.py", "serve-api", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = wait_for_api(server, port)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            patients = client.get("/patients")
            assert patients.status_code == 200 and len(patients.json()["items"]) == 4
            first = patients.json()["items"][0]["patient_id"]
            scores = client.get("/assessments", params={"patient_id": first}).json()["items"]
            assert scores and {row["patient_id"] for row in scores} == {first}
            rows = client.get("/derived/window_values").json()["rows"]
            assert rows and rows[0]["patient_id"].startswith("S-")
            assert client.post("/patients", json={"patient_id": "X"}).status_code == 403  # a coordinator
            bundle = client.get(f"/fhir/Patient/{first}/$everything")
            assert bundle.status_code == 200 and bundle.json()["resourceType"] == "Bundle"
        assert httpx.get(f"{base}/patients").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)


def _raw_request(port: int, head: str, *, wait: float = 10) -> str:
    """Send a request's head only (the body it announces never comes) and read the answer's first line: a server
    that waited for the body before answering would time out here."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(head.encode("latin-1"))
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.decode("latin-1")


@pytest.mark.slow  # a server process starts (~5 s)
def test_no_body_is_read_without_a_token_nor_beyond_its_bound(engine, db_url, monkeypatch, capsys):
    """FastAPI read a multipart body, spooling it to disk, before the token check: a client with no token at all
    could make the server store an upload of any size before its 401. Now a request with no token is answered 401
    before its body (counted and audited as api.auth does), and a body over its bound (the import limit for
    /imports, 1 MiB otherwise) 413; a valid import is answered as before."""
    make_user(engine, "ana", "admin")
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", db_url)
    assert cli.main(["token", "create", "--user", "ana", "--name", "upload test"]) == 0
    token = capsys.readouterr().out.strip()
    port = free_port()
    env = {**os.environ, "SKINTRACK_DATABASE_URL": db_url, "SKINTRACK_IMPORT_MAX_BYTES": "2M"}
    server = subprocess.Popen([sys.executable, "cli.py", "serve-api", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = wait_for_api(server, port)
        multipart = "Content-Type: multipart/form-data; boundary=b\r\n"
        anonymous = _raw_request(port, f"POST /imports HTTP/1.1\r\nHost: x\r\n{multipart}"
                                       "Content-Length: 104857600\r\n\r\n")
        assert anonymous.startswith("HTTP/1.1 401"), anonymous
        from db.audit import load_audit  # the failure counted and audited as api.auth does

        assert len(load_audit(engine, action="api_auth_failed")) == 1
        huge = _raw_request(port, f"POST /imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer skt_unknown\r\n"
                                  f"{multipart}Content-Length: 4194304\r\n\r\n")
        assert huge.startswith("HTTP/1.1 413"), huge
        record = _raw_request(port, "POST /patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer skt_unknown\r\n"
                                    "Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
        assert record.startswith("HTTP/1.1 413"), record
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            chunked = client.post("/patients", content=(b"x" * 65536 for _ in range(40)),
                                  headers={"Content-Type": "application/json"})
            assert chunked.status_code == 413 and chunked.json()["detail"][0]["field"] == "body", chunked.text
            bundle = io.BytesIO()
            with zipfile.ZipFile(bundle, "w") as archive:
                archive.writestr("patients.csv", "patient_id,diagnosis\nUP-1,dcSSc\n")
            answer = client.post("/imports", params={"dry_run": "true"},
                                 files={"bundle": ("b.zip", bundle.getvalue(), "application/zip")})
            assert answer.status_code == 200 and answer.json()["lines"][0].startswith("dry run of b.zip"), answer.text
            assert client.post("/patients", json={"patient_id": "X"}).status_code == 422  # read, then refused
    finally:
        server.terminate()
        server.wait(timeout=30)
