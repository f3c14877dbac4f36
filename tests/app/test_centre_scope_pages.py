"""The centre scope on every screen that shows patients (issue 16), in AppTest: for each role x scope (one centre,
two centres, all centres) the patients listed or pickable on Patients, Visit entry, Treatments and the chart, and
those named by the audit trail and the deleted records, are exactly the scope's. A patient of another centre named
in the address answers as an unknown one; two accounts never share a cached list; a change of an account's centres
applies at its next page run."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from db.centres import add_centre, centre_keys, set_user_centres
from db.engine import write_session
from db.patients import create_patient, delete_patient
from db.users import create_user, hash_password
from tests import factories
from tests.app.conftest import APP, PASSWORD, app_database, built_database

CENTRES = ("A", "B", "C")
SCOPES = {"one": ("A",), "two": ("A", "B"), "all": None}
LIVE = {"A": "PA", "B": "PB", "C": "PC"}  # one live patient per centre
DELETED = {"A": "DA", "B": "DB", "C": "DC"}  # and one deleted
PAGES = {"staff": ("patients", "visit_entry", "treatments", "chart"),
         "physician": ("patients", "visit_entry", "treatments", "chart"),
         "coordinator": ("chart",),
         "admin": ("patients", "visit_entry", "treatments", "chart", "audit_trail", "restore")}
PICKERS = {"visit_entry": "entry_patient", "treatments": "treatments_patient", "chart": "chart_patient"}


def centres_of(scope: str) -> tuple[str, ...]:
    return SCOPES[scope] or CENTRES


def build_centres(engine, accounts: dict[str, tuple[str, tuple[str, ...] | None]]) -> None:
    """Centres A, B, C (MAIN stays, empty), a live and a deleted patient in each, and `accounts`:
    username -> (role, centres or None for all)."""
    with write_session(engine) as session:
        for code in CENTRES:
            add_centre(session=session, data={"code": code, "name": f"Centre {code}", "country": "NL"}, actor="t")
    keys = centre_keys(engine, CENTRES)
    with write_session(engine) as session:
        for code in CENTRES:
            for patient_id in (LIVE[code], DELETED[code]):
                create_patient(session=session, actor="t",
                               data=factories.patient(patient_id=patient_id, centre_key=keys[code]))
    with write_session(engine) as session:
        for code in CENTRES:
            delete_patient(session=session, patient_id=DELETED[code], expected_version=1, actor="t", reason="test")
    # one real hash for every account (each Argon2id hash takes a good part of a second; the tests do not sign in)
    with mock.patch("db.users.hash_password", return_value=hash_password(PASSWORD)), \
            write_session(engine) as session:
        # accounts of every centre first: an administrator of every centre must remain when the others are limited
        for username, (role, centres) in sorted(accounts.items(), key=lambda item: item[1][1] is not None):
            create_user(session=session, actor="t", data={"username": username, "display_name": username,
                                                          "role": role, "password": PASSWORD,
                                                          "can_export_identified": role in ("coordinator", "admin")})
            set_user_centres(session=session, username=username, all_centres=centres is None,
                             centres={code: True for code in centres or ()}, actor="t")


@pytest.fixture(scope="session")
def scope_database(tmp_path_factory, sqlite_template) -> Path:
    accounts = {f"{role}-{scope}": (role, SCOPES[scope]) for role in PAGES for scope in SCOPES}
    return built_database(tmp_path_factory.mktemp("scopes"), sqlite_template,
                          lambda engine: build_centres(engine, accounts))


@pytest.fixture
def with_scopes(app_url, scope_database):
    yield from app_database(app_url, scope_database)


def signed_in(username: str, role: str, page: str | None = None, query: dict | None = None) -> AppTest:
    """An AppTest signed in as `username` (the account exists; the gate re-reads it and its centres)."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = {"username": username, "display_name": username, "role": role,
                                "can_export_identified": False}
    at.run()
    if page:
        at.switch_page(page)
    for name, value in (query or {}).items():  # after switch_page, which starts from an empty address
        at.query_params[name] = value
    return at.run() if page or query else at


