"""The installation itself: its stored pseudonym secret (created once, audited) and, on PostgreSQL, the grants of
the role the app connects as (least privilege: README, "Security")."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from db.common import audit
from db.engine import write_session
from models.errors import InvalidValue, NotPermitted
from models.setting import InstallationSetting

SECRET_SETTING = "pseudonym_secret"
INSTALLATION_ACTOR = "skintrack"  # the audit row's actor when the installation acts on its own (no user given)
AUDIT_TABLE = "audit_event"
SCOPE_FUNCTION = "skintrack_in_scope(integer)"  # what the centres' policies call (migration 0008)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def pseudonym_secret(engine: Engine, *, actor: str = INSTALLATION_ACTOR) -> str:
    """The stored pseudonym secret; created (32 random bytes, hex) on first use, with an audit row naming `actor`
    in the same transaction. The secret itself is never written to the trail. Two processes creating it at once:
    one row lands, the other reads it."""
    table = InstallationSetting.__table__
    statement = select(table.c.value).where(table.c.key == SECRET_SETTING)
    with engine.connect() as connection:
        stored = connection.execute(statement).scalar()
    if stored is not None:
        return stored
    try:
        with write_session(engine) as session:
            session.execute(insert(table).values(key=SECRET_SETTING, value=secrets.token_hex(32)))
            audit(session, actor=actor, action="create", entity="installation_setting",
                  detail=f"{SECRET_SETTING} generated (the key of de-identified exports' pseudonyms and date shifts)")
    except IntegrityError:
        pass  # another process stored one first: use theirs
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Give the PostgreSQL role `role` what the app needs in the schema of `engine` (which must connect as the
    owner of the tables, the role that runs the migrations): SELECT, INSERT, UPDATE and DELETE on every table
    (centre and user_centre included) but only SELECT and INSERT on audit_event and SELECT on alembic_version, the
    sequences, and EXECUTE on the function the centres' row-level security policies call. Returns the statements
    run. Refused (NotPermitted) for a superuser or a role that owns the tables or is a member of their owner
    (either could alter the audit table's triggers), and for a BYPASSRLS role (the centres' policies would not
    apply to it). Run it again after an upgrade that adds tables."""
    if engine.dialect.name != "postgresql":
        raise InvalidValue("only PostgreSQL has roles; a SQLite file is protected by its file permissions",
                           field="database")
    if not ROLE_NAME.match(role or ""):
        raise InvalidValue("a role name of lower-case letters, digits and '_'", field="role")
    with engine.begin() as connection:
        found = connection.execute(text(
            "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(:role, t.tableowner, 'MEMBER') AS owns, "
            "current_schema() AS schema FROM pg_roles r, pg_tables t "
            "WHERE r.rolname = :role AND t.tablename = :audit AND t.schemaname = current_schema()"),
            {"role": role, "audit": AUDIT_TABLE}).first()
        if found is None:
            raise InvalidValue(f"no role {role!r} (CREATE ROLE {role} LOGIN PASSWORD '…' first), or no "
                               f"{AUDIT_TABLE} table in this schema (run the migrations first)", field="role")
        if found.rolsuper or found.owns:
            raise NotPermitted(f"{role!r} is a superuser or owns the tables: it could alter the audit trail's "
                               "triggers; the app needs a role of its own", field="role")
        if found.rolbypassrls:
            raise NotPermitted(f"{role!r} has BYPASSRLS: the centres' row-level security would not apply to it; "
                               f"ALTER ROLE {role} NOBYPASSRLS first", field="role")
        schema = '"' + found.schema.replace('"', '""') + '"'
        statements = [
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{AUDIT_TABLE} FROM {role}",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.alembic_version FROM {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        ]
        if connection.execute(text("SELECT to_regprocedure(:name) IS NOT NULL"),
                              {"name": f"{schema}.{SCOPE_FUNCTION}"}).scalar_one():
            # the centres' row-level security policies call it (migration 0008); PUBLIC may have lost EXECUTE
            statements.append(f"GRANT EXECUTE ON FUNCTION {schema}.{SCOPE_FUNCTION} TO {role}")
        for statement in statements:
            connection.execute(text(statement))
    return statements
