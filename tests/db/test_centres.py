"""Centres, account scopes and transfers (issue 16): the write path of centres and the scope it gives writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.centres import (
    add_centre,
    centre_keys,
    load_centres,
    scope_for_user,
    set_user_centres,
    transfer_patient,
    update_centre,
)
from db.engine import write_session
from db.patients import create_patient, get_patient, load_patients
from db.scope import scoped
from db.users import create_user
from db.visits import record_assessment
from models import AuditEvent
from models.errors import InvalidValue, NotFound, NotPermitted, UnknownPatient
from models.scope import ALL, Scope
from tests import factories


def _centres(engine, *codes):
    with write_session(engine) as session:
        for code in codes:
            add_centre(session=session, data={"code": code, "name": f"Centre {code}", "country": "NL"}, actor="admin")
    return centre_keys(engine, codes)


def test_a_new_database_has_one_centre_and_new_patients_join_it(engine):
    centres = load_centres(engine)
    assert list(centres["code"]) == ["MAIN"]
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="t")
    assert load_centres(engine).loc[0, "patients"] == 1


def test_with_two_centres_a_new_patient_must_name_one(engine):
    """A missing centre is a value to give (InvalidValue: the API's 422), not a permission refused (403)."""
    keys = _centres(engine, "AMS")
    with pytest.raises(InvalidValue) as refused, write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="t")
    assert refused.value.field == "centre" and "2 active centres" in refused.value.reason
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(centre_key=keys["AMS"]), actor="t")
    assert load_centres(engine).set_index("code").loc["AMS", "patients"] == 1


def test_centre_codes_are_checked_and_unique(engine):
    _centres(engine, "AMS")
    for code, field in (("has space", "code"), ("x" * 33, "code"), ("AMS", "code")):
        with pytest.raises(InvalidValue) as refused, write_session(engine) as session:
            add_centre(session=session, data={"code": code, "name": "n"}, actor="admin")
        assert refused.value.field == field
    with pytest.raises(InvalidValue) as refused:
        centre_keys(engine, ["NOPE"])
    assert "no centre NOPE" in refused.value.reason


def test_a_scoped_writer_sees_and_writes_only_its_centres(engine):
    keys = _centres(engine, "A", "B")
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(patient_id="PA", centre_key=keys["A"]), actor="t")
        create_patient(session=session, data=factories.patient(patient_id="PB", centre_key=keys["B"]), actor="t")
    only_a = scoped(engine, Scope(frozenset({keys["A"]}), frozenset(), ("A",)))
    assert list(load_patients(only_a)["patient_id"]) == ["PA"]
    assert get_patient(only_a, "PB") is None
    with pytest.raises(UnknownPatient), write_session(only_a) as session:  # another centre's patient: no such one
        record_assessment(session=session, data=factories.assessment(patient_id="PB"), actor="t")
    with pytest.raises(NotPermitted) as refused, write_session(only_a) as session:
        create_patient(session=session, data=factories.patient(patient_id="PB", centre_key=keys["A"]), actor="t")
    assert refused.value.field == "centre" and "outside your centres" in refused.value.reason
    with pytest.raises(NotPermitted), write_session(only_a) as session:
        create_patient(session=session, data=factories.patient(patient_id="PC", centre_key=keys["B"]), actor="t")
    with write_session(only_a) as session:
        record_assessment(session=session, data=factories.assessment(patient_id="PA"), actor="t")


def test_inactive_centres_take_no_new_patient(engine):
    keys = _centres(engine, "A")
    version = load_centres(engine).set_index("code").loc["A", "version"]
    with write_session(engine) as session:
        update_centre(session=session, code="A", expected_version=int(version), active=False, actor="admin")
    with pytest.raises(NotPermitted) as refused, write_session(engine) as session:
        create_patient(session=session, data=factories.patient(centre_key=keys["A"]), actor="t")
    assert "inactive" in refused.value.reason


def test_account_scopes(engine):
    keys = _centres(engine, "A", "B")
    with write_session(engine) as session:
        create_user(session=session, data={"username": "phys", "role": "physician", "password": "x" * 12},
                    actor="admin")
        create_user(session=session, data={"username": "scoped", "role": "coordinator", "password": "x" * 12},
                    actor="admin")
        create_user(session=session, data={"username": "coord", "role": "coordinator", "password": "x" * 12,
                                           "can_export_identified": True}, actor="admin")
    assert scope_for_user(engine, "coord") == ALL
    assert scope_for_user(engine, "nobody").centres == frozenset()
    with write_session(engine) as session:
        for username in ("phys", "scoped"):
            set_user_centres(session=session, username=username, all_centres=False, centres={"A": False, "B": True},
                             actor="admin")
    scope = scope_for_user(engine, "scoped")  # a coordinator: identified only where the account may export so
    assert scope.centres == {keys["A"], keys["B"]} and scope.identified == {keys["B"]} and scope.codes == ("A", "B")
    assert scope.may_identify(keys["B"]) and not scope.may_identify(keys["A"])
    physician = scope_for_user(engine, "phys")  # a physician sees its centres' patients identified
    assert physician.centres == physician.identified == {keys["A"], keys["B"]}
    with pytest.raises(InvalidValue), write_session(engine) as session:
        set_user_centres(session=session, username="phys", all_centres=False, centres={}, actor="admin")
    with pytest.raises(NotPermitted), write_session(scoped(engine, scope)) as session:  # only global admins
        set_user_centres(session=session, username="phys", all_centres=True, actor="phys")
    with write_session(engine) as session:
        trail = session.execute(select(AuditEvent.after).where(AuditEvent.entity == "user_centre")).scalars().all()
    assert len(trail) == 2 and '"B": true' in trail[0]


