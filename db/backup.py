"""Consistent backups while the app runs: SQLite's online backup API, pg_dump for PostgreSQL.

A backup holds every centre's patients: only an engine of every centre makes one (the command line; a global
administrator's page). On PostgreSQL the dump runs with the centres' row-level security on and the scope of every
centre (`skintrack.centres=*`), so that the app's own role, which the policies bind (migration 0008), dumps every
row; a superuser, whom they do not bind, dumps the same."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from db.common import audit
from db.engine import is_sqlite, write_session
from db.scope import scope_of
from models.errors import NotPermitted, SkintrackError


class BackupFailed(SkintrackError):
    """The backup could not be made (the message says what to do instead)."""


PG_DUMP_ADVICE = ("for PostgreSQL, back up with the server's own tool, e.g. "
                  "`pg_dump --format=custom --file=skintrack.dump \"$DATABASE\"` (restore with pg_restore; as the "
                  "app's role add --enable-row-security and PGOPTIONS='-c skintrack.centres=*')")
# pg_dump's session: the centres' policies apply (as they do to the app's role) with the scope of every centre
ROW_SECURITY_OPTIONS = "-c skintrack.centres=*"


BACKUP_REFUSED = ("only an administrator of every centre may back up the database: a backup holds every centre's "
                  "patients")


def may_back_up(engine: Engine) -> bool:
    """Whether the engine's scope may make a backup (every centre: a backup holds them all)."""
    return scope_of(engine).everything


def backup_database(engine: Engine, out: Path, *, actor: str) -> Path:
    """Write a consistent copy of the database to `out` and audit it. Raises BackupFailed, or NotPermitted for an
    engine limited to some centres (a backup holds them all)."""
    if not may_back_up(engine):
        raise NotPermitted(BACKUP_REFUSED, field="database")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(engine):
        _backup_sqlite(engine, out)
    else:
        _backup_postgresql(engine, out)
    with write_session(engine) as session:
        audit(session, actor=actor, action="backup", entity="database", detail=f"backup written to {out.name}")
    return out


def _backup_sqlite(engine: Engine, out: Path) -> None:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupFailed("an in-memory database cannot be backed up", field="database")
    if out.resolve() == Path(source_path).resolve():
        raise BackupFailed("the backup must not overwrite the database itself", field="out")
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(str(out))
    try:
        with target:
            source.backup(target)  # page-by-page copy of one consistent snapshot, writers keep going
    finally:
        target.close()
        source.close()


def pg_dump_invocation(url: str, out: Path, passfile: Path) -> tuple[list[str], dict[str, str], str]:
    """(argv, environment, password-file text) for pg_dump of the database at `url`.

    No secret goes on the command line, which every local user can read (`ps`, /proc/PID/cmdline): the
    connection comes from libpq's PG* environment variables and the password from a password file that
    only this account can read (PGPASSFILE; libpq ignores one that is group- or world-readable). The session
    sees every centre's rows (PGOPTIONS `-c skintrack.centres=*`, after the URL's own options)."""
    parsed = make_url(url)
    env = {"PGDATABASE": parsed.database or "", "PGHOST": parsed.host or "", "PGPORT": str(parsed.port or ""),
           "PGUSER": parsed.username or "", "PGPASSFILE": str(passfile)}
    options = parsed.query.get("options")
    options = unquote(options if isinstance(options, str) else options[0]) if options else ""
    env["PGOPTIONS"] = f"{options} {ROW_SECURITY_OPTIONS}".strip()
    env = {name: value for name, value in env.items() if value}
    secret = ""
    if parsed.password:
        def field(value: str) -> str:  # the password file escapes ':' and '\\'
            return value.replace("\\", "\\\\").replace(":", "\\:")
        secret = ":".join(field(part) for part in (parsed.host or "*", str(parsed.port or "*"), parsed.database or "*",
                                                   parsed.username or "*", parsed.password)) + "\n"
    # --enable-row-security: a role the centres' policies bind may dump the tables (else pg_dump refuses them), and
    # with PGOPTIONS' scope of every centre its dump holds every row; no change for a superuser
    argv = [shutil.which("pg_dump") or "pg_dump", "--format=custom", f"--file={out}", "--no-password",
            "--enable-row-security"]
    return argv, env, secret


def _backup_postgresql(engine: Engine, out: Path) -> None:
    if shutil.which("pg_dump") is None:
        raise BackupFailed(f"pg_dump is not installed here; {PG_DUMP_ADVICE}", field="database")
    with tempfile.TemporaryDirectory(prefix="skintrack-backup-") as private:  # mode 0700
        passfile = Path(private) / "pgpass"
        argv, env, secret = pg_dump_invocation(engine.url.render_as_string(hide_password=False), out, passfile)
        descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(argv, env={**inherited, **env}, capture_output=True, text=True, timeout=3600,
                                check=False)
    if result.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()[:400]}; {PG_DUMP_ADVICE}", field="database")
