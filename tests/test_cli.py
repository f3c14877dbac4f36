"""The command line: init-db, demo, backup, import; exit codes 0 / 1 / 2.

Every command runs in-process through `cli.main(argv)` (standard output, standard error and the exit status
captured), which is what `python cli.py` runs; one smoke test starts a real process to hold the entry point itself.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from db.engine import head_revision

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "data" / "example_bundle"


def run(monkeypatch, capsys, *args, url: str) -> tuple[int, str, str]:
    """`python cli.py ARGS` in this process against `url`: (exit status, stdout, stderr)."""
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", url)
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_then_backup_on_sqlite(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    code, out, err = run(monkeypatch, capsys, "demo", "--patients", "8", url=url)
    assert code == 0, err
    assert "8 patients" in out
    code, _, err = run(monkeypatch, capsys, "demo", "--patients", "8", url=url)
    assert code == 1 and "--force" in err
    backup = tmp_path / "copy.db"
    code, out, err = run(monkeypatch, capsys, "backup", str(backup), url=url)
    assert code == 0, err
    assert str(backup) in out
    with sqlite3.connect(backup) as connection:
        assert connection.execute("SELECT count(*) FROM patient").fetchone()[0] == 8
        assert connection.execute("SELECT count(*) FROM audit_event WHERE action = 'backup'").fetchone()[0] == 0


@pytest.mark.slow  # pg_dump, a process of its own
def test_demo_then_backup_on_postgresql(pg_url, tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "demo", "--patients", "5", url=pg_url)
    assert code == 0, err
    out = tmp_path / "registry.dump"
    code, _, err = run(monkeypatch, capsys, "backup", str(out), url=pg_url)
    assert code == 0, err
    assert out.stat().st_size > 1000 and out.read_bytes()[:5] == b"PGDMP"


@pytest.mark.parametrize("args", [["bogus"], [], ["demo", "--patients", "0"], ["demo", "--patients", "x"],
                                  ["import"], ["import", "no/such/bundle"]])
def test_wrong_usage_exits_2(tmp_path, monkeypatch, capsys, args):
    code, _, err = run(monkeypatch, capsys, *args, url=f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 2
    assert err  # the reason (or the usage) on standard error


def test_init_db_reports_the_revision(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "init-db", url=f"sqlite:///{tmp_path / 'fresh.db'}")
    assert code == 0 and f"revision {head_revision()}" in out


def test_a_misconfigured_import_limit_is_a_named_refusal(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_BYTES", "lots")
    code, out, err = run(monkeypatch, capsys, "import", str(EXAMPLE), "--dry-run", url=sqlite_url)
    assert (code, out) == (1, "")
    assert err.startswith("error: SKINTRACK_IMPORT_MAX_BYTES: 'lots' is not a size") and "Traceback" not in err


def test_a_long_login_name_fits_the_audit_trail(monkeypatch):
    """The audit trail's actor column holds 64 characters; PostgreSQL refuses a longer value outright."""
    monkeypatch.setattr("getpass.getuser", lambda: "firstname.middlename.lastname@radiology-department.example.org")
    actor = cli._cli_actor()
    assert actor.startswith("cli:firstname.") and len(actor) == cli.ACTOR_MAX


@pytest.mark.slow
def test_a_real_process_imports_the_example_bundle(tmp_path):
    """The one smoke test in a process of its own: `python cli.py import` as a user runs it (the entry point, the
    exit status, the report on standard output and the progress kept off a non-terminal standard error)."""
    env = {"SKINTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}", "PATH": "/usr/bin:/bin:/usr/local/bin",
           "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "import", str(EXAMPLE)], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported example_bundle (import #1): ")
    assert result.stderr == ""


