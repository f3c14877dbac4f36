"""The benchmark's databases: SQLite files in the work folder, PostgreSQL schemas of their own.

PostgreSQL: the schema (default `bench`) is dropped and recreated, selected through the URL's
search_path exactly as tests/conftest.py does, so test data in other schemas is never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from db.engine import make_engine, upgrade_database

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_reachable(base_url: str) -> str | None:
    """None when the server answers, otherwise why not (first line of the error)."""
    try:
        engine = make_engine(base_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at {base_url} is not reachable: {str(error).splitlines()[0]}"


def pg_schema_url(base_url: str, schema: str) -> str:
    joiner = "&" if "?" in base_url else "?"
    return f"{base_url}{joiner}options=-csearch_path%3D{schema}"


def _check_schema_name(schema: str) -> str:
    if not schema.replace("_", "").isalnum() or not schema[:1].isalpha():
        raise ValueError(f"schema name {schema!r}: letters, digits and _ only, starting with a letter")
    return schema


def fresh_pg_schema(base_url: str, schema: str) -> str:
    """Drop and recreate `schema`, migrate it, and return its URL."""
    _schema_ddl(base_url, schema, create=True)
    url = pg_schema_url(base_url, schema)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def drop_pg_schema(base_url: str, schema: str) -> None:
    _schema_ddl(base_url, schema, create=False)


def _schema_ddl(base_url: str, schema: str, *, create: bool) -> None:
    """Drop `schema` (with everything in it) and, with `create`, make it again, empty."""
    schema = _check_schema_name(schema)
    admin = make_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if create:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()


def sqlite_template(folder: Path) -> Path:
    """A migrated, empty SQLite file (made once per benchmark run)."""
    path = folder / "template.db"
    if not path.exists():
        engine = make_engine(f"sqlite:///{path}")
        upgrade_database(engine)
        engine.dispose()
    return path


def fresh_sqlite(folder: Path, name: str) -> str:
    """A fresh copy of the migrated template under `name` (any old file and its WAL removed)."""
    template = sqlite_template(folder)
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def remove_sqlite(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

