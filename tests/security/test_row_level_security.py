"""PostgreSQL enforces the centre scope itself (issue 16): row-level security on every clinical table.

Superusers bypass the policies, and the suite connects as one, so these tests act as a throwaway login role given
the app's rights by `cli.py db grant-app-role` (the `app_role` fixture of test_audit_protection), and prepare their
data as the owner (unscoped). With the application's filter bypassed (raw SQL through a scoped engine), only the
scope's rows come back and writes into another centre are refused; a connection that never set the scope sees no
clinical row; every table with a patient_key column has the policy; and the app's own work still runs as that
role within its scope.
"""

from __future__ import annotations

import io
import zipfile

import psycopg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from db.audit import load_audit
from db.centres import add_centre, centre_keys, transfer_patient
from db.engine import write_session
from db.installation import SCOPE_FUNCTION, grant_app_role
from db.measures import record_measurement
from db.patients import create_patient, delete_patient, get_patient, load_patients, update_patient
from db.scope import CLINICAL_TABLES, scoped
from db.treatments import record_event, start_medication
from db.visits import record_assessment
from models.errors import NotPermitted, UnknownPatient
from models.scope import ALL, Scope
from tests import factories
from tests.conftest import as_role

REFUSED = "row-level security"


def _make_centres(owner) -> dict[str, int]:
    with write_session(owner) as session:
        for code in ("A", "B"):
            add_centre(session=session, data={"code": code, "name": f"Centre {code}", "country": "NL"},
                       actor="admin")
    return centre_keys(owner, ["MAIN", "A", "B"])


def _patient_with_records(session, patient_id: str, centre_key: int) -> None:
    create_patient(session=session, data=factories.patient(patient_id=patient_id, centre_key=centre_key), actor="t")
    record_assessment(session=session, data=factories.assessment(patient_id=patient_id), actor="t")
    record_measurement(session=session, data=factories.measurement(patient_id=patient_id), actor="t")
    start_medication(session=session, data=factories.medication(patient_id=patient_id), actor="t")
    record_event(session=session, data=factories.event(patient_id=patient_id), actor="t")


@pytest.fixture
def registry(app_role):  # noqa: F811
    """The app's role and engine, the owner's engine, and the centre keys; patients PM (MAIN), PA (A) and PB (B),
    each with a record of every kind (and their audit rows), written by the owner for every centre."""
    role, app, owner = app_role
    keys = _make_centres(owner)
    with write_session(owner) as session:
        for patient_id, code in (("PM", "MAIN"), ("PA", "A"), ("PB", "B")):
            _patient_with_records(session, patient_id, keys[code])
    return role, app, owner, keys


def _truth(owner, table: str) -> list[tuple[int | None, int | None]]:
    """(patient_key, centre_key) of every row of `table`, read by the owner (a superuser: no policy applies)."""
    with owner.connect() as connection:
        return sorted(connection.execute(text(
            f"SELECT t.patient_key, p.centre_key FROM {table} t LEFT JOIN patient p USING (patient_key)"  # noqa: S608
        )).all(), key=repr)


