"""AppTest fixtures: the app pointed at its own fresh SQLite file, caches cleared between tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, write_session
from db.users import create_user
from demo import generate_registry, load_registry

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PASSWORD = "correct horse battery"
ROLES = ("staff", "physician", "coordinator", "admin")


def built_database(folder: Path, source: Path, build: Callable[[Engine], None]) -> Path:
    """A copy of the SQLite file `source` in `folder`, with `build(engine)` run on it once (session fixtures:
    accounts are slow to hash, so tests get copies of a database built once)."""
    path = folder / "app.db"
    shutil.copyfile(source, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        build(engine)
    finally:
        engine.dispose()
    return path


def app_database(app_url: str, source: Path) -> Iterator[Engine]:
    """The app's database as a fresh copy of `source` for one test; yields an engine on it (fixtures: yield from)."""
    shutil.copyfile(source, app_url.removeprefix("sqlite:///"))
    engine = make_engine(app_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_url(sqlite_url, monkeypatch) -> str:
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield sqlite_url
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_engine(app_url):
    engine = make_engine(app_url)
    yield engine
    engine.dispose()


def create_role_users(engine) -> None:
    """One account per role, usernames equal to the role."""
    with write_session(engine) as session:
        for role in ROLES:
            create_user(session=session, actor="fixture", data={
                "username": role, "display_name": f"Dr {role.title()}", "role": role, "password": PASSWORD,
                "can_export_identified": role == "admin"})


@pytest.fixture(scope="session")
def users_database(tmp_path_factory, sqlite_template) -> Path:
    """A migrated SQLite file holding the role accounts, built once; tests get a copy (hashing is slow)."""
    return built_database(tmp_path_factory.mktemp("users"), sqlite_template, create_role_users)


@pytest.fixture
def with_users(app_url, users_database):
    """The app's database with one account per role (a fresh copy for each test)."""
    yield from app_database(app_url, users_database)


@pytest.fixture(scope="session")
def demo_registry():
    return generate_registry(12)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory, users_database, demo_registry) -> Path:
    """The role accounts plus the 12-patient demo registry, loaded once; tests get a copy."""
    return built_database(tmp_path_factory.mktemp("demo"), users_database,
                          lambda engine: load_registry(engine, demo_registry, actor="fixture"))


@pytest.fixture
def with_demo(app_url, demo_database):
    """The app's database with the role accounts and the demo registry (a fresh copy for each test)."""
    yield from app_database(app_url, demo_database)


def signed_in_app(role: str, page: str | None = None, timeout: float = 30) -> AppTest:
    """An AppTest already signed in as `role` (session state seeded), optionally on `page`."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["user"] = {"username": role, "display_name": f"Dr {role.title()}", "role": role,
                                "can_export_identified": role == "admin"}
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def browser_sends(patch: pytest.MonkeyPatch, box, label: str) -> None:
    """Make the next run receive select box `box`'s choice as the browser sends it: the label `label` (which may
    match none of its options any more). `patch`: a monkeypatch context, undone after that run."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.testing.v1.element_tree import Selectbox

    drawn = Selectbox._widget_state

    def state(self):
        if self.id != box.id:
            return drawn.fget(self)
        sent = WidgetState()
        sent.id, sent.string_value = self.id, label
        return sent

    patch.setattr(Selectbox, "_widget_state", property(state))


def limit_admin(engine, centres: dict[str, bool]) -> None:
    """Make the fixture's "admin" an administrator of `centres` only (code -> identified export); an administrator
    of every centre ("root") must remain (db/centres.set_user_centres)."""
    from db.centres import set_user_centres

    with write_session(engine) as session:
        create_user(session=session, actor="fixture", data={"username": "root", "display_name": "Dr Root",
                                                            "role": "admin", "password": PASSWORD})
        set_user_centres(session=session, username="admin", all_centres=False, centres=centres, actor="root")
