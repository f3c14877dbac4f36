"""The Export screen and centres (issue 16): an account of several centres may limit the export to some, and an
identified export is offered exactly when the account may export every centre it covers identified — the account
holding that permission for only some of its centres switches de-identification off by choosing only those."""

from __future__ import annotations

import pytest

from db.audit import load_audit
from db.centres import set_user_centres
from db.engine import write_session
from db.users import create_user
from tests.app.conftest import PASSWORD, app_database, built_database
from tests.app.test_centre_scope_pages import build_centres, signed_in


@pytest.fixture(scope="module")
def export_centres_database(tmp_path_factory, sqlite_template):
    def build(engine) -> None:
        build_centres(engine, {"coordinator-one": ("coordinator", ("A",))})
        with write_session(engine) as session:  # identified for A only; the account-wide flag is irrelevant here
            create_user(session=session, actor="t", data={"username": "coordinator-ab", "display_name": "AB",
                                                          "role": "coordinator", "password": PASSWORD,
                                                          "can_export_identified": False})
            set_user_centres(session=session, username="coordinator-ab", all_centres=False,
                             centres={"A": True, "B": False}, actor="t")

    return built_database(tmp_path_factory.mktemp("export-centres"), sqlite_template, build)


@pytest.fixture
def with_centres(app_url, export_centres_database):
    yield from app_database(app_url, export_centres_database)


def latest_export(engine) -> str:
    return load_audit(engine, action="export").iloc[0]["detail"]


def test_identified_export_of_the_centres_the_account_may_identify(with_centres):
    at = signed_in("coordinator-ab", "coordinator", "pages/export.py")
    assert not at.exception
    assert at.multiselect(key="export_centres").options == ["A · Centre A", "B · Centre B"]
    assert at.toggle(key="export_deidentify").disabled  # both centres: B may not be exported identified
    assert any("identified data of centre A only" in c.value for c in at.caption)

    at.multiselect(key="export_centres").set_value(["A"]).run()
    assert not at.toggle(key="export_deidentify").disabled
    at.toggle(key="export_deidentify").set_value(False).run()
    assert at.warning, "an identified export is announced"
    at.button(key="export_prepare").click().run()
    assert not at.exception
    detail = latest_export(with_centres)
    assert detail.startswith("identified zip export of 1 patients") and "centres A" in detail

    at.multiselect(key="export_centres").set_value(["A", "B"]).run()
    assert at.toggle(key="export_deidentify").disabled
    at.button(key="export_prepare").click().run()  # the switch is disabled: de-identified, whatever it said
    assert not at.exception
    detail = latest_export(with_centres)
    assert detail.startswith("de-identified zip export of 2 patients") and "centres A,B" in detail


def test_one_centre_account_has_no_centre_choice(with_centres):
    at = signed_in("coordinator-one", "coordinator", "pages/export.py")
    assert not at.exception
    assert not at.get("multiselect")
    assert not at.toggle(key="export_deidentify").disabled  # its one centre is identified for it
