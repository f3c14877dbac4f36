"""In a real browser: a new staff member adds a patient, enters a full 17-site visit by clicking the body layout
plus two measures, sees the live total, saves, and finds the visit in the patient list. Every click and keystroke after
choosing the patient is counted: a full visit with two measures must take no more than 25."""

from __future__ import annotations

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from db.visits import load_assessment_rows
from models.catalog import SITE_CODES, SITES_BY_CODE
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, wait_for_app

PASSWORD = "correct horse battery"
SCORES = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 0), strict=True))  # 30
MAX_ACTIONS = 25


class Counter:
    """Clicks and keystrokes made on the user's behalf."""

    def __init__(self, page):
        self.page, self.actions = page, 0

    def click(self, locator):
        locator.click()
        self.actions += 1

    def type(self, locator, text: str):
        locator.click()
        self.page.keyboard.type(text)
        self.actions += 1 + len(text)


def site_score(page, code, score):
    """The 0-3 choice of one site, found as a user would: the radio group named after the site."""
    group = page.get_by_role("radiogroup", name=SITES_BY_CODE[code].display, exact=False)
    return group.get_by_role("radio", name=str(score), exact=True)


def test_new_user_adds_a_patient_and_enters_a_full_visit(server, page, artifacts):
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "nina", "display_name": "Nina Nurse",
                                                            "role": "staff", "password": PASSWORD})
    page.set_viewport_size({"width": 1440, "height": 2200})
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patients").click()
    wait_for_app(page)
    expect(page.get_by_text("No patients yet")).to_be_visible(timeout=30_000)
    form = page.get_by_test_id("stForm").first
    form.get_by_role("textbox", name="Patient ID").fill("E2E-001")
    form.get_by_test_id("stSelectbox").filter(has_text="Diagnosis").click()
    page.get_by_role("option", name="dcSSc — Diffuse cutaneous systemic sclerosis").click()
    form.get_by_role("button", name="Add patient").click()
    wait_for_app(page)
    expect(page.get_by_text("E2E-001 · Diffuse cutaneous systemic sclerosis")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Enter visit").click()
    wait_for_app(page)
    expect(page.get_by_text("Total mRSS (0 of 17 sites)")).to_be_visible(timeout=30_000)

    # The patient is chosen: from here every click and keystroke counts.
    user = Counter(page)
    for code, score in SCORES.items():
        user.click(site_score(page, code, score))
        wait_for_app(page)
    expect(page.get_by_text("30 / 51")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    keep_screenshot(page, "entry.png", artifacts)
    user.click(page.get_by_role("tab", name="Measures (optional)"))
    user.type(page.get_by_label("R", exact=True).first, "4")  # finger-to-palm distance, right
    user.type(page.get_by_label("L", exact=True).first, "5")  # and left
    page.keyboard.press("Tab")  # leaves the field so the value is committed (not counted: focus moves anyway)
    wait_for_app(page)
    user.click(page.get_by_role("button", name="Save visit"))
    wait_for_app(page)
    expect(page.get_by_text("Saved: E2E-001")).to_be_visible(timeout=30_000)
    assert user.actions <= MAX_ACTIONS, f"{user.actions} clicks and keystrokes for a full visit with two measures"

    rows = load_assessment_rows(server.engine, "E2E-001")
    assert len(rows) == 1 and rows.iloc[0]["total"] == 30 and rows.iloc[0]["rater"] == "Nina Nurse"
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patients").click()
    wait_for_app(page)
    expect(page.get_by_text("latest mRSS 30", exact=False)).to_be_visible(timeout=30_000)  # the visit is listed
    expect(page.get_by_test_id("stException")).to_have_count(0)
