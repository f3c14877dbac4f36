"""The clinic's entry forms at 1024×768 (a clinic laptop with the sidebar open): every chosen value is shown whole.

Five fields in one row of the Start a drug form clipped the unit to "m…" (mg and mg/kg alike) and the route to
"ora…"; four in a row of the adverse event form clipped the grade ("4 life-th…") and the outcome."""

from __future__ import annotations

from playwright.sync_api import expect

from db.engine import write_session
from db.patients import create_patient
from db.users import create_user
from tests import factories
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, wait_for_app

PASSWORD = "correct horse battery"
CLIPPED = "(box) => [...box.querySelectorAll('input')].filter(i => i.scrollWidth > i.clientWidth + 1).map(i => i.value)"


def choose(page, form, label, typed):
    """Pick an option of the select box `label` by typing it, as a user would."""
    form.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)


def clipped(form) -> dict[str, list[str]]:
    boxes = form.get_by_test_id("stSelectbox")
    found = {boxes.nth(i).inner_text().splitlines()[0]: boxes.nth(i).evaluate(CLIPPED) for i in range(boxes.count())}
    return {label: values for label, values in found.items() if values}


def test_drug_and_adverse_event_choices_are_shown_whole_at_1024(server, page, artifacts):
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "nina", "display_name": "Nina Nurse",
                                                            "role": "staff", "password": PASSWORD})
        create_patient(session=session, actor="fixture", data=factories.patient())
    page.set_viewport_size({"width": 1024, "height": 768})
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    page.goto(f"{server.url}/treatments?patient=P-001")
    wait_for_app(page)
    form = page.get_by_test_id("stForm").first  # Start a drug: open while the patient has no medication
    expect(form.get_by_role("button", name="Start drug")).to_be_visible(timeout=30_000)
    choose(page, form, "Unit", "mg/kg")
    choose(page, form, "Route", "intralesional")
    form.screenshot(path=str(artifacts / "start-drug-1024.png"))
    assert clipped(form) == {}

    page.get_by_role("tab", name="Treatment events").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Event kind").click()
    page.get_by_role("option", name="Adverse event").click()
    wait_for_app(page)
    form = page.get_by_test_id("stForm").last
    choose(page, form, "Term", "Skin induration")
    choose(page, form, "CTCAE grade", "4 life")
    choose(page, form, "Outcome", "recovered with")
    form.screenshot(path=str(artifacts / "adverse-event-1024.png"))
    keep_screenshot(page, "adverse-event-page-1024.png", artifacts)
    assert clipped(form) == {}
