"""Accounts on SQLite and PostgreSQL: creation, updates with their safeguards, sign-in with the growing
delay (timed with an injected `now`), the audit of every attempt, hostile input, and `cli.py create-user`."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

import cli
from db.audit import load_audit
from db.engine import write_session
from db.users import (
    authenticate,
    change_password,
    create_user,
    get_user,
    load_users,
    sign_in_attempt,
    update_user,
)
from models import User
from models.errors import AuthenticationFailed, InvalidValue, NotPermitted

PASSWORD = "correct horse battery"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def add(engine, username="alice", role="staff", **extra):
    with write_session(engine) as session:
        create_user(session=session, actor="admin", data={
            "username": username, "role": role, "password": PASSWORD, **extra})


def attempt(engine, password, *, now, username="alice"):
    with write_session(engine) as session:
        try:
            return authenticate(session=session, username=username, password=password, now=now)
        except AuthenticationFailed as error:
            session.flush()
            return error


def test_created_account_stores_an_argon2_hash_never_the_password(engine):
    add(engine, display_name="Alice A")
    with Session(engine) as session:
        stored = session.exec(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "password_hash" not in get_user(engine, "alice")
    assert "password_hash" not in load_users(engine).columns
    created = load_audit(engine, entity="app_user")
    assert len(created) == 1 and created["actor"].iloc[0] == "admin"
    assert "argon2" not in created["after"].iloc[0] and PASSWORD not in created["after"].iloc[0]


@pytest.mark.parametrize(("data", "field"), [
    ({"username": "Bad Name"}, "username"), ({"username": "x"}, "username"), ({"username": ""}, "username"),
    ({"role": "nurse"}, "role"), ({"password": "short"}, "password"), ({"username": "' OR 1=1 --"}, "username"),
])
def test_invalid_accounts_are_refused_naming_the_field(engine, data, field):
    with pytest.raises(InvalidValue) as error, write_session(engine) as session:
        create_user(session=session, actor="admin", data={"username": "bob", "role": "staff", "password": PASSWORD,
                                                          **data})
    assert field in {p.field for p in error.value.problems}
    assert load_users(engine).empty


def test_taken_username_is_refused(engine):
    add(engine)
    with pytest.raises(InvalidValue, match="taken"), write_session(engine) as session:
        create_user(session=session, actor="admin", data={"username": "alice", "role": "admin", "password": PASSWORD})


def test_sign_in_delay_grows_after_five_failures(engine):
    add(engine)
    for i in range(5):  # five free failures, one second apart
        assert isinstance(attempt(engine, "wrong", now=T0 + timedelta(seconds=i)), AuthenticationFailed)
    last = T0 + timedelta(seconds=4)
    # 5 failures -> 2 s: too early even with the right password, and the password is not checked.
    refused = attempt(engine, PASSWORD, now=last + timedelta(seconds=1))
    assert isinstance(refused, AuthenticationFailed) and "try again in" in refused.reason
    # After the delay, a 6th failure -> 4 s.
    assert isinstance(attempt(engine, "wrong", now=last + timedelta(seconds=2)), AuthenticationFailed)
    sixth = last + timedelta(seconds=2)
    assert "try again" in attempt(engine, PASSWORD, now=sixth + timedelta(seconds=3)).reason
    user = attempt(engine, PASSWORD, now=sixth + timedelta(seconds=4))
    assert isinstance(user, User)
    account = get_user(engine, "alice")
    assert account["failed_sign_ins"] == 0 and account["last_failed_at"] is None


def test_every_attempt_is_audited_with_the_username(engine):
    add(engine)
    attempt(engine, "wrong", now=T0)
    attempt(engine, PASSWORD, now=T0 + timedelta(seconds=1))
    attempt(engine, PASSWORD, now=T0, username="nobody")
    trail = load_audit(engine, entity="session").sort_values("audit_id")
    assert list(zip(trail["actor"], trail["action"], strict=True)) == [
        ("alice", "sign_in_failed"), ("alice", "sign_in"), ("nobody", "sign_in_failed")]
    assert PASSWORD not in " ".join(trail["detail"])


def test_sign_in_attempt_commits_the_failure(engine):
    add(engine)
    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        sign_in_attempt(engine, username="alice", password="wrong")
    assert get_user(engine, "alice")["failed_sign_ins"] == 1
    assert sign_in_attempt(engine, username="ALICE ", password=PASSWORD).username == "alice"


def test_inactive_account_cannot_sign_in_and_the_message_does_not_say_why(engine):
    add(engine)
    with write_session(engine) as session:
        update_user(session=session, username="alice", expected_version=1, actor="admin", data={
            "display_name": "alice", "role": "staff", "active": False, "can_export_identified": False})
    with pytest.raises(AuthenticationFailed) as error:
        sign_in_attempt(engine, username="alice", password=PASSWORD)
    assert "inactive" in error.value.reason and "wrong username or password" in error.value.reason
    assert load_audit(engine, action="sign_in_failed")["detail"].iloc[0] == "inactive account"


@pytest.mark.parametrize("username", ["' OR 1=1 --", "alice' --", "alice\"; DROP TABLE app_user; --", "x" * 500,
                                      "%", "_lice"])
def test_hostile_usernames_neither_sign_in_nor_break_anything(engine, username):
    add(engine)
    with pytest.raises(AuthenticationFailed):
        sign_in_attempt(engine, username=username, password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        sign_in_attempt(engine, username=username, password="' OR '1'='1")
    assert len(load_users(engine)) == 1
    assert len(load_audit(engine, action="sign_in_failed")) == 2


def test_update_is_audited_with_before_and_after(engine):
    add(engine, role="coordinator")
    with write_session(engine) as session:
        update_user(session=session, username="alice", expected_version=1, actor="boss", data={
            "display_name": "Alice", "role": "coordinator", "active": True, "can_export_identified": True})
    row = load_audit(engine, action="update").iloc[0]
    assert row["actor"] == "boss"
    assert json.loads(row["before"])["can_export_identified"] is False
    assert json.loads(row["after"])["can_export_identified"] is True


def test_admins_cannot_lock_themselves_out_and_the_last_admin_stays(engine):
    add(engine, "root", role="admin")
    demote = {"display_name": "root", "role": "staff", "active": True, "can_export_identified": False}
    with pytest.raises(NotPermitted, match="your own"), write_session(engine) as session:
        update_user(session=session, username="root", expected_version=1, actor="root", data=demote)
    with pytest.raises(NotPermitted, match="last active administrator"), write_session(engine) as session:
        update_user(session=session, username="root", expected_version=1, actor="someone",
                    data={**demote, "role": "admin", "active": False})
    add(engine, "second", role="admin")
    with write_session(engine) as session:
        update_user(session=session, username="root", expected_version=1, actor="second", data=demote)
    assert get_user(engine, "root")["role"] == "staff"


def test_an_administrator_of_some_centres_reads_only_the_accounts_of_its_centres(engine):
    """The Users screen of an administrator of LYO lists who sees LYO's patients (accounts of every centre and of
    LYO), not another centre's staff."""
    from db.centres import add_centre, scope_for_user, set_user_centres
    from db.scope import scoped

    with write_session(engine) as session:
        for code in ("LYO", "LON"):
            add_centre(session=session, data={"code": code, "name": code}, actor="t")
    for name, role in (("everywhere", "admin"), ("lyonadmin", "admin"), ("lyonnurse", "staff"),
                       ("londoner", "staff"), ("both", "physician"), ("lonnurse", "staff")):
        add(engine, name, role)
    with write_session(engine) as session:
        for name, centres in (("lyonadmin", ["LYO"]), ("lyonnurse", ["LYO"]), ("londoner", ["LON"]),
                              ("both", ["LON", "LYO"]), ("lonnurse", ["LON"])):
            set_user_centres(session=session, username=name, all_centres=False, centres=dict.fromkeys(centres, False),
                             actor="t")
    every = load_users(engine)["username"].tolist()
    assert every == ["both", "everywhere", "londoner", "lonnurse", "lyonadmin", "lyonnurse"]
    lyon = scoped(engine, scope_for_user(engine, "lyonadmin"))
    assert load_users(lyon)["username"].tolist() == ["both", "everywhere", "lyonadmin", "lyonnurse"]


