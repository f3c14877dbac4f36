"""Backups keep secrets off the command line (issue 14 finding 6): pg_dump gets its connection from the PG*
environment and its password from a file only this account can read."""

from __future__ import annotations

import stat
import subprocess

from sqlalchemy.engine import make_url

from db.backup import backup_database, pg_dump_invocation
from db.engine import make_engine

SECRET = "s3cret:pa\\ss-word"


def test_no_password_in_pg_dumps_arguments(tmp_path):
    url = f"postgresql+psycopg://skin:{SECRET.replace(':', '%3A').replace(chr(92), '%5C')}@db.example:6543/reg" \
          "?options=-csearch_path%3Dt_1"
    argv, env, passfile_text = pg_dump_invocation(url, tmp_path / "out.dump", tmp_path / "pgpass")
    assert not any("s3cret" in part for part in argv)
    assert not any("s3cret" in value for value in env.values())
    assert "--no-password" in argv  # never prompts, never reads a password from anywhere but the file
    assert env["PGHOST"] == "db.example" and env["PGPORT"] == "6543" and env["PGUSER"] == "skin"
    # the URL's options, then every centre's scope for the row-level security pg_dump runs with
    assert env["PGDATABASE"] == "reg" and env["PGOPTIONS"] == "-csearch_path=t_1 -c skintrack.centres=*"
    assert "--enable-row-security" in argv
    assert env["PGPASSFILE"] == str(tmp_path / "pgpass")
    # the password file format escapes ':' and '\'
    assert passfile_text == "db.example:6543:reg:skin:s3cret\\:pa\\\\ss-word\n"


def test_a_url_without_password_writes_an_empty_password_file(tmp_path):
    _, env, text = pg_dump_invocation("postgresql+psycopg://postgres@127.0.0.1:5432/test", tmp_path / "o",
                                      tmp_path / "p")
    assert text == "" and "PGPASSWORD" not in env


def test_backup_on_postgresql_with_a_password_in_the_url(pg_url, tmp_path, monkeypatch):
    """A real pg_dump run with a URL holding a password (the test server trusts local connections, so the
    password is not checked): the dump restores its tables list, and while pg_dump runs the password file is
    private (checked by watching the spawned process's arguments and the file's mode)."""
    seen = {}
    real_run = subprocess.run

    def watching_run(argv, **kwargs):
        passfile = kwargs["env"]["PGPASSFILE"]
        seen["argv"], seen["mode"] = list(argv), stat.S_IMODE(__import__("os").stat(passfile).st_mode)
        seen["text"] = open(passfile).read()
        return real_run(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", watching_run)
    url = make_url(pg_url).set(password="not-checked-but-secret")
    engine = make_engine(url.render_as_string(hide_password=False))
    out = backup_database(engine, tmp_path / "copy.dump", actor="tester")
    engine.dispose()
    assert out.stat().st_size > 0
    assert not any("not-checked-but-secret" in part for part in seen["argv"])
    assert seen["mode"] == 0o600 and "not-checked-but-secret" in seen["text"]
    listing = real_run(["pg_restore", "--list", str(out)], capture_output=True, text=True, check=True).stdout
    assert "audit_event" in listing


def test_an_engine_of_some_centres_makes_no_backup(sqlite_engine, tmp_path):
    """A backup holds every centre's patients: an administrator limited to some centres may not make one."""
    import pytest

    from db.scope import scoped
    from models.errors import NotPermitted
    from models.scope import Scope

    with pytest.raises(NotPermitted, match="every centre"):
        backup_database(scoped(sqlite_engine, Scope(frozenset({1}))), tmp_path / "copy.db", actor="tester")
    assert not (tmp_path / "copy.db").exists()
