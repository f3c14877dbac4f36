"""The centre scope of reads and writes: carried by the engine, applied by every read of `db/`, and on PostgreSQL
set per transaction for the row-level security policies (migration 0008).

An entry point (a page for the signed-in account, an API request for its token, the command line for everyone)
takes `scoped(engine, scope)` and hands that engine to `db/`; every function of `db/` that reads patients' data
filters by `scope_of(engine)`. An engine without a scope acts for every centre (`models.scope.ALL`): migrations,
the command line, background work. On PostgreSQL the engine sets `skintrack.centres` at every BEGIN from the same
scope, so a query that forgets the filter still sees only the scope's rows (when the app's role is subject to the
policies: any role but a superuser or a BYPASSRLS role). SQLite, a single clinic's default, relies on the filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, false, select, true
from sqlalchemy.sql import ColumnElement

from models.patient import Patient
from models.scope import ALL, Scope

OPTION = "skintrack_scope"
# Every table whose rows belong to a patient: each has the centre_scope policy on PostgreSQL (a test holds this
# list equal to the tables with a patient_key column, and checks the policies exist).
CLINICAL_TABLES = ("patient", "assessment", "measurement", "medication_period", "treatment_event", "audit_event")


def scoped(engine: Engine, scope: Scope) -> Engine:
    """`engine` acting for `scope` (the same pool and connections; an Engine every db/ function takes)."""
    return engine.execution_options(**{OPTION: scope})


def scope_of(bind) -> Scope:
    """The scope an engine, a connection or a session acts for (ALL when none was given)."""
    get_bind = getattr(bind, "get_bind", None)
    if get_bind is not None:  # a Session
        bind = get_bind()
    return bind.get_execution_options().get(OPTION, ALL)


def unscoped(engine: Engine) -> Engine:
    """The engine acting for every centre: for the installation's own work (migrations, the pseudonym secret)."""
    return engine.execution_options(**{OPTION: ALL})


def patient_filter(bind) -> ColumnElement[bool]:
    """The condition on the patient table that keeps the scope's patients (TRUE for every centre)."""
    scope = scope_of(bind)
    if scope.centres is None:
        return true()
    if not scope.centres:
        return false()
    return Patient.__table__.c.centre_key.in_(sorted(scope.centres))


def owner_filter(bind, patient_key: ColumnElement) -> ColumnElement[bool]:
    """The condition on a table with a patient_key column that keeps the rows of the scope's patients."""
    scope = scope_of(bind)
    if scope.centres is None:
        return true()
    if not scope.centres:
        return false()
    table = Patient.__table__
    return patient_key.in_(select(table.c.patient_key).where(table.c.centre_key.in_(sorted(scope.centres))))


def install_postgresql_scope(engine: Engine) -> None:
    """Set `skintrack.centres` from the connection's scope at every BEGIN (transaction-local: it ends with the
    transaction, so a pooled connection never carries one account's scope into another's transaction)."""

    @event.listens_for(engine, "begin")
    def _set_scope(connection):
        scope = connection.get_execution_options().get(OPTION, ALL)
        connection.exec_driver_sql("SELECT set_config('skintrack.centres', %s, true)", (scope.setting,))


@contextmanager
def every_centre(session) -> Iterator[None]:
    """Within the block, the session's PostgreSQL transaction is not limited by the policies (skintrack.centres =
    '*'); the scope's setting is back after it. Only for a check the application itself limits to what it may tell,
    e.g. that a patient_id exists at another centre (a new patient may not take it). Nothing on SQLite."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SELECT set_config('skintrack.centres', '*', true)")
    try:
        yield
    finally:
        connection.exec_driver_sql("SELECT set_config('skintrack.centres', %s, true)", (scope_of(session).setting,))
