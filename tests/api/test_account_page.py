"""*My account*'s API tokens (AppTest): create with a name and an expiry (the token shown once), the list with the
last use, revoke only after the confirmation; a bad name is named by its label."""

from __future__ import annotations

import pytest

from db.api_tokens import TokenRefused, authenticate_token, load_tokens
from db.engine import make_engine
from tests.api.conftest import make_user
from tests.app.conftest import app_url, signed_in_app  # noqa: F401 (app_url: a fixture)


@pytest.fixture
def app_engine(app_url):  # noqa: F811
    engine = make_engine(app_url)
    make_user(engine, "physician", "physician")
    yield engine
    engine.dispose()


def tokens_form(at):
    name = next(t for t in at.text_input if t.label == "Token name")
    days = next(n for n in at.number_input if n.label == "Valid for (days)")
    button = next(b for b in at.button if b.label == "Create token")
    return name, days, button


def test_create_show_once_list_and_revoke_a_token(app_engine):
    at = signed_in_app("physician", "pages/account.py")
    assert any("no API tokens" in i.value for i in at.info)
    name, days, button = tokens_form(at)
    name.input("R analysis")
    days.set_value(30)
    button.click().run()
    assert not at.exception
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("skt_")
    assert any("not shown again" in s.value for s in at.success)
    token = shown[0]
    assert authenticate_token(app_engine, token, address="page-test").username == "physician"
    at.run()  # the next run: the token is gone from the screen
    assert not at.code
    table = at.dataframe[0].value
    assert table["Name"].tolist() == ["R analysis"] and table["Status"].tolist() == ["active"]
    assert table["Last used (UTC)"].notna().all()

    revoke = next(b for b in at.button if b.label == "Revoke token")
    revoke.click().run()  # without the confirmation: nothing revoked
    assert any("tick the box" in e.value for e in at.error)
    assert load_tokens(app_engine, "physician")["status"].tolist() == ["active"]
    next(c for c in at.checkbox if c.label.startswith("Yes, revoke it")).check()
    next(b for b in at.button if b.label == "Revoke token").click().run()
    assert not at.exception
    assert load_tokens(app_engine, "physician")["status"].tolist() == ["revoked"]
    with pytest.raises(TokenRefused):
        authenticate_token(app_engine, token, address="page-test")


def test_a_token_without_a_name_is_refused_by_its_label(app_engine):
    at = signed_in_app("physician", "pages/account.py")
    _, _, button = tokens_form(at)
    button.click().run()
    assert at.error[0].value.startswith("Token not created: **Token name**: is required")
    assert load_tokens(app_engine, "physician").empty
