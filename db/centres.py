"""Centres: the single write path (add, rename, deactivate, an account's centres, a patient's transfer) and the
reads of centres and of an account's scope (models.scope.Scope).

Centres are few (tens to a few hundred) and read whole. Every change is audited with the acting user.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session

from db.common import audit, bump_versions, lock_patients, require_reason, snapshot, stale_record, write_row
from db.frames import BOOL, INT, TEXT, read_frame
from db.scope import patient_filter, scope_of
from db.users import LAST_GLOBAL_ADMINISTRATOR, lock_accounts, other_administrators
from models import Patient, User
from models.centre import Centre, CentreCreate, UserCentre, check_centre_code
from models.errors import InvalidValue, NotFound, NotPermitted
from models.scope import ALL, Scope
from models.setting import InstallationSetting
from models.validation import parse

CLINICAL_ROLES = frozenset({"staff", "physician"})
CENTRE_TYPES = {"centre_key": INT, "code": TEXT, "name": TEXT, "country": TEXT, "active": BOOL, "version": INT,
                "patients": INT}


# --- reads ----------------------------------------------------------------------------------------------------


def load_centres(engine: Engine, *, visible_only: bool = True) -> pd.DataFrame:
    """Centres ordered by code, with their live patients counted: those of the engine's scope (`visible_only`),
    or every centre (the administrator's Centres screen of a global administrator passes False)."""
    table, patient = Centre.__table__, Patient.__table__
    counts = (select(patient.c.centre_key, func.count().label("patients")).where(patient.c.deleted_at.is_(None))
              .group_by(patient.c.centre_key).subquery())
    statement = (select(table.c.centre_key, table.c.code, table.c.name, table.c.country, table.c.active,
                        table.c.version, func.coalesce(counts.c.patients, 0).label("patients"))
                 .outerjoin(counts, counts.c.centre_key == table.c.centre_key).order_by(table.c.code))
    scope = scope_of(engine)
    if visible_only and not scope.everything:
        statement = statement.where(table.c.centre_key.in_(sorted(scope.centres or {-1})))
    return read_frame(engine, statement, CENTRE_TYPES)


def centre_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Centre)).scalar_one()


def centre_keys(bind, codes, *, field: str = "centre") -> dict[str, int]:
    """code -> centre_key for `codes` (each must exist); InvalidValue naming the unknown ones."""
    codes = [check_centre_code(code, field) for code in codes]
    table = Centre.__table__
    with _session(bind) as session:
        found = dict(session.execute(select(table.c.code, table.c.centre_key).where(table.c.code.in_(codes))).all())
    missing = [code for code in codes if code not in found]
    if missing:
        known = ", ".join(sorted(_codes(bind).values())) or "none yet"
        raise InvalidValue(f"no centre {', '.join(missing)} (centres: {known})", field=field)
    return found


def centre_codes_by_key(bind) -> dict[int, str]:
    return _codes(bind)


def _codes(bind) -> dict[int, str]:
    table = Centre.__table__
    with _session(bind) as session:
        return dict(session.execute(select(table.c.centre_key, table.c.code)).all())


class _session:  # noqa: N801 - used like a function: with _session(engine_or_session) as session
    """A session on an engine (closed after), or the caller's session as it is."""

    def __init__(self, bind):
        self.bind, self.own = bind, not isinstance(bind, Session)

    def __enter__(self) -> Session:
        self.session = Session(self.bind) if self.own else self.bind
        return self.session

    def __exit__(self, *exc):
        if self.own:
            self.session.close()


def scope_for_user(bind, username: str) -> Scope:
    """The scope of an account: every centre (all_centres) or its centres; identified data per centre: staff and
    physicians see their centres' patients identified; coordinators and administrators only the centres whose
    identified export they hold (an all-centres account: its can_export_identified for every centre). An unknown
    account sees nothing."""
    with _session(bind) as session:
        user = session.execute(select(User.user_id, User.all_centres, User.can_export_identified, User.role)
                               .where(User.username == username)).first()
        if user is None:
            return Scope(frozenset(), frozenset())
        user_id, all_centres, identified, role = user
        # staff and physicians work with their centres' patients identified (a patient's record, its FHIR Bundle);
        # they hold no export right (models.access), so this widens no export
        clinic = role in CLINICAL_ROLES
        if all_centres:
            return ALL if identified or clinic else Scope(None, frozenset())
        rows = session.execute(select(UserCentre.centre_key, UserCentre.can_export_identified, Centre.code)
                               .join(Centre, Centre.centre_key == UserCentre.centre_key)
                               .where(UserCentre.user_id == user_id).order_by(Centre.code)).all()
    return Scope(frozenset(k for k, _, _ in rows), frozenset(k for k, may, _ in rows if may or clinic),
                 tuple(code for _, _, code in rows))