def _raw(engine, table: str) -> list[int | None]:
    """The patient_key of every row a raw `SELECT *` returns: no filter of the application's."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).mappings().all()  # noqa: S608
    return sorted((row["patient_key"] for row in rows), key=repr)


def test_raw_selects_through_a_scoped_engine_return_only_the_scopes_rows(registry):
    role, app, owner, keys = registry
    scopes = {"A": Scope(frozenset({keys["A"]})), "A and B": Scope(frozenset({keys["A"], keys["B"]})),
              "all": ALL, "none": Scope(frozenset())}
    for table in CLINICAL_TABLES:
        truth = _truth(owner, table)
        assert {centre for _, centre in truth} >= set(keys.values()), table  # every centre has rows here
        for name, scope in scopes.items():
            expected = sorted((key for key, centre in truth if centre is None or scope.sees(centre)), key=repr)
            assert _raw(scoped(app, scope), table) == expected, (table, name)
    # the application's filter agrees (and on its own would hide the same rows)
    only_a = scoped(app, scopes["A"])
    assert list(load_patients(only_a)["patient_id"]) == ["PA"]
    assert get_patient(only_a, "PB") is None
    # the owner connects as a superuser here: it is not subject to the policies, whatever its scope
    assert len(_raw(scoped(owner, scopes["none"]), "patient")) == 3


def _tables_with_a_patient(engine) -> set[str]:
    inspector = inspect(engine)
    return {table for table in inspector.get_table_names()
            if any(column["name"] == "patient_key" for column in inspector.get_columns(table))}


def _unprotected(engine) -> list[str]:
    """The tables with a patient_key column that are not in CLINICAL_TABLES or lack an enabled, forced
    centre_scope policy checking both reads and writes."""
    problems = []
    with engine.connect() as connection:
        for table in sorted(_tables_with_a_patient(engine)):
            protected = connection.execute(text(
                "SELECT c.relrowsecurity AND c.relforcerowsecurity AND p.polcmd = '*' AND p.polpermissive "
                "AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL AND p.polroles = '{0}' "
                "FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'centre_scope' "
                "WHERE c.oid = to_regclass(:table)"), {"table": table}).scalar()
            if table not in CLINICAL_TABLES or not protected:
                problems.append(table)
    return problems


def test_every_table_of_a_patient_has_the_policy(pg_url):
    """CLINICAL_TABLES is exactly the tables with a patient_key column, and each has an enabled and forced policy
    for every command and every role; a new table of patients' rows without one fails this test."""
    from db.engine import make_engine

    owner = make_engine(pg_url)
    try:
        assert _tables_with_a_patient(owner) == set(CLINICAL_TABLES)
        assert _unprotected(owner) == []
        with owner.begin() as connection:
            connection.execute(text("CREATE TABLE extra_note (note_id serial PRIMARY KEY, "
                                    "patient_key integer REFERENCES patient (patient_key))"))
        try:
            assert _unprotected(owner) == ["extra_note"]
            with owner.begin() as connection:  # enabled but not forced: the tables' owner would bypass it
                connection.execute(text("ALTER TABLE extra_note ENABLE ROW LEVEL SECURITY"))
                connection.execute(text("CREATE POLICY centre_scope ON extra_note USING (true) WITH CHECK (true)"))
            assert _unprotected(owner) == ["extra_note"]
        finally:
            with owner.begin() as connection:
                connection.execute(text("DROP TABLE extra_note"))
    finally:
        owner.dispose()


def test_a_connection_that_never_set_the_scope_sees_no_clinical_row(registry):
    role, app, owner, keys = registry
    url = make_url(as_role(owner.url.render_as_string(hide_password=False), role))
    options = owner.url.query.get("options")
    with psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=role, options=options) as raw:
        for table in CLINICAL_TABLES:
            count = raw.execute(f"SELECT count(*) FROM {table} WHERE patient_key IS NOT NULL").fetchone()[0]
            assert count == 0, table
        # an empty setting (what a finished transaction leaves behind) is no scope either
        raw.execute("SELECT set_config('skintrack.centres', '', false)")
        assert raw.execute("SELECT count(*) FROM patient").fetchone()[0] == 0
        # and the rows are there: the same connection with a scope sees them
        raw.execute("SELECT set_config('skintrack.centres', %s, false)", (str(keys["A"]),))
        assert raw.execute("SELECT patient_id FROM patient").fetchall() == [("PA",)]


def test_writes_into_another_centre_are_refused_by_the_database(registry):
    role, app, owner, keys = registry
    only_a = scoped(app, Scope(frozenset({keys["A"]})))
    with owner.connect() as connection:
        pb = connection.execute(text("SELECT patient_key FROM patient WHERE patient_id = 'PB'")).scalar_one()
        pa = connection.execute(text("SELECT patient_key FROM patient WHERE patient_id = 'PA'")).scalar_one()
    new_patient = ("INSERT INTO patient (patient_id, diagnosis, name, mrn, notes, data_version, version, centre_key) "
                   "VALUES (:patient_id, 'dcSSc', '', '', '', 0, 1, :centre)")
    new_visit = ("INSERT INTO assessment (patient_key, visit_date, rater, notes, total, incomplete, version) "
                 "VALUES (:key, '2019-01-01', 'dr z', '', 10, false, 1)")
    refused = [
        (new_patient, {"patient_id": "PX", "centre": keys["B"]}),  # a patient into another centre
        (new_visit, {"key": pb}),  # a visit of another centre's patient
        ("INSERT INTO measurement (patient_key, date, measure, side, value, unit, rater, version) "
         "VALUES (:key, '2019-01-01', 'mrss_x', '', 1, '', '', 1)", {"key": pb}),
        ("UPDATE patient SET centre_key = :centre WHERE patient_key = :key", {"centre": keys["B"], "key": pa}),
        ("UPDATE assessment SET patient_key = :other WHERE patient_key = :key", {"other": pb, "key": pa}),
    ]
    for statement, values in refused:
        with pytest.raises(DBAPIError) as error, only_a.begin() as connection:
            connection.execute(text(statement), values)
        assert REFUSED in str(error.value.orig), statement
    # rows of another centre are out of reach of UPDATE and DELETE: nothing matches
    with only_a.begin() as connection:
        assert connection.execute(text("UPDATE patient SET name = 'x' WHERE patient_key = :k"), {"k": pb}).rowcount == 0
        assert connection.execute(text("DELETE FROM measurement WHERE patient_key = :k"), {"k": pb}).rowcount == 0
    # within the scope the same statements pass
    with only_a.begin() as connection:
        connection.execute(text(new_patient), {"patient_id": "PY", "centre": keys["A"]})
        connection.execute(text(new_visit), {"key": pa})
    with owner.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patient WHERE patient_id IN ('PX', 'PY')")).scalar() == 1
        assert connection.execute(text("SELECT name FROM patient WHERE patient_key = :k"), {"k": pb}).scalar() != "x"


