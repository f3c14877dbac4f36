"""Backup (administrators): one click downloads a consistent copy of the whole database, audited.
SQLite: the database file (SQLite's online backup, safe while others write); PostgreSQL: a pg_dump archive."""

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from db.backup import BACKUP_REFUSED, PG_DUMP_ADVICE, backup_database, may_back_up
from db.engine import is_sqlite
from ui.guard import require
from ui.messages import as_text
from ui.state import actor, current_scope, get_engine

require(__file__)
engine = get_engine()
sqlite = is_sqlite(engine)
username = actor()
stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
file_name = f"skintrack-{stamp}.{'db' if sqlite else 'dump'}"


def backup_bytes() -> bytes:
    """Made when the button is clicked (not on every page view); the backup is audited by db/backup.py."""
    with tempfile.TemporaryDirectory(prefix="skintrack-backup-") as folder:
        return backup_database(engine, Path(folder) / file_name, actor=username).read_bytes()


st.title("Backup")
if sqlite:
    st.write("Download a consistent copy of the whole database — a SQLite file that opens with Skintrack "
             "(point `SKINTRACK_DATABASE_URL` at it) or any SQLite tool. Others can keep working meanwhile.")
else:
    st.write("Download a consistent `pg_dump` archive of the whole database (custom format; restore it with "
             "`pg_restore --dbname=...`). Others can keep working meanwhile.")
st.caption("The file holds identified patient data: keep it encrypted and out of shared folders. "
           "Each backup is recorded in the audit trail. From the command line: `python cli.py backup FILE`.")

if not may_back_up(engine):
    # the download's data is made only on the click, where a refusal could not be shown: say it here instead
    st.info(f"{BACKUP_REFUSED[0].upper()}{BACKUP_REFUSED[1:]}; your account works in "
            f"{as_text(current_scope().describe())}. Ask an administrator of every centre for a backup.",
            icon=":material/lock:")
    st.stop()
if not sqlite and shutil.which("pg_dump") is None:
    st.warning(f"pg_dump is not installed on this server, so the app cannot make the backup: {PG_DUMP_ADVICE}.",
               icon=":material/warning:")
    st.stop()
st.download_button("Download a backup", data=backup_bytes, file_name=file_name,
                   mime="application/vnd.sqlite3" if sqlite else "application/octet-stream",
                   type="primary", icon=":material/backup:", key="backup_download", on_click="ignore")
