"""Accounts: the single write path (create, update, password change) and sign-in with a growing delay.

Passwords are hashed with Argon2id (argon2-cffi); a hash is never returned by a read or written to
the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from db.browser_sessions import end_account_sessions
from db.common import audit, snapshot, stale_record, write_row
from db.frames import BOOL, INT, TEXT, TIMESTAMP, read_frame
from db.scope import scope_of
from models import SignInThrottle, User, UserCreate, UserUpdate
from models.centre import UserCentre
from models.errors import AuthenticationFailed, InvalidValue, NotFound, NotPermitted
from models.user import FORGET_AFTER_SECONDS, check_password, sign_in_delay, throttle_keys
from models.validation import parse, printable

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(*, session: Session, data: UserCreate | dict, actor: str) -> User:
    """Add an account, audited (without the password). Raises InvalidValue for a taken username."""
    _every_centre_only(session, "add an account")
    data = data if isinstance(data, UserCreate) else parse(UserCreate, data)
    lock_accounts(session)
    if session.exec(select(User.user_id).where(User.username == data.username)).first() is not None:
        raise InvalidValue(f"{data.username!r} is taken; choose another username", field="username")
    user = User(**data.model_dump(exclude={"password"}), password_hash=hash_password(data.password))
    if not user.display_name:
        user.display_name = user.username
    session.add(user)
    session.flush()
    audit(session, actor=actor, action="create", entity="app_user", entity_id=user.user_id, after=user)
    return user


def update_user(*, session: Session, username: str, expected_version: int, data: UserUpdate | dict,
                actor: str) -> User:
    """Change an account's display name, role, active flag or export permission, audited.

    `expected_version`: the account's version the form was opened on (load_users' `version`); StaleRecord when
    it changed since. Raises NotPermitted when the change would leave no active administrator, or when
    administrators would take away their own administration rights (another administrator must do that).
    Account changes are serialised (an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two
    administrators demoting each other at once cannot both pass the "another active administrator" check."""
    _every_centre_only(session, "change an account")
    data = data if isinstance(data, UserUpdate) else parse(UserUpdate, data)
    lock_accounts(session)
    user = _get(session, username)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TypeError("expected_version: the version (an int) the form was opened on")
    if user.version != expected_version:
        raise stale_record(session, User, user.user_id)
    stays_admin = data.role == "admin" and data.active
    if user.role == "admin" and user.active and not stays_admin:
        if username == actor:
            raise NotPermitted("you cannot remove your own administrator role or deactivate yourself; "
                               "ask another administrator", field="role" if data.active else "active")
        if not other_administrators(session, user, every_centre=bool(user.all_centres)):
            raise NotPermitted(LAST_GLOBAL_ADMINISTRATOR if user.all_centres else
                               "this is the last active administrator; make another account administrator first",
                               field="role")
    before = snapshot(user)
    if all(before.get(name) == value for name, value in data.model_dump().items()):
        return user
    write_row(session, user, data.model_dump(), whole=False)
    if before.get("active") and not data.active:  # its browsers end now, not at their next page run
        end_account_sessions(session, user_id=user.user_id, reason="account deactivated")
    audit(session, actor=actor, action="update", entity="app_user", entity_id=user.user_id, before=before,
          after=user)
    return user


LAST_GLOBAL_ADMINISTRATOR = ("this is the last active administrator of every centre (only such an administrator "
                             "manages accounts, centres and backups); make another account an administrator of every "
                             "centre first")


def other_administrators(session: Session, user: User, *, every_centre: bool) -> int:
    """How many active administrators there are besides `user` (of every centre only, with `every_centre`): the
    last one of every centre must stay one, else nobody could manage accounts, centres or backups in the app."""
    statement = select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True),
                                                             User.user_id != user.user_id)
    if every_centre:
        statement = statement.where(User.all_centres.is_(True))
    return session.exec(statement).one()


def _every_centre_only(session: Session, what: str) -> None:
    """Accounts are the installation's, not a centre's: an administrator limited to some centres could otherwise
    make an account of every centre, or take over one by resetting its password."""
    if not scope_of(session).everything:
        raise NotPermitted(f"only an administrator of every centre may {what}", field="username")


ACCOUNTS_LOCK = 0x536B5573  # "SkUs": the advisory lock every account change takes on PostgreSQL


def lock_accounts(session: Session) -> None:
    """Serialise account changes (PostgreSQL: an advisory lock; SQLite's write transaction is BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACCOUNTS_LOCK})


def change_password(*, session: Session, username: str, new_password: str, actor: str,
                    current_password: str | None = None, keep_session: int | None = None) -> User:
    """Set a new password. Users changing their own pass `current_password`; an admin resetting doesn't.

    Every browser signed in to the account is signed out (end reason "password changed"), but `keep_session`: the
    browser session the owner changed it in. A password changed because it leaked must shut out a session opened
    with the old one."""
    if current_password is None:
        _every_centre_only(session, "reset a password")
    user = _get(session, username)
    if current_password is not None and not verify_password(user.password_hash, current_password):
        raise AuthenticationFailed("the current password is wrong", field="current_password")
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    user.failed_sign_ins = 0  # a new password (e.g. an administrator's reset) lifts the sign-in delay
    user.last_failed_at = None
    session.execute(delete(SignInThrottle).where(SignInThrottle.key.startswith(f"user:{username}@", autoescape=True)))
    session.add(user)
    session.flush()
    end_account_sessions(session, user_id=user.user_id, reason="password changed",
                         keep=keep_session if username == actor else None)
    audit(session, actor=actor, action="password_change", entity="app_user", entity_id=user.user_id,
          detail=f"password of {username} changed")
    return user


def authenticate(*, session: Session, username: str, password: str, address: str | None = None,
                 now: datetime | None = None) -> User:
    """The active account matching username and password; every attempt is audited.

    Throttled (`models.user.throttle_keys`) per username *from this client address* and per address: after 5
    failures of a username from one address (20 from one address, whatever the usernames) each attempt must wait a
    doubling delay since the last failure, capped at 15 minutes (`models.user.sign_in_delay`); an attempt made too
    early is refused without checking the password, audited (`sign_in_throttled`) and not counted as a failure.
    After the delay a correct password opens; a third party's failures from another address never delay the owner
    of the account. Failures are forgotten after an hour without another one; a success clears its username key.
    A failure is flushed (counters and audit row) before AuthenticationFailed is raised, with a message that never
    tells which of the two was wrong, or whether the account exists: the caller commits it (`sign_in_attempt`).
    """
    now = now or datetime.now(UTC)
    # Anything longer than a username can be is cut to the column's size, so the audit row always fits; a control
    # character (a NUL PostgreSQL cannot store) is written escaped. No account has either, so neither signs in.
    username = printable((username or "").strip().lower())[:64]
    address = printable(address.strip())[:64] if address and address.strip() else None
    user = session.exec(select(User).where(User.username == username)).first()
    keys = throttle_keys(username, address)
    counters = _throttle_counters(session, keys, now)
    waits = [_aware(counter.last_failed_at) + timedelta(seconds=sign_in_delay(counter.failures, keys[counter.key]))
             - now for counter in counters.values()]
    wait = max(waits, default=timedelta(0))
    where = f" from {address}" if address else ""
    if wait > timedelta(0):
        seconds = int(wait.total_seconds()) + 1
        audit(session, actor=username or "(no username)", action="sign_in_throttled", entity="session",
              entity_id=user.user_id if user else None,
              detail=f"refused{where}: too many failed attempts, retry in {seconds} s")
        raise AuthenticationFailed(f"too many failed attempts; try again in {seconds} seconds", field="password")
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not valid or not user.active:
        if user is not None:
            user.failed_sign_ins += 1
            user.last_failed_at = now
            session.add(user)
        _count_failure(session, keys, counters, now)
        audit(session, actor=username or "(no username)", action="sign_in_failed", entity="session",
              detail=("inactive account" if user is not None and valid else "wrong username or password") + where)
        raise AuthenticationFailed("wrong username or password, or the account is inactive", field="password")
    user.failed_sign_ins = 0
    user.last_failed_at = None
    user.last_sign_in_at = now
    session.add(user)
    _clear_throttle(session, [key for key in keys if key.startswith("user:")])
    audit(session, actor=username, action="sign_in", entity="session", entity_id=user.user_id,
          detail=f"from {address}" if address else "")
    return user


def _throttle_counters(session: Session, keys: dict[str, int], now: datetime) -> dict[str, SignInThrottle]:
    """The live counters of `keys`, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite: the write
    transaction is BEGIN IMMEDIATE already); counters older than FORGET_AFTER_SECONDS count as none."""
    statement = select(SignInThrottle).where(SignInThrottle.key.in_(list(keys))).with_for_update()
    rows = session.exec(statement.execution_options(populate_existing=True)).all()
    forget = timedelta(seconds=FORGET_AFTER_SECONDS)
    stale = [row.key for row in rows if now - _aware(row.last_failed_at) > forget]
    _clear_throttle(session, stale)
    return {row.key: row for row in rows if row.key not in stale}


def _count_failure(session: Session, keys: dict[str, int], counters: dict[str, SignInThrottle], now: datetime) -> None:
    """One more failure on every key; a key without a live counter starts at one (an upsert: two first failures
    at once on PostgreSQL both count)."""
    table = SignInThrottle.__table__
    dialect = session.get_bind().dialect.name
    # counters of other keys forgotten by now go, so that guesses of ever new usernames leave no lasting rows
    session.execute(delete(SignInThrottle).where(
        SignInThrottle.last_failed_at < now - timedelta(seconds=FORGET_AFTER_SECONDS),
        SignInThrottle.key.not_in(list(keys))))
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for key in keys:
        if key in counters:
            counters[key].failures += 1
            counters[key].last_failed_at = now
            session.add(counters[key])
            continue
        statement = upsert(table).values(key=key, failures=1, last_failed_at=now)
        session.execute(statement.on_conflict_do_update(index_elements=[table.c.key],
                                                        set_={"failures": table.c.failures + 1, "last_failed_at": now}))
    session.flush()


def _clear_throttle(session: Session, keys: list[str]) -> None:
    if keys:
        session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(keys)))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def sign_in_attempt(engine: Engine, *, username: str, password: str, address: str | None = None) -> User:
    """Authenticate in a transaction that is committed whether or not the attempt succeeds, so that
    failures count towards the delay and stay in the audit trail. `address`: the client's address (the sign-in
    screen passes st.context.ip_address; the command line none). Raises AuthenticationFailed."""
    from db.engine import write_session

    failure: AuthenticationFailed | None = None
    with write_session(engine) as session:
        try:
            user = authenticate(session=session, username=username, password=password, address=address)
        except AuthenticationFailed as error:
            session.flush()
            failure = error
    if failure is not None:
        raise failure
    return user