def _import_two_visits(engine) -> None:
    """A bundle import (the set-based inserts of db.batch) of one visit of PA and one of PB."""
    from exchange import import_bundle

    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("skin_scores.csv", "patient_id,visit_date,rater,total\nPA,2020-01-01,dr i,20\n"
                                            "PB,2020-01-01,dr i,12\n")
    bundle.seek(0)
    import_bundle(engine, bundle, actor="alice", bundle_name="two.zip")


def test_the_app_role_does_the_apps_work_within_its_scope(registry, tmp_path):
    """A smoke run of the app's writes and reads as the non-superuser role, scoped to centres A and B (the policies
    apply): patients, records, corrections, a deletion, a transfer, the audit trail, an import of a bundle (set-based
    inserts), the cohort's reads and an export."""
    from db.cohort import cohort_summary
    from exchange.exporter import export_bundle

    role, app, owner, keys = registry
    a_and_b = scoped(app, Scope(frozenset({keys["A"], keys["B"]}), codes=("A", "B")))
    with write_session(a_and_b) as session:
        _patient_with_records(session, "PA2", keys["A"])
    with write_session(a_and_b) as session:
        update_patient(session=session, actor="alice", patient_id="PA2", expected_version=1,
                       data=factories.patient(patient_id="PA2", name="Corrected Name"))
    version = get_patient(a_and_b, "PA2")["version"]
    with write_session(a_and_b) as session:
        transfer_patient(session=session, patient_id="PA2", centre="B", expected_version=version, actor="alice",
                         reason="moved house")
    with write_session(a_and_b) as session:
        create_patient(session=session, data=factories.patient(patient_id="PGONE", centre_key=keys["A"]), actor="t")
    with write_session(a_and_b) as session:
        delete_patient(session=session, patient_id="PGONE", expected_version=1, actor="alice", reason="duplicate")
    assert get_patient(a_and_b, "PA2")["name"] == "Corrected Name"
    assert sorted(load_patients(a_and_b)["patient_id"]) == ["PA", "PA2", "PB"]
    trail = load_audit(a_and_b, limit=1000)
    assert {"transfer", "delete", "update", "create"} <= set(trail["action"])
    assert "PM" not in set(trail["patient_id"].dropna())
    # the patient of a centre outside the scope stays unreachable through the write paths too
    with pytest.raises(UnknownPatient), write_session(a_and_b) as session:
        record_assessment(session=session, data=factories.assessment(patient_id="PM", visit_date="2019-02-02"),
                          actor="t")
    with pytest.raises(NotPermitted), write_session(a_and_b) as session:
        create_patient(session=session, data=factories.patient(patient_id="PM", centre_key=keys["A"]), actor="t")
    # an import: set-based inserts (PostgreSQL refuses COPY FROM where row-level security applies)
    _import_two_visits(a_and_b)
    with owner.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM assessment WHERE rater = 'dr i'")).scalar() == 2
    summary = cohort_summary(a_and_b)
    assert sorted(summary.patient_ids) == ["PA", "PA2", "PB"]
    # every visit with a total of the scope's patients: 3 recorded, 2 imported (PostgreSQL reads them with COPY TO)
    assert len(summary.visits) == 5, summary.visits
    export = export_bundle(a_and_b, tmp_path / "export", deidentify=False, actor="alice", workers=1)
    assert export.patients == 3