def load_user_centres(engine: Engine) -> pd.DataFrame:
    """Every account's centres: username, code, can_export_identified (accounts of every centre have no row)."""
    statement = (select(User.username, Centre.code, UserCentre.can_export_identified)
                 .join(UserCentre, UserCentre.user_id == User.user_id)
                 .join(Centre, Centre.centre_key == UserCentre.centre_key).order_by(User.username, Centre.code))
    return read_frame(engine, statement, {"username": TEXT, "code": TEXT, "can_export_identified": BOOL})


# --- writes ---------------------------------------------------------------------------------------------------


def add_centre(*, session: Session, data: CentreCreate | dict, actor: str) -> Centre:
    """A new, active centre, audited. InvalidValue when the code is taken."""
    _global_only(session, "add a centre")
    data = data if isinstance(data, CentreCreate) else parse(CentreCreate, data)
    if session.execute(select(Centre.centre_key).where(Centre.code == data.code)).first() is not None:
        raise InvalidValue(f"centre {data.code} exists already; choose another code", field="code")
    centre = Centre(code=data.code, name=data.name, country=data.country, active=True)
    session.add(centre)
    session.flush()
    audit(session, actor=actor, action="create", entity="centre", entity_id=centre.centre_key, after=centre)
    return centre


def update_centre(*, session: Session, code: str, expected_version: int, name: str | None = None,
                  country: str | None = None, active: bool | None = None, actor: str) -> Centre:
    """Rename, move or (de)activate a centre, audited. Its code is permanent (exports and bundles carry it). An
    inactive centre keeps its patients and their data; no new patient joins it."""
    _global_only(session, "change a centre")
    centre = _centre(session, code)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TypeError("expected_version: the version (an int) the form was opened on")
    if centre.version != expected_version:
        raise stale_record(session, Centre, centre.centre_key)
    checked = parse(CentreCreate, {"code": centre.code, "name": centre.name if name is None else name,
                                   "country": centre.country if country is None else country})
    values = {"name": checked.name, "country": checked.country,
              "active": centre.active if active is None else bool(active)}
    before = snapshot(centre)
    if all(before[k] == v for k, v in values.items()):
        return centre
    write_row(session, centre, values)
    audit(session, actor=actor, action="update", entity="centre", entity_id=centre.centre_key, before=before,
          after=centre)
    return centre


def deactivate_centre(*, session: Session, code: str, actor: str) -> Centre:
    """The command line's `centre deactivate CODE`: no new patient joins it (its patients stay)."""
    centre = _centre(session, code)
    return update_centre(session=session, code=code, expected_version=centre.version, active=False, actor=actor)


def set_user_centres(*, session: Session, username: str, all_centres: bool, centres: dict[str, bool] | None = None,
                     actor: str) -> None:
    """An account's scope: every centre, or the centres of `centres` (code -> may export identified), audited with
    the old and new scope. InvalidValue for an unknown centre, or for no centre at all (the account would see
    nothing). NotPermitted when administrators would limit their own centres, or those of the last active
    administrator of every centre."""
    _global_only(session, "change an account's centres")
    lock_accounts(session)  # two administrators limiting each other at once cannot both pass the check below
    user = session.execute(select(User).where(User.username == username)
                           .execution_options(populate_existing=True)).scalar()
    if user is None:
        raise NotFound(f"no account {username!r}", field="username")
    if user.role == "admin" and user.active and user.all_centres and not all_centres:
        if username == actor:
            raise NotPermitted("you cannot limit your own centres: you would lose the management of accounts, "
                               "centres and backups; ask another administrator of every centre", field="centres")
        if not other_administrators(session, user, every_centre=True):
            raise NotPermitted(LAST_GLOBAL_ADMINISTRATOR, field="centres")
    centres = dict(centres or {})
    if not all_centres and not centres:
        raise InvalidValue("choose one or more centres, or all centres", field="centres")
    keys = centre_keys(session, list(centres), field="centres") if centres else {}
    before = _scope_snapshot(session, user)
    session.execute(delete(UserCentre).where(UserCentre.user_id == user.user_id))
    if not all_centres:
        for code, identified in centres.items():
            session.add(UserCentre(user_id=user.user_id, centre_key=keys[code], can_export_identified=bool(identified)))
    if bool(user.all_centres) != bool(all_centres):
        write_row(session, user, {"all_centres": bool(all_centres)}, whole=False)
    session.flush()
    after = _scope_snapshot(session, user)
    if after != before:
        audit(session, actor=actor, action="update", entity="user_centre", entity_id=user.user_id, before=before,
              after=after, detail=f"centres of {username}")


def _scope_snapshot(session: Session, user: User) -> dict:
    rows = session.execute(select(Centre.code, UserCentre.can_export_identified)
                           .join(UserCentre, UserCentre.centre_key == Centre.centre_key)
                           .where(UserCentre.user_id == user.user_id).order_by(Centre.code)).all()
    return {"username": user.username, "all_centres": bool(user.all_centres),
            "centres": {code: bool(identified) for code, identified in rows}}


