"""The Treatments screen in a real browser (issue 13): a dose typed for one patient is gone when another patient is
chosen; a correction opened before a stop (in another tab) is refused instead of undoing the stop, and after a
reload shows the stop; the Treatment events tab stays open while an adverse event is chosen and recorded."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from db.engine import write_session
from db.treatments import load_event_rows, load_medication_rows
from db.users import create_user
from demo import generate_registry, load_registry
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, wait_for_app

PASSWORD = "correct horse battery"


def staff_and_demo(server):
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "nina", "display_name": "Nina Nurse",
                                                            "role": "staff", "password": PASSWORD})
    load_registry(server.engine, generate_registry(8), actor="fixture")


def expander(page, title):
    section = page.get_by_test_id("stExpander").filter(has_text=title).first
    if section.get_by_role("button", name=title).count() == 0:
        section.get_by_text(title, exact=True).first.click()
    else:
        section.get_by_role("button", name=title).click()
    wait_for_app(page)
    return section


def open_treatments(page, url, patient):
    page.goto(f"{url}/treatments?patient={patient}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Treatments")).to_be_visible(timeout=30_000)


def test_a_typed_dose_never_follows_to_another_patient(server, page, artifacts):
    staff_and_demo(server)
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    open_treatments(page, server.url, "DEMO-0004")
    section = expander(page, "Change dose or stop")
    section.get_by_label("Dose (mg)", exact=True).fill("20")
    section.get_by_label("Reason (required)").first.fill("no response")
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").first.click()
    page.get_by_role("option", name="DEMO-0007", exact=False).click()
    wait_for_app(page)
    expect(page).to_have_url(f"{server.url}/treatments?patient=DEMO-0007")
    section = expander(page, "Change dose or stop")
    keep_screenshot(page, "switched-patient.png", artifacts)
    expect(section.get_by_label("Dose (mg)", exact=True)).to_have_value("")
    expect(section.get_by_label("Reason (required)").first).to_have_value("")
    assert len(load_medication_rows(server.engine, "DEMO-0004")) == 1  # nothing was written anywhere


def test_a_correction_opened_before_a_stop_cannot_undo_it(server, page, artifacts):
    staff_and_demo(server)
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    open_treatments(page, server.url, "DEMO-0004")
    other = page.context.new_page()  # a second tab, or a colleague, with the correction form open
    open_treatments(other, server.url, "DEMO-0004")
    fix = expander(other, "Correct or delete a period")
    fix.get_by_label("Reason / indication").fill("skin")
    fix.get_by_label("Why is this corrected? (required)").fill("indication missing")

    stop = expander(page, "Change dose or stop")
    # each typed value is committed (Tab, then the app's run) before the next field: a run started by one field
    # can redraw another that holds typed but uncommitted text, and the date was lost that way now and then
    last_day = stop.get_by_role("textbox", name="Last day taken", exact=True)
    last_day.fill(date.today().isoformat())
    last_day.press("Tab")
    wait_for_app(page)
    stop.get_by_label("Reason", exact=True).fill("nausea")
    stop.get_by_label("Reason", exact=True).press("Tab")
    wait_for_app(page)
    stop.get_by_role("button", name="Stop drug").click()
    wait_for_app(page)
    expect(page.get_by_text("stopped on")).to_be_visible(timeout=30_000)
    stopped = load_medication_rows(server.engine, "DEMO-0004").iloc[0]
    same_tab = expander(page, "Correct or delete a period")  # defect 1: this form showed the period before the stop
    expect(same_tab.get_by_role("textbox", name="Stop", exact=True)).to_have_value(f"{stopped['end_date']:%Y-%m-%d}")
    expect(same_tab.get_by_label("Reason / indication")).to_have_value("nausea")

    fix.get_by_role("button", name="Save correction").click()
    wait_for_app(other)
    expect(other.get_by_text("changed since this form was opened")).to_be_visible(timeout=30_000)
    keep_screenshot(other, "stale-correction-refused.png", artifacts)
    row = load_medication_rows(server.engine, "DEMO-0004").iloc[0]
    assert row["end_date"] == stopped["end_date"] and row["reason"] == "nausea"  # the stop stands

    other.reload()
    wait_for_app(other)
    fix = expander(other, "Correct or delete a period")
    expect(fix.get_by_role("textbox", name="Stop", exact=True)).to_have_value(f"{stopped['end_date']:%Y-%m-%d}")
    expect(fix.get_by_label("Reason / indication")).to_have_value("nausea")
    fix.get_by_label("Why is this corrected? (required)").fill("frequency checked")
    fix.get_by_role("button", name="Save correction").click()
    wait_for_app(other)
    row = load_medication_rows(server.engine, "DEMO-0004").iloc[0]
    assert row["end_date"] == stopped["end_date"] and row["reason"] == "nausea"


def test_the_events_tab_stays_open_while_an_adverse_event_is_chosen_and_recorded(server, page, artifacts):
    staff_and_demo(server)
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    open_treatments(page, server.url, "DEMO-0004")
    page.get_by_role("tab", name="Treatment events").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Event kind").click()
    page.get_by_role("option", name="Adverse event").click()
    wait_for_app(page)
    expect(page.get_by_role("tab", name="Treatment events")).to_have_attribute("aria-selected", "true")
    term = page.get_by_test_id("stSelectbox").filter(has_text="Term (CTCAE v5.0)")
    expect(term).to_be_visible()
    term.click()
    page.keyboard.type("Edema limbs")
    page.get_by_role("option", name="Edema limbs", exact=True).click()
    wait_for_app(page)
    page.get_by_label("Details (free text)").fill("ankles swollen")
    page.get_by_role("textbox", name="Resolved on", exact=True).fill("2099-01-01")
    page.get_by_role("button", name="Record adverse event").click()
    wait_for_app(page)
    expect(page.get_by_text("Resolved on", exact=False).locator("xpath=ancestor::*[@data-testid='stAlert']")
           .first).to_be_visible(timeout=30_000)
    assert load_event_rows(server.engine, "DEMO-0004").query("kind == 'adverse_event'").empty
    page.get_by_role("textbox", name="Resolved on", exact=True).fill("")
    page.get_by_role("button", name="Record adverse event").click()
    wait_for_app(page)
    expect(page.get_by_text("Adverse event recorded.")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Treatment events")).to_have_attribute("aria-selected", "true")
    assert "tab=Treatment+events" in page.url or "tab=Treatment%20events" in page.url
    keep_screenshot(page, "events-tab.png", artifacts)
    recorded = load_event_rows(server.engine, "DEMO-0004").query("kind == 'adverse_event'")
    assert recorded[["term", "description"]].values.tolist() == [["Edema limbs", "ankles swollen"]]