def test_export_format_fhir_writes_ndjson_per_resource_type_audited(sqlite_url, tmp_path, monkeypatch, capsys):
    """`export --format fhir OUT`: a folder of `<Type>.ndjson` files, each line a resource of that type, the
    counts printed; identified unless --deidentify (as every format), one export audit row each time."""
    import json

    code, _, err = run(monkeypatch, capsys, "demo", "--patients", "6", url=sqlite_url)
    assert code == 0, err
    out = tmp_path / "fhir"
    code, printed, err = run(monkeypatch, capsys, "export", str(out), "--format", "fhir", url=sqlite_url)
    assert code == 0, err
    files = {path.stem: path.read_text(encoding="utf-8").splitlines() for path in out.glob("*.ndjson")}
    assert {"CodeSystem", "Patient", "Observation", "MedicationStatement"} <= set(files)
    for kind, lines in files.items():
        assert {json.loads(line)["resourceType"] for line in lines} == {kind}
        assert f"{kind}.ndjson: {len(lines):,} resources" in printed
    assert len(files["Patient"]) == 6 and "identified, FHIR NDJSON" in printed
    assert any("name" in json.loads(line) for line in files["Patient"])

    deid = tmp_path / "fhir-deid"
    code, printed, err = run(monkeypatch, capsys, "export", str(deid), "--format", "fhir", "--deidentify",
                             "--patients", "DEMO-0001,DEMO-0002", url=sqlite_url)
    assert code == 0, err
    patients = [json.loads(line) for line in (deid / "Patient.ndjson").read_text().splitlines()]
    assert len(patients) == 2 and all("name" not in p and p["id"].startswith("S-") for p in patients)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        details = [row[0] for row in connection.execute(
            "SELECT detail FROM audit_event WHERE action = 'export' ORDER BY audit_id")]
    assert details == [f"identified fhir export of 6 patients to {out}",
                       f"de-identified fhir export of 2 patients (selected) to {deid}"]


@pytest.mark.parametrize("args", [["--months", "6"], ["--anchor-drug", "MMF"], ["--patients", "NOPE-1"]])
def test_export_format_fhir_refuses_what_it_cannot_honour(sqlite_url, tmp_path, monkeypatch, capsys, args):
    code, out, err = run(monkeypatch, capsys, "export", str(tmp_path / "f"), "--format", "fhir", *args,
                         url=sqlite_url)
    assert (code, out) == (2, "") and err.startswith("usage error: ")
    assert not (tmp_path / "f").exists()


def test_token_create_list_revoke(sqlite_url, monkeypatch, capsys):
    """`token create` prints the token alone on standard output (once; only its hash is stored); `token list` shows
    it active and `token revoke` ends it; both writes audited with the command line's actor."""
    from db.api_tokens import TokenRefused, authenticate_token, digest
    from db.audit import load_audit
    from db.engine import make_engine
    from tests.api.conftest import make_user

    engine = make_engine(sqlite_url)
    make_user(engine, "ana", "coordinator")
    code, out, err = run(monkeypatch, capsys, "token", "create", "--user", "ana", "--name", "R pull", "--days", "7",
                         url=sqlite_url)
    assert code == 0, err
    token = out.strip()
    assert token.startswith("skt_") and "'R pull' of ana" in err and "shown once" in err
    assert authenticate_token(engine, token, address="cli-test").username == "ana"
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        assert connection.execute("SELECT token_hash FROM api_token").fetchall() == [(digest(token),)]
    code, out, _ = run(monkeypatch, capsys, "token", "list", "--user", "ana", url=sqlite_url)
    assert code == 0 and out.startswith("1\tR pull\tactive\texpires ") and "last used" in out
    code, out, _ = run(monkeypatch, capsys, "token", "revoke", "--user", "ana", "--id", "1", url=sqlite_url)
    assert (code, out) == (0, "token 1 of ana revoked\n")
    with pytest.raises(TokenRefused, match="revoked"):
        authenticate_token(engine, token, address="cli-test")
    assert set(load_audit(engine, entity="api_token", action="create")["actor"]) == {cli.CLI_ACTOR}
    assert set(load_audit(engine, entity="api_token", action="revoke")["actor"]) == {cli.CLI_ACTOR}
    for args in (["create", "--user", "nobody", "--name", "x"], ["create", "--user", "ana", "--name", "x",
                                                                  "--days", "0"]):
        code, _, err = run(monkeypatch, capsys, "token", *args, url=sqlite_url)
        assert code == 2 and err
    code, _, err = run(monkeypatch, capsys, "token", "revoke", "--user", "ana", "--id", "99", url=sqlite_url)
    assert code == 1 and "no API token 99" in err
    engine.dispose()


