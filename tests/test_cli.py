"""The command line: init-db, demo, backup; exit codes 0 / 1 / 2."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from db.engine import head_revision

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, url: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {"SKINTRACK_DATABASE_URL": url, "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, input=stdin, timeout=300)


def test_demo_then_backup_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    result = run_cli("demo", "--patients", "8", url=url)
    assert result.returncode == 0, result.stderr
    assert "8 patients" in result.stdout
    again = run_cli("demo", "--patients", "8", url=url)
    assert again.returncode == 1 and "--force" in again.stderr
    backup = tmp_path / "copy.db"
    result = run_cli("backup", str(backup), url=url)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(backup) as connection:
        assert connection.execute("SELECT count(*) FROM patient").fetchone()[0] == 8
        assert connection.execute("SELECT count(*) FROM audit_event WHERE action = 'backup'").fetchone()[0] == 0


def test_demo_then_backup_on_postgresql(pg_url, tmp_path):
    result = run_cli("demo", "--patients", "5", url=pg_url)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "registry.dump"
    result = run_cli("backup", str(out), url=pg_url)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000 and out.read_bytes()[:5] == b"PGDMP"


@pytest.mark.parametrize("args", [["bogus"], [], ["demo", "--patients", "0"], ["demo", "--patients", "x"]])
def test_wrong_usage_exits_2(tmp_path, args):
    result = run_cli(*args, url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2


def test_init_db_reports_the_revision(tmp_path):
    result = run_cli("init-db", url=f"sqlite:///{tmp_path / 'fresh.db'}")
    assert result.returncode == 0 and f"revision {head_revision()}" in result.stdout


def test_a_long_login_name_fits_the_audit_trail(monkeypatch):
    """The audit trail's actor column holds 64 characters; PostgreSQL refuses a longer value outright."""
    monkeypatch.setattr("getpass.getuser", lambda: "firstname.middlename.lastname@radiology-department.example.org")
    actor = cli._cli_actor()
    assert actor.startswith("cli:firstname.") and len(actor) == cli.ACTOR_MAX