def record_sign_out(engine: Engine, *, username: str, detail: str = "") -> None:
    """Audit the end of a session (sign-out button or idle expiry)."""
    from db.engine import write_session

    with write_session(engine) as session:
        user_id = session.exec(select(User.user_id).where(User.username == username)).first()
        audit(session, actor=username, action="sign_out", entity="session", entity_id=user_id, detail=detail)


def _get(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)
                        .execution_options(populate_existing=True)).first()
    if user is None:
        raise NotFound(f"no account {username!r}", field="username")
    return user


def count_users(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(User)).one()


def get_user(engine: Engine, username: str) -> dict | None:
    """The account's fields without the password hash, or None."""
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        return None if user is None else user.model_dump(exclude={"password_hash"})


def load_users(engine: Engine) -> pd.DataFrame:
    """The accounts (without password hashes), by username. An engine limited to some centres (an administrator of
    some centres) reads only the accounts that see one of its centres' patients: those of every centre and those
    holding one of its centres; another centre's staff are not its business."""
    statement = select(User.user_id, User.username, User.display_name, User.role, User.active,
                       User.can_export_identified, User.last_sign_in_at, User.failed_sign_ins,
                       User.version).order_by(User.username)
    scope = scope_of(engine)
    if not scope.everything:
        sharing = select(UserCentre.user_id).where(UserCentre.centre_key.in_(sorted(scope.centres or {-1})))
        statement = statement.where(User.all_centres.is_(True) | User.user_id.in_(sharing))
    return read_frame(engine, statement, {"user_id": INT, "username": TEXT, "display_name": TEXT, "role": TEXT,
                                          "active": BOOL, "can_export_identified": BOOL, "last_sign_in_at": TIMESTAMP,
                                          "failed_sign_ins": INT, "version": INT})