def test_centre_add_list_deactivate_and_transfer(db_url, monkeypatch, capsys):
    """`centre add|list|deactivate` and `transfer`: audited as the command line; refusals exit 1 naming the field,
    wrong usage (no --reason, no action) exits 2."""
    from db.audit import load_audit
    from db.centres import load_centres
    from db.engine import make_engine, write_session
    from db.patients import create_patient, get_patient
    from tests import factories

    engine = make_engine(db_url)
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(patient_id="P1"), actor="t")
    code, out, err = run(monkeypatch, capsys, "centre", "add", "AMS", "--name", "Amsterdam UMC", "--country", "NL",
                         url=db_url)
    assert (code, out) == (0, "centre AMS added: Amsterdam UMC (NL)\n"), err
    code, _, err = run(monkeypatch, capsys, "centre", "add", "AMS", "--name", "again", url=db_url)
    assert code == 1 and err == "error: code: centre AMS exists already; choose another code\n"
    code, _, err = run(monkeypatch, capsys, "centre", "add", "a b", "--name", "x", url=db_url)
    assert code == 1 and "'a b' is not a centre code" in err
    code, out, _ = run(monkeypatch, capsys, "centre", "list", url=db_url)
    assert (code, out) == (0, "AMS\tAmsterdam UMC\tNL\tactive\t0 patients\nMAIN\tMain centre\t\tactive\t1 patient\n")

    code, _, err = run(monkeypatch, capsys, "transfer", "P1", "AMS", url=db_url)
    assert code == 2 and "--reason" in err
    code, out, err = run(monkeypatch, capsys, "transfer", "P1", "AMS", "--reason", "moved to Amsterdam", url=db_url)
    assert (code, out) == (0, "patient P1 transferred to centre AMS\n"), err
    assert get_patient(engine, "P1")["centre_key"] == load_centres(engine).set_index("code").loc["AMS", "centre_key"]
    transfer = load_audit(engine, action="transfer")
    assert list(transfer["actor"]) == [cli.CLI_ACTOR] and list(transfer["reason"]) == ["moved to Amsterdam"]
    for args, message in ((["P1", "AMS"], "belongs to centre AMS already"), (["NOPE", "AMS"], "no patient 'NOPE'"),
                          (["P1", "XYZ"], "no centre XYZ")):
        code, _, err = run(monkeypatch, capsys, "transfer", *args, "--reason", "r", url=db_url)
        assert code == 1 and message in err, err
    code, _, err = run(monkeypatch, capsys, "transfer", "P1", "MAIN", "--reason", " ", url=db_url)
    assert code == 1 and "reason" in err.lower()

    code, out, err = run(monkeypatch, capsys, "centre", "deactivate", "AMS", url=db_url)
    assert code == 0 and out.startswith("centre AMS is inactive"), err
    code, _, err = run(monkeypatch, capsys, "transfer", "P1", "MAIN", "--reason", "back", url=db_url)
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "transfer", "P1", "AMS", "--reason", "again", url=db_url)
    assert code == 1 and "centre AMS is inactive" in err
    code, _, err = run(monkeypatch, capsys, "centre", "deactivate", "NOPE", url=db_url)
    assert code == 1 and "no centre NOPE" in err
    code, _, err = run(monkeypatch, capsys, "centre", url=db_url)
    assert code == 2
    assert set(load_audit(engine, entity="centre")["actor"]) == {cli.CLI_ACTOR}
    engine.dispose()


def test_a_reader_of_the_output_that_went_away_ends_the_command_quietly(sqlite_url, monkeypatch):
    """`python cli.py … | head`: standard output is a pipe nobody reads any more. The command ends with status 1 and
    no BrokenPipeError traceback (it had one)."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - run() leaves it pointing at the null device
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "argv", ["cli.py", "centre", "list"])
    try:
        assert cli.run() == cli.EXIT_FAILED
        stream.write("anything\n")
        stream.flush()  # the null device now: no second error when the interpreter flushes at exit
    finally:
        stream.close()