def transfer_patient(*, session: Session, patient_id: str, centre: str, expected_version: int, actor: str,
                     reason: str) -> Patient:
    """Move a patient to another centre, audited with the reason: the one way a patient changes centre. The
    writer's scope must hold both centres (its patients and their data follow the patient: they belong to it)."""
    reason = require_reason(reason, "transfer")
    target = _centre(session, centre)
    table = Patient.__table__
    key = session.execute(select(table.c.patient_key).where(table.c.patient_id == patient_id,
                                                            table.c.deleted_at.is_(None),
                                                            patient_filter(session))).scalar()
    if key is None:
        raise NotFound(f"no patient {patient_id!r}", field="patient_id")
    lock_patients(session, [key])
    patient = session.get(Patient, key, populate_existing=True)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TypeError("expected_version: the version (an int) the form was opened on")
    if patient.version != expected_version:
        raise stale_record(session, Patient, key)
    scope = scope_of(session)
    if not scope.sees(target.centre_key):
        raise NotPermitted(f"centre {target.code} is outside your centres ({scope.describe()})", field="centre")
    if not target.active:
        raise InvalidValue(f"centre {target.code} is inactive: no patient can join it", field="centre")
    if patient.centre_key == target.centre_key:
        raise InvalidValue(f"patient {patient_id!r} belongs to centre {target.code} already", field="centre")
    before = snapshot(patient)
    write_row(session, patient, {"centre_key": target.centre_key})
    audit(session, actor=actor, action="transfer", entity="patient", entity_id=key, patient_key=key, before=before,
          after=patient, reason=reason, detail=f"to centre {target.code}")
    bump_versions(session, [key])
    return patient


def _centre(session: Session, code: str) -> Centre:
    centre = session.execute(select(Centre).where(Centre.code == check_centre_code(code))).scalar()
    if centre is None:
        raise NotFound(f"no centre {code}", field="centre")
    return centre


def _global_only(session: Session, what: str) -> None:
    """Centres and accounts' scopes are the business of accounts of every centre (a global administrator)."""
    if not scope_of(session).everything:
        raise NotPermitted(f"only an administrator of every centre may {what}", field="centre")


# --- for the screens (issue 16, the ui helper): a patient's centre, the migration's notice --------------------

NOTICE_SETTING = "centres_default_notice"  # migration 0008: existing patients were placed in this centre (its code)


def patient_centres(engine: Engine) -> pd.DataFrame:
    """patient_id and centre (its code) of the scope's live patients, ordered by patient_id: the Patients screen's
    centre column."""
    patient, centre = Patient.__table__, Centre.__table__
    statement = (select(patient.c.patient_id, centre.c.code.label("centre"))
                 .join(centre, centre.c.centre_key == patient.c.centre_key)
                 .where(patient.c.deleted_at.is_(None), patient_filter(engine)).order_by(patient.c.patient_id))
    return read_frame(engine, statement, {"patient_id": TEXT, "centre": TEXT})


def default_centre_notice(engine: Engine) -> Centre | None:
    """The centre migration 0008 placed the existing patients in, while no administrator has dismissed the notice
    saying so (None otherwise, or when that centre is gone)."""
    table = InstallationSetting.__table__
    with Session(engine) as session:
        code = session.execute(select(table.c.value).where(table.c.key == NOTICE_SETTING)).scalar()
        if code is None:
            return None
        centre = session.execute(select(Centre).where(Centre.code == code)).scalar()
        if centre is not None:
            session.expunge(centre)
        return centre


def dismiss_default_centre_notice(*, session: Session, actor: str) -> bool:
    """An administrator of every centre has read the notice: it is not shown again (audited). False when it was
    dismissed already (by another administrator meanwhile)."""
    _global_only(session, "dismiss the notice about the default centre")
    table = InstallationSetting.__table__
    code = session.execute(select(table.c.value).where(table.c.key == NOTICE_SETTING)).scalar()
    if code is None:
        return False
    session.execute(delete(table).where(table.c.key == NOTICE_SETTING))
    audit(session, actor=actor, action="delete", entity="installation_setting",
          detail=f"{NOTICE_SETTING} dismissed (existing patients were placed in centre {code})")
    return True


def load_account_scopes(engine: Engine) -> pd.DataFrame:
    """Every account's scope, ordered by username: all_centres, and its centres and those it may export identified
    as codes separated by ", " (empty for an account of every centre)."""
    accounts = read_frame(engine, select(User.username, User.all_centres).order_by(User.username),
                          {"username": TEXT, "all_centres": BOOL})
    rows = load_user_centres(engine)
    centres, identified = {}, {}
    for row in rows.itertuples():
        centres.setdefault(row.username, []).append(row.code)
        if row.can_export_identified:
            identified.setdefault(row.username, []).append(row.code)
    everywhere = accounts["all_centres"].astype(bool)
    return accounts.assign(
        centres=["" if every else ", ".join(centres.get(name, [])) for name, every in
                 zip(accounts["username"], everywhere, strict=True)],
        identified=["" if every else ", ".join(identified.get(name, [])) for name, every in
                    zip(accounts["username"], everywhere, strict=True)])