def test_the_app_roles_grants_cover_the_centres(registry):
    """grant-app-role covers centre and user_centre and the policies' function, even where PUBLIC lost EXECUTE on
    functions (a hardened schema); a BYPASSRLS role is refused (the policies would not apply to it)."""
    role, app, owner, keys = registry
    with owner.begin() as connection:
        for table, rights in (("centre", "SELECT,INSERT,UPDATE"), ("user_centre", "SELECT,INSERT,DELETE")):
            assert connection.execute(text("SELECT has_table_privilege(:role, :table, :rights)"),
                                      {"role": role, "table": table, "rights": rights}).scalar_one(), table
        connection.execute(text(f"REVOKE EXECUTE ON FUNCTION {SCOPE_FUNCTION} FROM PUBLIC, {role}"))
    try:
        only_a = scoped(app, Scope(frozenset({keys["A"]})))
        with pytest.raises(DBAPIError, match="permission denied for function"):
            load_patients(only_a)
        grant_app_role(owner, role)
        assert list(load_patients(only_a)["patient_id"]) == ["PA"]
        with owner.begin() as connection:
            connection.execute(text(f"ALTER ROLE {role} BYPASSRLS"))
        with pytest.raises(NotPermitted, match="BYPASSRLS"):
            grant_app_role(owner, role)
    finally:
        with owner.begin() as connection:
            connection.execute(text(f"GRANT EXECUTE ON FUNCTION {SCOPE_FUNCTION} TO PUBLIC"))


@pytest.mark.slow  # a database of its own, migrated, dumped and restored (~4 s)
def test_a_backup_made_as_the_app_role_restores_every_row(tmp_path):
    """`cli.py backup` as the app's role (the policies bind it): pg_dump runs with row security on and every
    centre's scope, and the dump restores every row of every table, and the policies, into an emptied database. A
    database of its own: pg_dump reads the whole database, and the app's role may not read the other tests'
    schemas."""
    import subprocess
    import uuid

    from db.backup import backup_database
    from db.engine import make_engine, upgrade_database
    from tests.conftest import PG_BASE_URL, pg_available

    ok, reason = pg_available()
    if not ok:
        pytest.skip(reason)
    suffix = uuid.uuid4().hex[:8]
    database, role = f"skintrack_bk_{suffix}", f"skintrack_app_{suffix}"
    admin = make_engine(PG_BASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    base = make_url(PG_BASE_URL)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    owner = make_engine(base.set(database=database).render_as_string(hide_password=False))
    app = make_engine(base.set(database=database, username=role).render_as_string(hide_password=False))
    try:
        with owner.begin() as connection:
            connection.execute(text("CREATE EXTENSION btree_gist"))
        upgrade_database(owner)
        grant_app_role(owner, role)
        keys = _make_centres(owner)
        with write_session(owner) as session:
            for patient_id, code in (("PM", "MAIN"), ("PA", "A"), ("PB", "B")):
                _patient_with_records(session, patient_id, keys[code])
        assert len(_raw(scoped(app, Scope(frozenset())), "patient")) == 0  # the policies bind the app's role
        # an import as the app's role where it may not create temporary tables: its rows go in one by one
        with admin.connect() as connection:
            connection.execute(text(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC"))
        _import_two_visits(app)
        out = backup_database(app, tmp_path / "app.dump", actor="tester")
        tables = sorted(inspect(owner).get_table_names())
        assert set(CLINICAL_TABLES) <= set(tables)

        def counts():
            with owner.connect() as connection:
                return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                        for table in tables}

        before = counts()
        assert before["patient"] == 3 and before["assessment"] == 3 + 2
        with owner.begin() as connection:  # the database lost: an empty one to restore into
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        owner.dispose()
        subprocess.run(["pg_restore", "--exit-on-error", f"--dbname={database}", f"--host={base.host}",
                        f"--port={base.port}", f"--username={base.username}", str(out)],
                       check=True, capture_output=True, text=True)
        assert counts() == {**before, "audit_event": before["audit_event"] - 1}  # the backup's own row came after
        assert _unprotected(owner) == []  # the policies came back with the rows
    finally:
        owner.dispose()
        app.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
