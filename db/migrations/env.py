"""Alembic environment: targets SQLModel.metadata; batch mode on SQLite (ALTERs copy the table)."""

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from db.engine import make_engine

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
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
