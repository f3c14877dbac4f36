"""One visit open for correction in two tabs of a real browser: tab B saves a correction that changes the visit's
total; tab A, which had typed its own change, then types its reason and saves.

Before: A's next rerun redrew A's form from the database without a word (its typed change and reason gone), and
the following click — Save correction — came back with the visit chooser's old label, so A silently fell back to
*New visit* with today's date. Now A says that the visit changed meanwhile, keeps the visit open, and refuses
the save without a reason instead of leaving the screen."""

from __future__ import annotations

from playwright.sync_api import expect

from db.engine import write_session
from db.patients import create_patient
from db.users import create_user
from db.visits import load_assessment_rows, record_assessment
from models.catalog import SITE_CODES
from tests import factories
from tests.e2e.conftest import keep_screenshot, main_text, open_and_sign_in, wait_for_app

PASSWORD = "correct horse battery"


def open_visit(page, url):
    page.goto(f"{url}/visit_entry?patient=P-001")
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Visit").first.click()
    page.get_by_role("option", name="2024-03-01 · Dr Staff", exact=False).click()
    wait_for_app(page)
    expect(page.get_by_text("is open for correction", exact=False)).to_be_visible(timeout=30_000)


def site(page, name, score):
    return page.get_by_role("radiogroup", name=name, exact=False).get_by_role("radio", name=str(score), exact=True)


def reason(page, text):
    page.get_by_role("textbox", name="Reason for the correction (required)").fill(text)
    page.keyboard.press("Tab")
    wait_for_app(page)


def test_a_correction_overtaken_by_another_tab_says_so_and_keeps_the_visit_open(server, page, artifacts):
    saved = factories.assessment(visit_date="2024-03-01", rater="Dr Staff", face=1, chest=1)
    total = sum(saved[code] for code in SITE_CODES)
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "nina", "display_name": "Nina Nurse",
                                                            "role": "staff", "password": PASSWORD})
        create_patient(session=session, actor="fixture", data=factories.patient())
        record_assessment(session=session, actor="fixture", data=saved)
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    tab_a, tab_b = page, page.context.new_page()
    open_visit(tab_a, server.url)
    open_visit(tab_b, server.url)

    site(tab_b, "Face", 3).click()
    expect(tab_b.get_by_text(f"{total + 2} / 51")).to_be_visible(timeout=30_000)  # the grid has synced
    wait_for_app(tab_b)
    reason(tab_b, "face was 3")
    tab_b.get_by_role("button", name="Save correction").click()
    wait_for_app(tab_b)
    expect(tab_b.get_by_text("Corrected: P-001", exact=False)).to_be_visible(timeout=30_000)

    tab_a.bring_to_front()
    site(tab_a, "Anterior chest", 2).click()
    expect(tab_a.get_by_text(f"{total + 1} / 51")).to_be_visible(timeout=30_000)
    wait_for_app(tab_a)
    reason(tab_a, "chest was 2")
    expect(tab_a.get_by_text("This visit changed since this form was opened", exact=False)).to_be_visible()
    tab_a.get_by_role("button", name="Save correction").click()
    wait_for_app(tab_a)
    keep_screenshot(tab_a, "tab-a-after-save.png", artifacts)
    text = main_text(tab_a)
    assert "is open for correction" in text, text[:600]  # still the visit, not a new one
    assert "Reason for the correction (required)" in text and "Not saved" in text
    expect(tab_a.get_by_role("textbox", name="Visit date")).to_have_value("2024-03-01")
    row = load_assessment_rows(server.engine, "P-001").iloc[0]
    assert (row["face"], row["chest"], row["version"]) == (3, 1, 2)  # B's correction, nothing from A