def test_password_change_and_reset(engine):
    add(engine)
    with pytest.raises(AuthenticationFailed), write_session(engine) as session:
        change_password(session=session, username="alice", new_password="new password 1", actor="alice",
                        current_password="wrong")
    with pytest.raises(InvalidValue, match="10 characters"), write_session(engine) as session:
        change_password(session=session, username="alice", new_password="short", actor="admin")
    for _ in range(7):
        attempt(engine, "wrong", now=T0)
    with write_session(engine) as session:  # an administrator's reset also lifts the delay
        change_password(session=session, username="alice", new_password="new password 1", actor="admin")
    assert get_user(engine, "alice")["failed_sign_ins"] == 0
    assert sign_in_attempt(engine, username="alice", password="new password 1").username == "alice"
    reset = load_audit(engine, action="password_change").iloc[0]
    assert reset["actor"] == "admin" and "new password 1" not in reset.to_string()


def test_audit_rows_cannot_be_updated_or_deleted_on_the_database(engine):
    add(engine)
    for statement in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert load_audit(engine)["actor"].tolist() == ["admin"]


def test_the_service_layer_offers_no_way_to_change_audit_rows():
    import db.audit
    import db.common

    writers = [name for module in (db.audit, db.common) for name in dir(module)
               if any(word in name.lower() for word in ("update_audit", "delete_audit", "edit_audit", "purge"))]
    assert writers == []


