"""Consistent backups while the app runs: SQLite's online backup API, pg_dump for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from db.common import audit
from db.engine import is_sqlite, write_session
from models.errors import SkintrackError


class BackupFailed(SkintrackError):
    """The backup could not be made (the message says what to do instead)."""


PG_DUMP_ADVICE = ("for PostgreSQL, back up with the server's own tool, e.g. "
                  "`pg_dump --format=custom --file=skintrack.dump \"$DATABASE\"` (restore with pg_restore)")


def backup_database(engine: Engine, out: Path, *, actor: str) -> Path:
    """Write a consistent copy of the database to `out` and audit it. Raises BackupFailed."""
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


def _backup_postgresql(engine: Engine, out: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupFailed(f"pg_dump is not installed here; {PG_DUMP_ADVICE}", field="database")
    url = make_url(str(engine.url.render_as_string(hide_password=False))).set(drivername="postgresql")
    result = subprocess.run([pg_dump, "--format=custom", f"--file={out}", url.render_as_string(hide_password=False)],
                            capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()[:400]}; {PG_DUMP_ADVICE}", field="database")
