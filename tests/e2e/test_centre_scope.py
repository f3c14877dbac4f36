"""In a real browser (issue 16): a physician of centre A cannot reach a patient of centre B by the picker, by the
address or through the cohort and export screens (which are not theirs); a coordinator of centre A sees only A's
patients on the cohort and in the export. The Centres and Users screens are photographed at 1440 x 900."""

from __future__ import annotations

import csv
import io
import zipfile

from playwright.sync_api import expect

from db.centres import add_centre, centre_keys, set_user_centres
from db.engine import write_session
from db.patients import create_patient
from db.users import create_user
from db.visits import record_assessment
from tests import factories
from tests.e2e.conftest import SHOTS_DIR, main_text, open_and_sign_in, open_screen, wait_for_app

PASSWORD = "correct horse battery"
REFUSAL = "Your role does not give access to this screen"


def registry(server) -> None:
    """Centres AMS and LYO; PA-1 at AMS, PB-1 and PB-2 at LYO, each with a scored visit; a physician and a
    coordinator of AMS, an administrator of every centre."""
    engine = server.engine
    with write_session(engine) as session:
        add_centre(session=session, data={"code": "AMS", "name": "Amsterdam UMC", "country": "NL"}, actor="fixture")
        add_centre(session=session, data={"code": "LYO", "name": "Hospices Civils de Lyon", "country": "FR"},
                   actor="fixture")
    keys = centre_keys(engine, ["AMS", "LYO"])
    with write_session(engine) as session:
        for patient_id, centre in (("PA-1", "AMS"), ("PB-1", "LYO"), ("PB-2", "LYO")):
            create_patient(session=session, actor="fixture", data=factories.patient(
                patient_id=patient_id, centre_key=keys[centre], name=f"Name of {patient_id}"))
            record_assessment(session=session, actor="fixture", data=factories.assessment(patient_id=patient_id))
    with write_session(engine) as session:
        for username, display, role in (("pat", "Dr Pat Physician", "physician"), ("cora", "Cora Coordinator",
                                                                                   "coordinator"),
                                        ("root", "Dr Root", "admin")):
            create_user(session=session, actor="fixture", data={"username": username, "display_name": display,
                                                                "role": role, "password": PASSWORD,
                                                                "can_export_identified": role == "admin"})
            if role != "admin":
                set_user_centres(session=session, username=username, all_centres=False, centres={"AMS": False},
                                 actor="fixture")


def exported_files(page, artifacts, download_button: str) -> dict[str, str]:
    """Prepare the export on the Export screen, download it and return its CSV files' texts by name."""
    page.get_by_role("button", name="Prepare the export").click()
    wait_for_app(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=download_button).click()
    saved = artifacts / download.value.suggested_filename
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        return {name: archive.read(name).decode("utf-8-sig", errors="replace") for name in archive.namelist()
                if name.endswith(".csv")}


def picker_options(page) -> list[str]:
    page.get_by_test_id("stSelectbox").filter(has_text="Patient").first.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=10_000)
    texts = [option.inner_text() for option in options.all()]
    page.keyboard.press("Escape")
    return texts


def open_url(page, url: str) -> str:
    """Open `url` and return the screen's text once its title is drawn."""
    page.goto(url)
    wait_for_app(page)
    expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    return main_text(page)


