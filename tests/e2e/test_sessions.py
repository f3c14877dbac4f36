"""Sessions in a real browser (issue 13, defect 9): a fresh server's first view is the sign-in form, not Streamlit's
raw list of page files; a reload (F5) or a second tab keeps the user, the screen and the patient; after signing
out a reload asks for sign-in again and the browser's other tabs are signed out too; a shared link asks for
sign-in and the role check; the cookie route refuses what does not come from the app's own page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from demo import generate_registry, load_registry
from tests.e2e.conftest import (
    SESSION_COOKIE,
    main_text,
    open_and_sign_in,
    open_screen,
    session_cookie,
    wait_for_app,
    wait_for_session_cookie,
)

PASSWORD = "correct horse battery"
RAW_PAGE_LIST = ("account", "audit trail", "import bundle", "visit entry")
PATIENT = "DEMO-0002 · Nephrogenic systemic fibrosis"


def accounts(server, *roles):
    with write_session(server.engine) as session:
        for role in roles:
            create_user(session=session, actor="fixture", data={
                "username": role, "display_name": f"Dr {role.title()}", "role": role, "password": PASSWORD})


def demo(server, patients=4):
    load_registry(server.engine, generate_registry(patients), actor="fixture")


def sidebar_links(page) -> list[str]:
    nav = page.get_by_test_id("stSidebarNav")
    return [link.strip().lower() for link in nav.get_by_role("link").all_inner_texts()] if nav.count() else []


def test_a_fresh_server_first_shows_the_sign_in_form_without_the_raw_page_list(server, page, artifacts):
    accounts(server, "staff")
    # Watch every change of the page from its very first render: the raw list of page files must never show,
    # not even while the server's first run starts (on main it showed for seconds, or until a reload).
    page.add_init_script("""
      window.rawPageList = [];
      new MutationObserver(() => {
        const nav = document.querySelector('[data-testid="stSidebarNav"]');
        if (nav && nav.innerText.trim()) window.rawPageList.push(nav.innerText.toLowerCase());
      }).observe(document, {subtree: true, childList: true, characterData: true});
    """)
    page.goto(server.url)
    wait_for_app(page)
    expect(page.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Username")).to_be_visible()
    seen = page.evaluate("window.rawPageList")
    assert not [text for text in seen if any(name in text for name in RAW_PAGE_LIST)], seen[:1]
    assert not set(sidebar_links(page)) & set(RAW_PAGE_LIST), sidebar_links(page)
    page.screenshot(path=str(artifacts / "first-view.png"))


def test_reload_and_a_second_tab_keep_the_user_the_screen_and_the_patient(server, page, artifacts):
    accounts(server, "staff")
    demo(server)
    open_and_sign_in(page, server.url, "staff", PASSWORD)
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # no script of the page can read the token
    open_screen(page, "Visit entry")
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").first.click()
    page.get_by_role("option", name=PATIENT).click()
    wait_for_app(page)
    expect(page).to_have_url(f"{server.url}/visit_entry?patient=DEMO-0002")

    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Visit entry")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Patient")).to_have_value(PATIENT)
    expect(page.get_by_text("Signed in as Dr Staff")).to_be_visible()
    page.screenshot(path=str(artifacts / "after-reload.png"))

    second = page.context.new_page()
    second.goto(page.url)
    wait_for_app(second)
    expect(second.get_by_role("heading", name="Visit entry")).to_be_visible(timeout=30_000)
    expect(second.get_by_role("combobox", name="Patient")).to_have_value(PATIENT)

    page.get_by_role("button", name="Sign out").click()
    wait_for_app(page)
    page.reload()
    wait_for_app(page)
    expect(page.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    assert "Visit entry" not in main_text(page)
    # The other tab is signed out at its next page run.
    second.get_by_role("tab", name="Measures (optional)").click()
    wait_for_app(second)
    expect(second.get_by_text("You signed out in another tab of this browser.")).to_be_visible(timeout=30_000)
    expect(second.get_by_text("Sign in to Skintrack")).to_be_visible()


def test_a_shared_link_asks_for_sign_in_and_the_role_check(server, page, browser):
    accounts(server, "staff", "coordinator")
    demo(server)
    open_and_sign_in(page, server.url, "staff", PASSWORD)
    link = f"{server.url}/chart?patient=DEMO-0002"
    other = browser.new_context(viewport={"width": 1440, "height": 900})  # a colleague's browser: no cookie
    colleague = other.new_page()
    colleague.goto(f"{server.url}/visit_entry?patient=DEMO-0002")
    wait_for_app(colleague)
    expect(colleague.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    colleague.get_by_label("Username").fill("coordinator")
    colleague.get_by_label("Password", exact=True).fill(PASSWORD)
    colleague.get_by_role("button", name="Sign in").click()
    wait_for_app(colleague)
    expect(colleague.get_by_text("Your role does not give access to this screen")).to_be_visible(timeout=30_000)
    wait_for_session_cookie(colleague)  # the page fetches its cookie right after signing in
    colleague.goto(link)
    wait_for_app(colleague)
    expect(colleague.get_by_role("heading", name="Patient chart")).to_be_visible(timeout=30_000)
    other.close()


def test_a_password_change_signs_out_the_account_s_other_browser_even_on_a_reload(server, page, browser, artifacts):
    """Someone signed in with a leaked password (another browser, its own cookie) is shut out once the owner
    changes it: at their next page run and on a reload; the owner's browser stays signed in."""
    accounts(server, "staff")
    open_and_sign_in(page, server.url, "staff", PASSWORD)
    other = browser.new_context(viewport={"width": 1440, "height": 900})
    intruder = other.new_page()
    open_and_sign_in(intruder, server.url, "staff", PASSWORD)
    open_screen(page, "My account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (at least 10 characters)").fill("a brand new password")
    page.get_by_label("Repeat the new password").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    wait_for_app(page)
    expect(page.get_by_text("Password changed")).to_be_visible(timeout=30_000)
    intruder.reload()
    wait_for_app(intruder)
    expect(intruder.get_by_text("Sign in to Skintrack")).to_be_visible(timeout=30_000)
    intruder.screenshot(path=str(artifacts / "intruder-after-password-change.png"))
    page.reload()
    wait_for_app(page)
    expect(page.get_by_text("Signed in as Dr Staff")).to_be_visible(timeout=30_000)
    other.close()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("set-cookie") or ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("set-cookie") or ""


def test_the_cookie_route_hands_out_nothing_without_a_fresh_grant_from_the_apps_own_page(server):
    route = f"{server.url}/skintrack/session"
    host = server.url.removeprefix("http://")
    body = json.dumps({"grant": "guessed"}).encode()
    assert _post(route, body, {"Content-Type": "application/json"}) == (403, "")  # no Origin: refused
    assert _post(route, body, {"Content-Type": "application/json", "Origin": "http://evil.example"}) == (403, "")
    assert _post(route, body, {"Content-Type": "application/json", "Origin": f"http://{host}"}) == (403, "")
    assert _post(route, b"not json", {"Content-Type": "application/json", "Origin": f"http://{host}"}) == (403, "")