def test_a_transfer_moves_the_patient_and_is_audited(engine):
    keys = _centres(engine, "A", "B")
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(patient_id="P", centre_key=keys["A"]), actor="t")
        record_assessment(session=session, data=factories.assessment(patient_id="P"), actor="t")
    version = get_patient(engine, "P")["version"]
    only_a = scoped(engine, Scope(frozenset({keys["A"]})))
    with pytest.raises(NotPermitted), write_session(only_a) as session:  # B is not the writer's
        transfer_patient(session=session, patient_id="P", centre="B", expected_version=version, actor="a",
                         reason="moved")
    with pytest.raises(NotFound), write_session(scoped(engine, Scope(frozenset({keys["B"]})))) as session:
        transfer_patient(session=session, patient_id="P", centre="B", expected_version=version, actor="b",
                         reason="moved")
    with write_session(engine) as session:
        transfer_patient(session=session, patient_id="P", centre="B", expected_version=version, actor="admin",
                         reason="moved to Amsterdam")
    only_b = scoped(engine, Scope(frozenset({keys["B"]})))
    assert list(load_patients(only_b)["patient_id"]) == ["P"] and load_patients(only_a).empty
    with write_session(engine) as session:
        row = session.execute(select(AuditEvent).where(AuditEvent.action == "transfer")).scalar_one()
    assert row.actor == "admin" and row.reason == "moved to Amsterdam" and f'"centre_key": {keys["A"]}' in row.before


def test_accounts_are_managed_by_administrators_of_every_centre_only(engine):
    """An administrator of some centres could otherwise add an account of every centre, or take over one by
    resetting its password; a user's own password change stays theirs."""
    from db.users import change_password, update_user

    keys = _centres(engine, "A")
    with write_session(engine) as session:
        create_user(session=session, data={"username": "boss", "role": "admin", "password": "x" * 12}, actor="t")
    only_a = scoped(engine, Scope(frozenset({keys["A"]})))
    for attempt in (
        lambda s: create_user(session=s, data={"username": "new", "role": "admin", "password": "x" * 12}, actor="a"),
        lambda s: update_user(session=s, username="boss", expected_version=1, actor="a", data={
            "display_name": "b", "role": "staff", "active": True, "can_export_identified": False}),
        lambda s: change_password(session=s, username="boss", new_password="y" * 12, actor="a"),
    ):
        with pytest.raises(NotPermitted), write_session(only_a) as session:
            attempt(session)
    with write_session(only_a) as session:  # one's own password, with the current one
        change_password(session=session, username="boss", new_password="y" * 12, actor="boss",
                        current_password="x" * 12)


def test_the_last_administrator_of_every_centre_stays_one(engine):
    """Accounts, centres and backups need an administrator of every centre: limiting one's own centres, or the
    last such administrator's (by centres, role or deactivation), would leave nobody able to manage them in the
    app, while an administrator of some centres remained."""
    from db.users import update_user

    _centres(engine, "A")
    with write_session(engine) as session:
        for name in ("boss", "deputy", "local"):
            create_user(session=session, data={"username": name, "role": "admin", "password": "x" * 12}, actor="t")
        set_user_centres(session=session, username="local", all_centres=False, centres={"A": True}, actor="t")
    with pytest.raises(NotPermitted, match="your own centres"), write_session(engine) as session:
        set_user_centres(session=session, username="boss", all_centres=False, centres={"A": True}, actor="boss")
    with write_session(engine) as session:  # another one of every centre remains: allowed
        set_user_centres(session=session, username="deputy", all_centres=False, centres={"A": True}, actor="boss")
    with pytest.raises(NotPermitted, match="last active administrator of every centre"), \
            write_session(engine) as session:
        set_user_centres(session=session, username="boss", all_centres=False, centres={"A": True}, actor="deputy")
    for data in ({"role": "staff", "active": True}, {"role": "admin", "active": False}):
        with pytest.raises(NotPermitted, match="last active administrator of every centre"), \
                write_session(engine) as session:
            update_user(session=session, username="boss", expected_version=1, actor="local", data={
                "display_name": "Boss", "can_export_identified": False, **data})
    assert scope_for_user(engine, "boss").everything
    with write_session(engine) as session:  # a staff account of every centre may be limited, of course
        create_user(session=session, data={"username": "nurse", "role": "staff", "password": "x" * 12}, actor="t")
        set_user_centres(session=session, username="nurse", all_centres=False, centres={"A": False}, actor="boss")
