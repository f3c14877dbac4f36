"""Database engine and transactions.

`SKINTRACK_DATABASE_URL` selects the database (default: a SQLite file under ./data/). SQLite runs
in WAL mode with foreign keys on and a 30 s busy timeout; write transactions on SQLite start with
BEGIN IMMEDIATE, so two writers queue on the lock instead of failing half-way with "database is
locked" when a read-then-write transaction tries to upgrade its lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SQLITE_PATH = ROOT / "data" / "skintrack.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
URL_VARIABLE = "SKINTRACK_DATABASE_URL"
# PostgreSQL with two roles (README, "Security"): the app connects as SKINTRACK_DATABASE_URL's role, which may not
# change the schema; migrations run as this URL's role, the owner of the tables.
MIGRATION_URL_VARIABLE = "SKINTRACK_MIGRATION_DATABASE_URL"


def database_url() -> str:
    """The configured URL; the default SQLite file's folder is created on first use."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), with the SQLite pragmas set per connection."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if engine.dialect.name == "postgresql":
        from db.scope import install_postgresql_scope  # the row-level security's scope, set at every BEGIN

        install_postgresql_scope(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control from the driver so BEGIN can be IMMEDIATE for writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction for a write: committed when the block ends, rolled back on any error."""
    bind = engine.execution_options(sqlite_immediate=True) if is_sqlite(engine) else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


# --- migrations -----------------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini")) if (ROOT / "alembic.ini").exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (an empty database gets every table)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade_database(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade when the database is behind; a no-op (one query) when it is current. The upgrade runs as
    SKINTRACK_MIGRATION_DATABASE_URL's role (the owner) when it is set, else through `engine`; on PostgreSQL the
    owner then grants `engine`'s role its rights again (db/installation.grant_app_role), new tables included."""
    if current_revision(engine) != head_revision():
        owner_url = os.environ.get(MIGRATION_URL_VARIABLE, "").strip()
        if not owner_url:
            upgrade_database(engine)
            return
        owner = make_engine(owner_url)
        try:
            upgrade_database(owner)
            if owner.dialect.name == "postgresql" and engine.url.username != owner.url.username:
                from db.installation import grant_app_role  # the tables a migration added, for the app's role

                grant_app_role(owner, engine.url.username)
        finally:
            owner.dispose()
