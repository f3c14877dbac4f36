"""Alembic environment: targets SQLModel.metadata; batch mode on SQLite (ALTERs copy the table).

Several processes may start on one database at once (app replicas, the CLI beside a running app):
the migration runs under the database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction-scoped advisory lock), so the others wait, then find the schema current and do nothing.
"""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from db.engine import make_engine

MIGRATION_LOCK_KEY = 0x536B696E  # "Skin": any constant shared by every Skintrack process

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    from db.engine import database_url

    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=database_url().startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_immediate=True)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's way to alter a table (copy, drop, rename: batch mode) with rows pointing at it: foreign keys
            # off for the migration (the pragma is a no-op inside a transaction, so it goes to the driver before
            # BEGIN), every key checked before the commit, back on after.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration would leave rows pointing at nothing: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:  # on again whatever happened: the connection goes back to the app's pool
                connection.rollback()  # nothing after a commit; ends a failed migration's transaction first
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
