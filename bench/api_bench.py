"""API benchmark (issue 17): `python -m bench.api_bench --patients 20000 [--json api.json] [--db URL]`.

On a registry of PATIENTS generated patients (demo.generate_registry, loaded through the importer's bulk path into
a fresh SQLite file, or the PostgreSQL URL given), against a real server (`python cli.py serve-api` in its own
process, uvicorn):

- the median (and 95th percentile) latency of `GET /assessments?patient_id=...` for CALLS random patients, over one
  keep-alive connection, as a script would call it (target: <= 50 ms median at 20,000 patients);
- the time of `GET /exports` (the whole de-identified bundle zip, streamed and read to its last byte) against
  `python cli.py export OUT --deidentify` (a process of its own, wall time) on the same database (target: <= 1.2x).

Nothing is hard-coded: every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def prepare(url: str, patients: int) -> tuple[str, list[str]]:
    """Load the registry and an account with a token; returns the token and the patient_ids."""
    from db.api_tokens import create_token
    from db.engine import ensure_schema, make_engine, write_session
    from db.users import create_user
    from demo import generate_registry, load_registry

    engine = make_engine(url)
    ensure_schema(engine)
    started = time.perf_counter()
    registry = generate_registry(patients)
    load_registry(engine, registry, actor="bench")
    say(f"registry of {patients:,} patients loaded in {time.perf_counter() - started:.0f} s")
    with write_session(engine) as session:
        create_user(session=session, actor="bench", data={
            "username": "bench", "role": "admin", "password": "bench-password-1", "can_export_identified": True})
        token = create_token(session=session, username="bench", name="api bench", days=1, actor="bench").token
    ids = [row["patient_id"] for row in registry.patients]
    engine.dispose()
    return token, ids


def serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "SKINTRACK_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "cli.py", "serve-api", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_api(server, port, seconds=120)
    return server


def wait_for_api(server: subprocess.Popen, port: int, *, seconds: float = 30) -> str:
    """The base URL of the API `server` (`python cli.py serve-api`) started on `port`, once it answers; RuntimeError
    with its standard error if it ends or does not answer within `seconds` (the API's tests use it too)."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=2)
            return base
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: {server.stderr.read() if server.stderr else ''}") from None
            time.sleep(0.2)


def measure(url: str, token: str, ids: list[str], calls: int, folder: Path) -> dict:
    import httpx

    port = free_port()
    server = serve(url, port)
    results: dict = {}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=3600) as client:
            chosen = random.Random(17).choices(ids, k=calls + 5)
            for patient in chosen[:5]:  # warm-up: connections, first imports
                client.get("/assessments", params={"patient_id": patient}).raise_for_status()
            latencies = []
            for patient in chosen[5:]:
                started = time.perf_counter()
                response = client.get("/assessments", params={"patient_id": patient})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                assert response.json()["items"], patient
            latencies.sort()
            results["assessments_median_ms"] = round(statistics.median(latencies), 1)
            results["assessments_p95_ms"] = round(latencies[int(0.95 * (len(latencies) - 1))], 1)
            say(f"GET /assessments?patient_id=…: median {results['assessments_median_ms']} ms, "
                f"p95 {results['assessments_p95_ms']} ms over {calls} calls")
            started = time.perf_counter()
            size = 0
            with client.stream("GET", "/exports", params={"deidentify": True}) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    size += len(chunk)
            results["api_export_s"] = round(time.perf_counter() - started, 1)
            results["api_export_mib"] = round(size / 2**20, 1)
            say(f"GET /exports (streamed zip, {results['api_export_mib']} MiB): {results['api_export_s']} s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    env = {**os.environ, "SKINTRACK_DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run([sys.executable, "cli.py", "export", str(folder / "cli-export"), "--deidentify"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results["cli_export_s"] = round(time.perf_counter() - started, 1)
    results["export_ratio"] = round(results["api_export_s"] / results["cli_export_s"], 2)
    say(f"python cli.py export --deidentify (a folder of CSV files): {results['cli_export_s']} s; "
        f"API / CLI = {results['export_ratio']}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20_000, help="registry size (default 20,000)")
    parser.add_argument("--calls", type=int, default=200, help="GET /assessments calls timed (default 200)")
    parser.add_argument("--db", default=None, help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="skintrack-api-bench-") as temp:
        folder = Path(temp)
        url = args.db or f"sqlite:///{folder / 'bench.db'}"
        token, ids = prepare(url, args.patients)
        results = {"patients": args.patients, "database": url.split(":", 1)[0], "calls": args.calls,
                   **measure(url, token, ids, args.calls, folder)}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
