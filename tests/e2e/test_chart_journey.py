"""In a real browser: a physician opens the demo NSF patient (DEMO-0002: the legs soften on imatinib, the hands
only after steroid injections) and the chart draws — timeline, medication lanes, site heat map — without an
error; the screenshot is kept for review (test-results/screenshots/chart.png)."""

from __future__ import annotations

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from demo import generate_registry, load_registry
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, wait_for_app

PASSWORD = "correct horse battery"


def test_physician_reads_the_nsf_patient_chart(server, page, artifacts):
    load_registry(server.engine, generate_registry(6), actor="fixture")
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "pat", "display_name": "Dr Physician",
                                                            "role": "physician", "password": PASSWORD})
    page.set_viewport_size({"width": 1440, "height": 2600})
    open_and_sign_in(page, server.url, "pat", PASSWORD)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patient chart").click()
    wait_for_app(page)
    expect(page.get_by_text("Choose a patient above")).to_be_visible(timeout=30_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").click()
    page.get_by_role("option", name="DEMO-0002 · Nephrogenic systemic fibrosis").click()
    wait_for_app(page)
    expect(page.get_by_text("Nephrogenic systemic fibrosis").first).to_be_visible(timeout=30_000)
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts.first).to_be_visible(timeout=30_000)
    expect(charts.first.locator("canvas, svg").first).to_be_attached(timeout=30_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_role("button", name="PDF report for the patient file")).to_be_visible()
    page.get_by_role("tab", name="Sites × visits").click()
    page.wait_for_timeout(1500)  # let the charts finish drawing before the picture
    keep_screenshot(page, "chart.png", artifacts)
    assert page.get_by_test_id("stVegaLiteChart").count() >= 2
