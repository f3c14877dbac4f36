"""No download outside the export policy (issue 14, finding 5): every page, as every role, offers only downloads
whose data, when made, writes the audit row of an export (exchange/exporter.audit_export: role, permission,
de-identification and formula escaping come with it) or of a backup (db/backup.py) naming the signed-in user; the
server keeps table toolbars' downloads off (client.disableDataExport) and no screen turns them back on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from models.access import may_open
from tests.app.conftest import APP, ROLES

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py"))
AUDITED = {"export", "backup"}  # the audit actions of the export path and of a backup
PATIENT = "DEMO-0001"


@pytest.fixture
def downloads(monkeypatch):
    """Every download a page run offers: (file name, the callable that makes its data, or None for data made
    during the run)."""
    offered: list[tuple[str, object]] = []
    add_deferred, add = MediaFileManager.add_deferred, MediaFileManager.add

    def deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        offered.append((file_name, data_callable))
        return add_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    def static(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            offered.append((file_name, None))
        return add(self, data, mimetype, coordinates, file_name=file_name,
                   is_for_static_download=is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add_deferred", deferred)
    monkeypatch.setattr(MediaFileManager, "add", static)
    return offered


def newest_audit(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT coalesce(max(audit_id), 0) FROM audit_event")).scalar_one()


def audited_since(engine, after: int, actor: str) -> list[str]:
    with engine.connect() as connection:
        return [row.action for row in connection.execute(text(
            "SELECT action FROM audit_event WHERE audit_id > :after AND actor = :actor"),
            {"after": after, "actor": actor})]


def run_page(page: str, role: str, offered: list) -> AppTest:
    """`page` as `role`, with the demo's first patient chosen; `offered` holds the downloads of that page only."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = {"username": role, "display_name": f"Dr {role.title()}", "role": role,
                                "can_export_identified": role == "admin"}
    at.session_state["patient_id"] = PATIENT
    at.switch_page(page)
    offered.clear()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def check_downloads(engine, role: str, page: str, offered, before: int) -> int:
    """Make each offered download's data; each must leave an export or backup audit row naming `role`."""
    for name, make in offered:
        if make is None:  # made during the run: its audit row is there already
            assert AUDITED & set(audited_since(engine, before, role)), f"{page} as {role}: {name} is not audited"
            continue
        mark = newest_audit(engine)
        make()
        actions = audited_since(engine, mark, role)
        assert AUDITED & set(actions), f"{page} as {role}: the download {name} wrote no audit row ({actions})"
    return newest_audit(engine)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_every_download_of_every_page_is_audited(with_demo, downloads, role):
    seen = []
    # A page the role may not open stops at its guard before any element (tests/app/test_access_pages.py).
    for page in PAGES:
        if not may_open(role, page):
            continue
        before = newest_audit(with_demo)
        run_page(page, role, downloads)
        check_downloads(with_demo, role, page, list(downloads), before)
        seen += [(page, name) for name, _ in downloads]
    opened = {page for page in PAGES if may_open(role, page)}
    # the walk met the downloads it should: the backup for administrators, the cohort's export for coordinators
    assert ("pages/backup.py" in opened) == any(page == "pages/backup.py" for page, _ in seen)
    assert ("pages/cohort.py" in opened) == any(page == "pages/cohort.py" for page, _ in seen)


@pytest.mark.slow
def test_the_export_screens_download_is_audited(with_demo, downloads):
    at = run_page("pages/export.py", "coordinator", downloads)
    before = newest_audit(with_demo)
    next(button for button in at.button if button.label == "Prepare the export").click()
    at.run()
    assert not at.exception
    assert [name for name, _ in downloads if name and name.startswith("skintrack-deidentified-")]
    check_downloads(with_demo, "coordinator", "pages/export.py", [d for d in downloads if d[1] is None], before)


@pytest.mark.slow
def test_the_charts_downloads_are_audited(with_demo, downloads):
    before = newest_audit(with_demo)
    run_page("pages/chart.py", "physician", downloads)
    offered = list(downloads)
    assert offered, "the chart offers its pictures and report"
    check_downloads(with_demo, "physician", "pages/chart.py", [d for d in offered if d[0].endswith(".pdf")], before)


def test_table_downloads_stay_off():
    """The server's setting hides every table toolbar's download (and copy); no screen switches it back, draws raw
    HTML or an iframe, or mounts a component other than the two known ones (the session cookie, the score grid)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    sources = {path.relative_to(ROOT).as_posix(): path.read_text()
               for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]}
    forbidden = re.compile(r"set_option|disableDataExport|data_editor|st\.html|unsafe_allow_html|components\.v1|"
                           r"\.iframe\(|LinkColumn|ImageColumn|data:[a-z]+/")
    found = {name: forbidden.findall(source) for name, source in sources.items() if forbidden.search(source)}
    assert found == {}
    components = {name for name, source in sources.items() if "components.v2.component(" in source}
    assert components == {"ui/browser_session.py", "ui/score_grid.py"}
