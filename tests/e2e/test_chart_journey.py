"""In a real browser: a physician reads the charts of DEMO-0001 (a dose step), DEMO-0002 (the legs soften on
imatinib, the hands only after the injections) and DEMO-0038 (eight years of visits) on a desktop (1440 x 900)
and a tablet (1024 x 768), and prints the PDF report. Every screen and every PDF page is saved as a picture in
the test's output folder for review; at 1024 pixels the main column never scrolls sideways."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from demo import generate_registry, load_registry
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, open_screen, wait_for_app

PASSWORD = "correct horse battery"
PATIENTS = ("DEMO-0001", "DEMO-0002", "DEMO-0038")
SIZES = ((1440, 900), (1024, 768))
MAIN = '[data-testid="stMain"]'


def open_patient(page, patient_id: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").first.click()
    page.keyboard.type(patient_id)
    page.get_by_role("option", name=patient_id).first.click()
    wait_for_app(page)
    expect(page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first).to_be_attached(timeout=30_000)
    page.wait_for_timeout(1500)  # let every chart finish drawing before the picture


def click_download(page, label: str):
    """The file a download button gives. A rerun that lands between drawing the button and the click replaces the
    button's deferred file ("Deferred file … not found" in the server log, no download): the click is made again
    on the button the finished run drew, once."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in (1, 2):
        wait_for_app(page)
        try:
            with page.expect_download(timeout=90_000 if attempt == 1 else 120_000) as download:
                page.get_by_test_id("stDownloadButton").filter(has_text=label).click()
            return download.value
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def main_scroll(page) -> tuple[int, int]:
    """The main column's content width and visible width: equal when nothing overflows sideways."""
    return tuple(page.eval_on_selector(MAIN, "m => [m.scrollWidth, m.clientWidth]"))


def save_whole_screen(page, name: str, folder, width: int, height: int) -> None:
    """The first screen as the user sees it, and the whole page (the app scrolls inside its main column, so the
    whole page needs a viewport that tall)."""
    keep_screenshot(page, f"{name}.png", folder)
    full = page.eval_on_selector(MAIN, "m => m.scrollHeight")
    page.set_viewport_size({"width": width, "height": min(full + 40, 9000)})
    page.wait_for_timeout(1500)
    keep_screenshot(page, f"{name}-whole.png", folder)
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(500)


@pytest.fixture
def registry_with_physician(server):
    load_registry(server.engine, generate_registry(40), actor="fixture")
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "pat", "display_name": "Dr Physician",
                                                            "role": "physician", "password": PASSWORD})
    return server


def test_physician_reads_three_charts_on_desktop_and_tablet_and_prints_the_report(registry_with_physician, page,
                                                                                   artifacts):
    server = registry_with_physician
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        open_and_sign_in(page, server.url, "pat", PASSWORD)
        open_screen(page, "Patient chart")
        for patient_id in PATIENTS:
            open_patient(page, patient_id)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            if patient_id == "DEMO-0002":
                # The first screen tells the story in words, above the picture of the sites that moved.
                expect(page.get_by_text("What changed after each treatment change")).to_be_in_viewport()
                expect(page.get_by_text(re.compile(r"forearms, thighs, lower legs and feet −1 each"))).to_be_visible()
                expect(page.get_by_text(re.compile(r"hands and fingers −2 each"))).to_be_visible()
            if patient_id == "DEMO-0001":  # the ACR CRISS card of an improver on imatinib, below the charts
                card = page.get_by_text("Improved (probability ≥ 0.60)")
                card.scroll_into_view_if_needed()
                expect(card).to_be_visible()
                expect(page.get_by_text("Baseline 2023-01-10 → follow-up 2024-01-10")).to_be_visible()
                page.get_by_test_id("stMain").evaluate("m => m.scrollTo(0, 0)")
            for label in ("PNG", "SVG"):  # buttons keep their words at any width
                button = page.get_by_test_id("stDownloadButton").filter(has_text=label).first
                expect(button).to_have_text(re.compile(rf"{label}$"))
            save_whole_screen(page, f"{patient_id}-{width}x{height}", artifacts, width, height)
            scroll_width, client_width = main_scroll(page)
            assert scroll_width <= client_width, (patient_id, width, scroll_width, client_width)
            # no chart wider than its column (measured in one pass: a previous patient's extra chart, e.g. the
            # activity index, may still be leaving the page)
            column = page.locator(MAIN).bounding_box()
            rights = page.eval_on_selector_all('[data-testid="stVegaLiteChart"]',
                                               "charts => charts.map(c => c.getBoundingClientRect().right)")
            for index, right in enumerate(rights):
                assert right <= column["x"] + column["width"] + 1, (patient_id, index)
        page.context.clear_cookies()

    # The PDF report, each page kept as a picture.
    page.set_viewport_size({"width": 1440, "height": 900})
    open_and_sign_in(page, server.url, "pat", PASSWORD)
    open_screen(page, "Patient chart")
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm not found: apt-get install -y poppler-utils"
    for patient_id in PATIENTS:
        open_patient(page, patient_id)
        pdf = artifacts / f"{patient_id}-report.pdf"
        click_download(page, "PDF report for the patient file").save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
        subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(artifacts / f"{patient_id}-report-page")],
                       check=True, timeout=120)
        pages = sorted(artifacts.glob(f"{patient_id}-report-page*.png"))
        assert 2 <= len(pages) <= 3, (patient_id, len(pages))