def test_a_physician_of_centre_a_cannot_reach_a_centre_b_patient(server, page, artifacts):
    registry(server)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_and_sign_in(page, server.url, "pat", PASSWORD)
    expect(page.get_by_text("Signed in as Dr Pat Physician (physician) · AMS")).to_be_visible(timeout=30_000)

    # the picker offers A's patient only; typing B's id finds nothing
    open_screen(page, "Patient chart")
    assert [text.split(" · ")[0] for text in picker_options(page)] == ["PA-1"]
    page.get_by_role("combobox", name="Patient").fill("PB-1")
    page.wait_for_timeout(300)
    assert not [o.inner_text() for o in page.get_by_role("option").all() if "PB" in o.inner_text()]
    page.keyboard.press("Escape")

    # B's patient in the address reads exactly as a patient that does not exist
    seen = {}
    for patient_id in ("PB-1", "NOPE-9"):
        text = open_url(page, f"{server.url}/chart?patient={patient_id}")
        expect(page.get_by_text(f"No patient '{patient_id}'")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Choose a patient above")).to_be_visible()  # the chart shows nobody
        assert "Name of PB-1" not in text and "Baseline mRSS" not in text
        seen[patient_id] = [alert.replace(patient_id, "<id>")
                            for alert in page.get_by_test_id("stAlert").all_inner_texts()]
    assert seen["PB-1"] == seen["NOPE-9"] and len(seen["PB-1"]) == 2  # the picker's warning, the chart's hint
    page.screenshot(path=str(artifacts / "1-physician-url-of-centre-b.png"))
    for screen in ("patients", "visit_entry", "treatments"):
        text = open_url(page, f"{server.url}/{screen}?patient=PB-1")
        assert "PB-1" not in text.replace("No patient 'PB-1'", ""), screen
        assert "Name of PB-1" not in text

    # the cohort and export screens are not the physician's
    for screen in ("cohort", "export"):
        text = open_url(page, f"{server.url}/{screen}")
        assert REFUSAL in text, screen
        assert "PB-1" not in text and "Patients in the cohort" not in text


def test_a_coordinator_of_centre_a_sees_only_a_s_patients_on_cohort_and_export(server, page, artifacts):
    registry(server)
    page.set_viewport_size({"width": 1440, "height": 1400})
    open_and_sign_in(page, server.url, "cora", PASSWORD)
    open_screen(page, "Export")
    files = exported_files(page, artifacts, "Download skintrack-")
    patients = list(csv.DictReader(io.StringIO(files["patients.csv"])))
    everything = " ".join(files.values())
    assert len(patients) == 1 and patients[0].get("centre", "AMS") == "AMS"
    assert "PB-" not in everything and "Name of PB" not in everything

    open_screen(page, "Patient chart")
    assert [text.split(" · ")[0] for text in picker_options(page)] == ["PA-1"]

    open_screen(page, "Cohort")
    count = page.get_by_test_id("stMetric").filter(has_text="Patients in the cohort").get_by_test_id("stMetricValue")
    expect(count).to_have_text("1", timeout=30_000)
    page.screenshot(path=str(artifacts / "1-coordinator-cohort.png"))


def test_centres_and_users_screens(server, page, artifacts):
    """The administrator's screens, photographed for review (and for README's pictures, docs/)."""
    registry(server)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_and_sign_in(page, server.url, "root", PASSWORD)
    open_screen(page, "Centres")
    expect(page.get_by_role("heading", name="Centres")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    page.wait_for_timeout(800)  # the grid draws on a canvas after its frame
    page.screenshot(path=str(artifacts / "centres.png"))
    (SHOTS_DIR / "centres.png").write_bytes((artifacts / "centres.png").read_bytes())

    page.get_by_role("tab", name="Change a centre").click()
    wait_for_app(page)
    page.screenshot(path=str(artifacts / "centres-change.png"))

    open_screen(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Change an account").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Account").first.click()
    page.get_by_role("option", name="cora").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stRadio").get_by_text("Sees the patients of")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "users.png"))
    page.get_by_test_id("stRadio").get_by_text("Sees the patients of").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "users-centres.png"))
    (SHOTS_DIR / "users-centres.png").write_bytes((artifacts / "users-centres.png").read_bytes())


def test_an_administrator_exports_one_centre_identified(server, page, artifacts):
    """The Export screen's centre choice: the administrator of every centre exports Lyon alone, identified."""
    registry(server)
    page.set_viewport_size({"width": 1024, "height": 768})
    open_and_sign_in(page, server.url, "root", PASSWORD)
    open_screen(page, "Export")
    page.get_by_test_id("stMultiSelect").filter(has_text="Centres").click()
    page.get_by_role("option", name="LYO · Hospices Civils de Lyon").click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    page.get_by_test_id("stCheckbox").filter(has_text="De-identified").click()  # a toggle is a checkbox
    wait_for_app(page)
    expect(page.get_by_text("This export holds names")).to_be_visible(timeout=10_000)
    page.screenshot(path=str(artifacts / "export-centres.png"))
    patients = list(csv.DictReader(io.StringIO(exported_files(page, artifacts, "Download skintrack-identified-")[
        "patients.csv"])))
    assert sorted((p["patient_id"], p["centre"], p["name"]) for p in patients) == [
        ("PB-1", "LYO", "Name of PB-1"), ("PB-2", "LYO", "Name of PB-2")]
