"""Browser journeys: a real `streamlit run` on a free port with its own SQLite file, driven by
Playwright in Debian's headless Chromium (never a downloaded browser).

Fixtures:
- `server(tmp_path)` -> a started app (`.url`, `.engine`, `.log` path); the log is put into the
  failure message when a test fails.
- `page` (pytest-playwright) launched with the explicit executable and flags of STACK-NOTES.md.
- `artifacts` -> a folder under the test's tmp path for screenshots (kept by pytest's basetemp).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from db.engine import make_engine, upgrade_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS_DIR = ROOT / "test-results" / "screenshots"

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)  # a real server and browser: left out of `-m "not slow"`


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    database_url: str
    log: Path
    process: subprocess.Popen

    @property
    def engine(self):
        return make_engine(self.database_url)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else "(no log)"


@pytest.fixture
def server(tmp_path, request):
    """A running Skintrack on a free port with a fresh, migrated SQLite database."""
    database_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    upgrade_database(make_engine(database_url))
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "SKINTRACK_DATABASE_URL": database_url, "TMPDIR": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "SKINTRACK_LOG_TIMINGS": "1"}  # fragment run times into the log (ui/score_grid.timed)
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"streamlit did not become healthy within 60 s; log:\n{log.read_text(errors='replace')}")
    running = Server(url=url, database_url=database_url, log=log, process=process)
    yield running
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(f"\n--- streamlit log ({log}) ---\n{running.log_text()}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def artifacts(request) -> Path:
    """Where a journey saves its screenshots for review: test-results/screenshots/<test name>/."""
    folder = SHOTS_DIR / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for_app(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the current run (no running indicator, app view present)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout)
    page.wait_for_timeout(300)


def open_screen(page, name: str) -> None:
    """Open a screen by its link in the sidebar and wait for its run to finish."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_for_app(page)


def open_and_sign_in(page, url: str, username: str, password: str) -> None:
    """Open the app at `url` and sign in through the form, as a user would; returns once the browser holds its
    session cookie (a reload from then on stays signed in)."""
    from playwright.sync_api import expect

    page.context.clear_cookies()  # a fresh sign-in, not the browser's session carried over (ui/browser_session.py)
    page.goto(url)
    wait_for_app(page)
    expect(page.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)
    wait_for_session_cookie(page)


SESSION_COOKIE = "skintrack_session"


def session_cookie(page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def wait_for_session_cookie(page, timeout: float = 15) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        cookie = session_cookie(page)
        if cookie is not None:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError("the browser never received its session cookie")


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def fragment_timings(server: Server, name: str) -> list[float]:
    """Server milliseconds of each run of fragment `name` logged so far (SKINTRACK_LOG_TIMINGS)."""
    prefix = f"skintrack-timing {name} "
    return [float(line[len(prefix):].split()[0]) for line in server.log.read_text(errors="replace").splitlines()
            if line.startswith(prefix)]


def keep_screenshot(page, name: str, *folders: Path) -> None:
    """A full-page picture, kept under test-results/screenshots/ and the given folders."""
    picture = page.screenshot(full_page=True)
    for folder in (SHOTS_DIR, *folders):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(picture)
