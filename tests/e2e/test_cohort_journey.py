"""In a real browser: a trial coordinator filters the demo registry to imatinib-treated patients, reads the
summary and downloads the de-identified export, which holds none of the demo's names or MRNs."""

from __future__ import annotations

import csv
import io
import zipfile

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from demo import generate_registry, load_registry
from tests.e2e.conftest import SHOTS_DIR, open_and_sign_in, open_screen, wait_for_app

PASSWORD = "correct horse battery"


def test_coordinator_filters_to_imatinib_and_downloads_a_deidentified_export(server, page, artifacts):
    registry = generate_registry(12)
    engine = server.engine
    load_registry(engine, registry, actor="fixture")
    with write_session(engine) as session:
        create_user(session=session, actor="fixture", data={"username": "casey", "display_name": "Casey Coordinator",
                                                            "role": "coordinator", "password": PASSWORD})
    identifying = {row[key] for row in registry.patients for key in ("name", "mrn") if row[key]}
    assert "Ana Demo" in identifying and "D-100001" in identifying

    # The app scrolls inside its main block, so a picture of the whole screen needs a viewport that tall.
    page.set_viewport_size({"width": 1440, "height": 3400})
    open_and_sign_in(page, server.url, "casey", PASSWORD)
    open_screen(page, "Cohort")
    expect(page.get_by_text("Cohort definition")).to_be_visible(timeout=30_000)

    page.get_by_test_id("stSelectbox").filter(has_text="Drug exposure").click()
    page.get_by_role("option", name="imatinib, any dose").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Day 0").click()
    page.get_by_role("option", name="First start of imatinib").click()
    page.get_by_role("button", name="Apply").click()
    wait_for_app(page)
    expect(page.get_by_text("ever on imatinib").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Change at 12 months").first).to_be_visible()
    count = page.get_by_test_id("stMetric").filter(has_text="Patients in the cohort").get_by_test_id("stMetricValue")
    n_patients = int(count.inner_text())
    assert 2 <= n_patients < 12
    shown = {}  # window month -> n, read off the summary table as the coordinator sees it
    for row in page.get_by_test_id("stTable").locator("tbody tr").all():
        cells = [cell.inner_text().strip() for cell in row.locator("th, td").all()]
        if cells[0].startswith("Change at "):
            shown[int(cells[0].split()[2])] = int(cells[2])
    assert sorted(shown) == [3, 6, 12, 24] and sum(shown.values()) > 0
    page.wait_for_timeout(1500)  # let the charts finish drawing before the picture
    picture = page.screenshot(full_page=True)
    for folder in (SHOTS_DIR, artifacts, server.log.parent):  # the last survives a parallel run's clean-up
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cohort.png").write_bytes(picture)

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the cohort").click()
    saved = artifacts / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.exists() and saved.name == "skintrack-cohort-deidentified.zip"
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        assert "windows.csv" in names and "patients.csv" in names
        contents = {name: archive.read(name).decode("utf-8-sig") for name in names}
    for name, text in contents.items():
        leaked = [value for value in identifying if value in text]
        assert not leaked, f"{name} holds identifying values {leaked[:3]}"
    assert "DEMO-0001" not in contents["patients.csv"]  # pseudonyms, not the clinic's ids
    assert "S-" in contents["patients.csv"]
    windows = list(csv.DictReader(io.StringIO(contents["windows.csv"])))
    assert {int(row["month"]): int(row["n"]) for row in windows} == shown  # the file says what the screen said
    assert len(list(csv.DictReader(io.StringIO(contents["patients.csv"])))) == n_patients

    # A data-quality finding leads to the patient's chart; back on the cohort screen the filters still hold.
    page.get_by_role("tab", name="Incomplete assessments").click()
    page.get_by_role("button", name="Open chart").first.click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Patient chart")).to_be_visible(timeout=30_000)
    open_screen(page, "Cohort")
    expect(page.get_by_text("ever on imatinib").first).to_be_visible(timeout=30_000)
    assert int(count.inner_text()) == n_patients