def shown_patients(at: AppTest, page: str) -> set[str]:
    """The patients a screen offers: the list's rows, a picker's options, the trail's or the bin's patients."""
    if page == "patients":
        return set(at.dataframe[0].value["patient_id"])
    if page in PICKERS:
        return {label.split(" · ")[0] for label in at.selectbox(key=PICKERS[page]).options}
    if page == "audit_trail":
        return {p for p in at.dataframe[0].value["patient_id"] if p}
    if page == "restore":
        return set(at.dataframe[0].value["patient_id"])
    raise AssertionError(page)


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("role", list(PAGES))
def test_every_screen_shows_exactly_the_scope_s_patients(with_scopes, role, scope):
    codes = centres_of(scope)
    expected = {"audit_trail": {LIVE[c] for c in codes} | {DELETED[c] for c in codes},
                "restore": {DELETED[c] for c in codes}}
    at = signed_in(f"{role}-{scope}", role)
    for page in PAGES[role]:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert shown_patients(at, page) == expected.get(page, {LIVE[c] for c in codes}), page


@pytest.mark.parametrize("screen_name", ["patients", "visit_entry", "treatments", "chart"])
def test_another_centre_s_patient_in_the_address_is_no_such_patient(with_scopes, screen_name):
    """?patient=PB for a physician of centre A reads exactly as ?patient=NOPE (no name, no data of PB)."""
    def screen(patient_id: str) -> tuple:
        at = signed_in("physician-one", "physician", f"pages/{screen_name}.py", query={"patient": patient_id})
        assert not at.exception
        text = [m.value.replace(patient_id, "<id>") for m in (*at.warning, *at.error, *at.markdown, *at.subheader)]
        return text, at.session_state["patient_id"], [p for p in ("PB", "DB") if any(p in t for t in text)]

    other, unknown = screen("PB"), screen("NOPE")
    assert other[0] == unknown[0] and other[1] is unknown[1] is None and other[2] == []
    if screen_name != "patients":  # the pickers say so; the list simply opens no patient
        assert any("No patient '<id>'" in t for t in other[0])


def test_two_accounts_never_share_a_cached_list(with_scopes):
    """One process, one cache: the lists of the patients page and the pickers are filed under each scope."""
    for username, expected in (("physician-one", {"PA"}), ("physician-two", {"PA", "PB"}),
                               ("physician-all", {"PA", "PB", "PC"}), ("physician-one", {"PA"})):
        at = signed_in(username, "physician", "pages/patients.py")
        assert shown_patients(at, "patients") == expected, username
        at.switch_page("pages/chart.py").run()
        assert shown_patients(at, "chart") == expected, username


def count_visible_patients() -> None:
    """A script: how many patients the page engine of this session reads."""
    import streamlit as st

    from db.patients import load_patients
    from ui.state import get_engine

    st.write(f"visible: {len(load_patients(get_engine()))}")


def test_not_signed_in_reads_no_patient(with_scopes):
    at = AppTest.from_function(count_visible_patients).run()
    assert at.markdown[0].value == "visible: 0"
    at.session_state["user"] = {"username": "physician-two", "display_name": "x", "role": "physician"}
    assert at.run().markdown[0].value == "visible: 2"
    at.session_state["user"] = None
    assert at.run().markdown[0].value == "visible: 0"


def test_a_change_of_centres_applies_at_the_next_page_run(with_scopes):
    at = signed_in("staff-one", "staff", "pages/patients.py")
    assert shown_patients(at, "patients") == {"PA"}
    with write_session(with_scopes) as session:
        set_user_centres(session=session, username="staff-one", all_centres=False, centres={"C": False},
                         actor="admin-all")
    at.run()
    assert shown_patients(at, "patients") == {"PC"}
    at.switch_page("pages/account.py").run()
    assert any("Centres: **C**" in m.value for m in at.markdown)
