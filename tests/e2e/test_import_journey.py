"""In a real browser: an administrator uploads a bundle, sees its problems as `file:line: column` rows with nothing
written, uploads the corrected files, checks them and imports."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from db.engine import write_session
from db.users import create_user
from models import Assessment, Patient
from tests.e2e.conftest import open_and_sign_in, open_screen, wait_for_app

PASSWORD = "correct horse battery"
PATIENTS = "patient_id,diagnosis,birth_year\nIMP-1,dcSSc,1970\nIMP-2,NSF,1962\n"
BAD_SCORES = "patient_id,visit_date,face,total\nIMP-1,2021-03-01,4,\nIMP-3,2021-03-01,,12\n"
GOOD_SCORES = "patient_id,visit_date,total\nIMP-1,2021-03-01,22\nIMP-2,2021-04-01,17.5\n"


def _count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def _upload(page, files: dict[str, str]) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [{"name": name, "mimeType": "text/csv", "buffer": text.encode()} for name, text in files.items()])
    wait_for_app(page)


def test_admin_checks_a_bundle_sees_the_report_then_imports(server, page, artifacts):
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "ada", "display_name": "Ada Admin",
                                                            "role": "admin", "password": PASSWORD})
    open_and_sign_in(page, server.url, "ada", PASSWORD)
    open_screen(page, "Import")
    expect(page.get_by_text("Import a bundle")).to_be_visible(timeout=30_000)

    _upload(page, {"patients.csv": PATIENTS, "skin_scores.csv": BAD_SCORES})
    page.get_by_role("button", name="Check the bundle (nothing is written)").click()
    wait_for_app(page)
    report = page.get_by_test_id("stDataFrame")
    expect(report).to_be_visible(timeout=30_000)
    expect(page.get_by_text("the bundle was rejected (2 problems); nothing was written")).to_be_visible()
    expect(page.get_by_role("button", name="Import now")).to_have_count(0)
    page.screenshot(path=str(artifacts / "1-rejected.png"), full_page=True)
    assert (_count(server.engine, Patient), _count(server.engine, Assessment)) == (0, 0)

    open_and_sign_in(page, server.url, "ada", PASSWORD)  # a fresh screen, as after fixing the files elsewhere
    open_screen(page, "Import")
    _upload(page, {"patients.csv": PATIENTS, "skin_scores.csv": GOOD_SCORES})
    page.get_by_role("button", name="Check the bundle (nothing is written)").click()
    wait_for_app(page)
    expect(page.get_by_text("The bundle is valid.")).to_be_visible(timeout=30_000)
    assert _count(server.engine, Patient) == 0  # the check writes nothing
    page.get_by_role("button", name="Import now").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="imported")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "2-imported.png"), full_page=True)
    assert (_count(server.engine, Patient), _count(server.engine, Assessment)) == (2, 2)
