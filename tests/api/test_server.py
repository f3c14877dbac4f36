"""The real thing: `python cli.py serve-api` on a free port as its own process, a token made by the CLI's `token
create` (in-process, as tests/test_cli.py runs the CLI), calls over HTTP with httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import cli
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
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the API did not start within 30 s"
                time.sleep(0.2)
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
