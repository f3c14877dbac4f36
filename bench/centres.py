"""The benchmark's centres (issue 16): ten centres of uneven sizes, and what a one-centre account needs.

The generated registry (demo.generate_registry with BENCH_CENTRES) names each patient's centre; the centres are
created in the empty database before the import (db.centres.add_centre), so the import places every patient at
its centre. Until the importer knows the bundle's `centre` column, the bundle is written without it, imported
into the one default centre, and the patients are then moved to their centres in one UPDATE per centre: setup,
not a figure (noted in the results).

The one-centre account is the largest centre (the most a one-centre account reads): the figures 1b, 3b and 4d-4f
use `db.scope.scoped(engine, Scope(frozenset({key})))`; its export is `python cli.py export --centre CODE` where
the command line has that option, else the same export through `exchange.export_bundle` with the scoped engine in
a process of its own (bench.child export).

On PostgreSQL the figures after the import run as an app role of their own (created for the run, dropped at its
end), as the README's "Security" deploys it: the row-level security policies of migration 0008 apply to it, and
not to a superuser or the tables' owner.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select, text

from demo import DemoCentre

# Shares of a registry's patients, largest first (sum 1): uneven as a network's centres are.
SHARES = (0.24, 0.17, 0.13, 0.10, 0.09, 0.08, 0.06, 0.05, 0.045, 0.035)
BENCH_CENTRES: tuple[DemoCentre, ...] = tuple(
    DemoCentre(f"C{i:02d}", f"Bench centre {i}", "", share, tuple(f"Dr C{i:02d}-{r}" for r in "ABC"[:2 + i % 2]))
    for i, share in enumerate(SHARES, start=1))
ONE_CENTRE = BENCH_CENTRES[0].code  # the largest
APP_ROLE = "skintrack_bench_app"


def importer_takes_centre() -> bool:
    """Whether the import reads patients.csv's `centre` column (exchange.spec)."""
    from exchange.spec import PATIENTS

    return "centre" in PATIENTS.kinds


def cli_export_takes_centre() -> bool:
    """Whether `python cli.py export` has `--centre CODE,...`."""
    import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return any("--centre" in action.option_strings for action in commands.choices["export"]._actions)  # noqa: SLF001


def create_centres(url: str, centres: list[dict]) -> dict[str, int]:
    """Create `centres` (code, name, country) in the database at `url` through db.centres; code -> key."""
    from db.centres import add_centre
    from db.engine import make_engine, write_session

    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            return {c["code"]: add_centre(session=session, data=c, actor="bench").centre_key for c in centres}
    finally:
        engine.dispose()


def assign_centres(url: str, registry) -> None:
    """Fallback setup: move the imported patients (all in the default centre) to their centres, one UPDATE per
    centre, creating the centres first."""
    from db.engine import make_engine
    from models.patient import Patient

    keys = create_centres(url, registry.centres)
    table = Patient.__table__
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for code, key in keys.items():
                ids = [p["patient_id"] for p in registry.patients if p.get("centre") == code]
                for start in range(0, len(ids), 900):
                    connection.execute(table.update().where(table.c.patient_id.in_(ids[start:start + 900]))
                                       .values(centre_key=key))
    finally:
        engine.dispose()


def centre_key(url: str, code: str) -> int:
    from db.engine import make_engine
    from models.centre import Centre

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(Centre.__table__.c.centre_key)
                                      .where(Centre.__table__.c.code == code)).scalar_one()
    finally:
        engine.dispose()


def without_centre(registry):
    """The registry's patients without their `centre` column (for an importer that does not know it)."""
    from dataclasses import replace

    return replace(registry, patients=[{k: v for k, v in p.items() if k != "centre"} for p in registry.patients])


# --- PostgreSQL: an app role subject to the row-level security policies -----------------------------------------


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def app_role_url(owner_url: str, role: str = APP_ROLE) -> str:
    """Create the login role `role` (if missing) with the app's grants on `owner_url`'s schema
    (db.installation.grant_app_role); its URL. The server must let it in without a password (local trust), as
    the test suite's does."""
    from db.engine import make_engine
    from db.installation import grant_app_role

    owner = make_engine(owner_url)
    try:
        with owner.begin() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if exists is None:
                connection.execute(text(f"CREATE ROLE {role} LOGIN"))
        grant_app_role(owner, role)
    finally:
        owner.dispose()
    return as_role(owner_url, role)


def drop_app_role(owner_url: str, role: str = APP_ROLE) -> None:
    """Drop the role and its grants (in this database; the benchmark's schemas are dropped too)."""
    from db.engine import make_engine

    owner = make_engine(owner_url)
    try:
        with owner.begin() as connection:
            if connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE {role}"))
    finally:
        owner.dispose()