# --- python cli.py create-user ---------------------------------------------------------------------


@pytest.fixture
def cli_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    return sqlite_url


def run_cli(monkeypatch, argv, stdin):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(argv)


def test_cli_create_user_reads_the_password_from_stdin(cli_db, monkeypatch, capsys, sqlite_engine):
    code = run_cli(monkeypatch, ["create-user", "carol", "--role", "coordinator", "--display-name", "Carol C",
                                 "--identified-export"], PASSWORD + "\n")
    assert code == cli.EXIT_OK, capsys.readouterr().err
    account = get_user(sqlite_engine, "carol")
    assert (account["role"], account["display_name"], account["can_export_identified"]) == (
        "coordinator", "Carol C", True)
    assert sign_in_attempt(sqlite_engine, username="carol", password=PASSWORD)
    assert load_audit(sqlite_engine, entity="app_user")["actor"].tolist() == [cli.CLI_ACTOR]


@pytest.mark.parametrize(("argv", "stdin", "expected"), [
    (["create-user", "dave", "--role", "staff"], "short\n", cli.EXIT_FAILED),
    (["create-user", "Dave!", "--role", "staff"], PASSWORD + "\n", cli.EXIT_FAILED),
    (["create-user", "dave", "--role", "nurse"], PASSWORD + "\n", cli.EXIT_USAGE),
    (["create-user", "--role", "staff"], PASSWORD + "\n", cli.EXIT_USAGE),
    (["create-user", "dave", "--role", "staff"], "", cli.EXIT_USAGE),
    (["create-user", "dave", "--role", "staff", "--password", PASSWORD], "", cli.EXIT_USAGE),
])
def test_cli_create_user_refusals(cli_db, monkeypatch, capsys, sqlite_engine, argv, stdin, expected):
    assert run_cli(monkeypatch, argv, stdin) == expected
    assert capsys.readouterr().err
    assert load_users(sqlite_engine).empty


def test_cli_refuses_a_taken_username(cli_db, monkeypatch, capsys, sqlite_engine):
    add(sqlite_engine, "erin")
    assert run_cli(monkeypatch, ["create-user", "erin", "--role", "admin"], PASSWORD + "\n") == cli.EXIT_FAILED
    assert "taken" in capsys.readouterr().err
    assert get_user(sqlite_engine, "erin")["role"] == "staff"
