"""Sign-in throttling that cannot be turned against users (issue 14, finding 7), on SQLite and PostgreSQL, timed
with an injected `now`: failures are counted per username from one client address and per address; a third
party's failures never delay the account's owner elsewhere; after the (capped) delay a correct password opens;
one address guessing many usernames is slowed; every refusal is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.audit import load_audit
from db.engine import write_session
from db.users import authenticate, change_password, create_user
from models import User
from models.errors import AuthenticationFailed
from models.user import FORGET_AFTER_SECONDS, FREE_ATTEMPTS_PER_ADDRESS, MAX_DELAY_SECONDS, sign_in_delay

PASSWORD = "correct horse battery"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.slow  # every attempt verifies an Argon2 hash (about 50 ms each, 10-25 per test)
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def add(engine, *usernames: str) -> None:
    with write_session(engine) as session:
        for username in usernames:
            create_user(session=session, actor="admin", data={"username": username, "role": "staff",
                                                              "password": PASSWORD})


def attempt(engine, password, *, now, address, username="alice"):
    with write_session(engine) as session:
        try:
            return authenticate(session=session, username=username, password=password, address=address, now=now)
        except AuthenticationFailed as error:
            session.flush()
            return error


def hammer(engine, n: int, *, start: datetime, address: str, username: str = "alice") -> datetime:
    """`n` wrong passwords, each made as soon as the throttle lets it through; returns the last one's time."""
    now = start
    for failures in range(n):
        result = attempt(engine, "wrong password", now=now, address=address, username=username)
        assert isinstance(result, AuthenticationFailed) and "try again" not in result.reason
        now += timedelta(seconds=sign_in_delay(failures + 1))
    return now - timedelta(seconds=sign_in_delay(n))


def throttled(engine) -> int:
    return len(load_audit(engine, action="sign_in_throttled"))


def test_a_third_party_never_locks_the_owner_out(engine):
    add(engine, "alice")
    last = hammer(engine, 9, start=T0, address=ATTACKER)  # the attacker waits 32 s before each next guess
    refused = attempt(engine, PASSWORD, now=last + timedelta(seconds=1), address=ATTACKER)
    assert isinstance(refused, AuthenticationFailed) and "try again in 32 seconds" in refused.reason
    # the owner, from their own address, at the same moment: signed in at once
    assert isinstance(attempt(engine, PASSWORD, now=last + timedelta(seconds=1), address=OWNER), User)
    assert throttled(engine) == 1


def test_after_the_delay_a_correct_password_opens_even_from_the_same_address(engine):
    add(engine, "alice")
    last = hammer(engine, 14, start=T0, address=ATTACKER)  # a shared address (one office, one proxy): at the cap
    assert sign_in_delay(14) == MAX_DELAY_SECONDS
    for seconds in (1, 300, MAX_DELAY_SECONDS - 1):  # too early: refused without checking the password
        refused = attempt(engine, PASSWORD, now=last + timedelta(seconds=seconds), address=ATTACKER)
        assert isinstance(refused, AuthenticationFailed) and "try again" in refused.reason
    assert throttled(engine) == 3  # one audit row per refusal; refusals do not lengthen the delay
    assert isinstance(attempt(engine, PASSWORD, now=last + timedelta(seconds=MAX_DELAY_SECONDS), address=ATTACKER),
                      User)
    # the success cleared the username's counter: a typo afterwards costs no delay
    assert "try again" not in attempt(engine, "typo", now=last + timedelta(hours=1), address=ATTACKER).reason


def test_one_address_guessing_many_usernames_is_slowed(engine):
    add(engine, "alice")
    now = T0
    for i in range(FREE_ATTEMPTS_PER_ADDRESS):  # one wrong password for each of 20 usernames, none delayed alone
        result = attempt(engine, "guess", now=now, address=ATTACKER, username=f"user{i}")
        assert isinstance(result, AuthenticationFailed) and "try again" not in result.reason
        now += timedelta(seconds=1)
    refused = attempt(engine, "guess", now=now, address=ATTACKER, username="someone-new")
    assert isinstance(refused, AuthenticationFailed) and "try again in 2 seconds" in refused.reason
    # other addresses are not slowed, and the address's delay passes
    assert isinstance(attempt(engine, PASSWORD, now=now, address=OWNER), User)
    later = attempt(engine, "guess", now=now + timedelta(seconds=2), address=ATTACKER, username="someone-new")
    assert "try again" not in later.reason
    trail = load_audit(engine, action="sign_in_throttled")
    assert list(trail["actor"]) == ["someone-new"] and ATTACKER in trail["detail"].iloc[0]


def test_failures_are_forgotten_after_an_hour_and_a_reset_lifts_the_delay(engine):
    add(engine, "alice")
    last = hammer(engine, 7, start=T0, address=ATTACKER)
    quiet = last + timedelta(seconds=FORGET_AFTER_SECONDS + 1)
    # an hour without a failure: a typo starts the count afresh (no delay after it)
    assert "try again" not in attempt(engine, "typo", now=quiet, address=ATTACKER).reason
    assert isinstance(attempt(engine, PASSWORD, now=quiet + timedelta(seconds=1), address=ATTACKER), User)
    last = hammer(engine, 7, start=quiet + timedelta(seconds=2), address=ATTACKER)
    with write_session(engine) as session:
        change_password(session=session, username="alice", new_password="another long password", actor="admin")
    assert isinstance(attempt(engine, "another long password", now=last + timedelta(seconds=1), address=ATTACKER),
                      User)


def test_the_command_line_without_an_address_has_its_own_counter(engine):
    add(engine, "alice")
    last = hammer(engine, 6, start=T0, address=None)
    assert "try again" in attempt(engine, PASSWORD, now=last + timedelta(seconds=1), address=None).reason
    assert isinstance(attempt(engine, PASSWORD, now=last + timedelta(seconds=1), address=OWNER), User)
