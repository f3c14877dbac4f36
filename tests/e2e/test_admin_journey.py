"""In a real browser: the first run creates the administrator, who adds a staff account and downloads a
backup; staff signs in, enters a visit, and is refused the users screen opened by its URL. Plus the first visitor
of a freshly started server opening /users directly (Streamlit's legacy pages-directory mode)."""

from __future__ import annotations

from playwright.sync_api import expect

from db.engine import write_session
from db.patients import create_patient
from db.users import create_user, get_user
from db.visits import load_assessment_rows
from tests.e2e.conftest import open_screen, wait_for_app, wait_for_session_cookie

PASSWORD = "correct horse battery"
REFUSAL = "Your role does not give access to this screen"


def nav(page, name):
    open_screen(page, name)


def sign_in(page, username, password):
    expect(page.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)


def test_admin_creates_staff_who_cannot_open_users(server, page, artifacts):
    page.goto(server.url)
    wait_for_app(page)
    expect(page.get_by_text("Create the administrator account")).to_be_visible(timeout=30_000)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Display name").fill("Dr Rivera")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_text("Also load the demo registry").click()  # without the demo
    page.get_by_role("button", name="Create administrator").click()
    wait_for_app(page)
    expect(page.get_by_text("Signed in as Dr Rivera (admin)")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "1-admin-signed-in.png"), full_page=True)

    nav(page, "Users")
    form = page.get_by_test_id("stForm").first
    form.get_by_role("textbox", name="Username").fill("sam")
    form.get_by_role("textbox", name="Display name").fill("Sam Staff")
    form.get_by_label("Password (at least 10 characters)", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Add account").click()
    wait_for_app(page)
    expect(page.get_by_text("Account 'sam' added with role Clinic staff")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "2-users-page.png"), full_page=True)
    assert get_user(server.engine, "sam")["role"] == "staff"

    nav(page, "Backup")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download a backup").click()
    backup = download.value.path()
    with open(backup, "rb") as handle:
        assert handle.read(16) == b"SQLite format 3\x00"
    page.screenshot(path=str(artifacts / "3-backup-page.png"), full_page=True)

    nav(page, "Audit trail")
    expect(page.get_by_text("Audit trail").first).to_be_visible()
    page.screenshot(path=str(artifacts / "4-audit-trail.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    wait_for_app(page)
    sign_in(page, "sam", "wrong password")
    expect(page.get_by_text("wrong username or password")).to_be_visible()
    sign_in(page, "sam", PASSWORD)
    expect(page.get_by_text("Signed in as Sam Staff (staff)")).to_be_visible(timeout=30_000)
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    names = [links.nth(i).inner_text() for i in range(links.count())]
    assert not any(name in names for name in ("Users", "Audit trail", "Backup", "Deleted records")), names
    page.screenshot(path=str(artifacts / "5-staff-signed-in.png"), full_page=True)

    # Staff works: a historical total for a patient the clinic registered.
    with write_session(server.engine) as session:
        create_patient(session=session, actor="fixture", data={"patient_id": "P-7", "diagnosis": "morphea"})
    nav(page, "Visit entry")
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").click()
    page.get_by_role("option", name="P-7 · Morphea").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Rater").click()  # the rater is required: Sam rated
    page.get_by_role("option", name="Sam Staff").click()
    wait_for_app(page)
    page.get_by_text("Total only (historical total, no sites)").click()
    wait_for_app(page)
    page.get_by_role("spinbutton", name="Total mRSS (0–51)").fill("12")
    page.keyboard.press("Tab")
    wait_for_app(page)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved: P-7")).to_be_visible(timeout=30_000)
    assert load_assessment_rows(server.engine, "P-7").iloc[0]["total"] == 12

    wait_for_session_cookie(page)
    page.goto(f"{server.url}/users")  # a typed URL: the browser stays signed in, and the role check applies
    wait_for_app(page)
    expect(page.get_by_text(REFUSAL)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Add an account")).to_have_count(0)
    page.screenshot(path=str(artifacts / "6-staff-refused-users.png"), full_page=True)


def test_first_visitor_of_a_fresh_server_opening_users_directly_is_not_let_in(server, page, artifacts):
    with write_session(server.engine) as session:
        create_user(session=session, actor="test", data={"username": "admin", "role": "admin",
                                                         "password": PASSWORD})
    page.goto(f"{server.url}/users")
    wait_for_app(page)
    expect(page.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Add an account")).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")  # and not Streamlit's raw list of page files
    assert nav.count() == 0 or "import bundle" not in nav.inner_text().lower()
    page.screenshot(path=str(artifacts / "first-visitor-users-url.png"), full_page=True)
    sign_in(page, "admin", PASSWORD)
    page.screenshot(path=str(artifacts / "first-visitor-signed-in.png"), full_page=True)
    expect(page.get_by_text("Add an account")).to_be_visible(timeout=30_000)
