"""Free text is never Markdown (issue 14, finding 4): a patient id, a name, a rater, a medication reason, a
correction or deletion reason, an event description, a display name and the `?patient=` of the address, each
carrying `![x](http://…)` and `[Sign in here](http://…)`, show literally on every screen of this test: no rendered
Markdown body (messages, headings, captions, widget labels) holds a live image or link."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tests.security.hostile import Hostile, literal, markdown_bodies, plant, unsafe

HOSTILE = Hostile("http://127.0.0.1:9")
slow = pytest.mark.slow  # each runs app pages in AppTest (3-5 s)


def run_page(page: str, *, role: str = "admin", patient: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = {"username": role, "display_name": f"Dr {role.title()}", "role": role,
                                "can_export_identified": role == "admin"}
    if patient is not None:
        at.session_state["patient_id"] = patient
    at.run()
    at.switch_page(page)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def check(at: AppTest, *must_show: str) -> list[tuple[str, str]]:
    bodies = markdown_bodies(at)
    live = [(kind, body) for kind, body in bodies if unsafe(body)]
    assert not live, f"Markdown that renders a link or image: {live}"
    shown = " ".join(literal(body) for _, body in bodies)
    for text in must_show:
        assert text in shown, f"{text!r} is not on the screen (the check would prove nothing)"
    return bodies


@pytest.fixture
def planted(with_demo):
    plant(with_demo, HOSTILE)
    return with_demo


def test_unescaped_markdown_is_detected():
    """The check itself: the raw texts are live Markdown, their as_text forms are not."""
    from ui.messages import as_text

    assert unsafe(HOSTILE.image) and unsafe(HOSTILE.link) and unsafe(f"see {HOSTILE.base}/x")
    assert not unsafe(as_text(HOSTILE.image)) and not unsafe(as_text(HOSTILE.link))
    assert literal(as_text(HOSTILE.link)) == HOSTILE.link
    # GitHub's autolink literals link an address even when its colon is escaped; as_text breaks them invisibly
    for address in ("see http://127.0.0.1:9/x", "www.example.org", "mail me@example.org"):
        assert unsafe(address) and not unsafe(as_text(address)) and literal(as_text(address)) == address
    assert unsafe("http\\://127.0.0.1:9/x")


@slow
def test_patients_screen_shows_the_hostile_patient_as_text(planted):
    at = run_page("pages/patients.py", patient=HOSTILE.patient)
    check(at, HOSTILE.patient)  # the patient's heading, the delete checkbox


@slow
def test_treatments_screen_shows_reasons_and_descriptions_as_text(planted):
    at = run_page("pages/treatments.py", role="staff", patient=HOSTILE.patient)
    check(at)  # the texts are in the tables and pickers (plain text), none in a Markdown body
    assert HOSTILE.link in at.dataframe[0].value["reason"].tolist()  # the corrected indication


@slow
def test_an_unknown_patient_from_the_address_is_shown_as_text(planted):
    at = run_page("pages/treatments.py", role="staff", query={"patient": HOSTILE.link})
    bodies = check(at, HOSTILE.link)
    assert any(kind == "warning" and "No patient" in body for kind, body in bodies), bodies


@slow
def test_audit_trail_shows_reasons_as_text(planted):
    at = run_page("pages/audit_trail.py")
    check(at, HOSTILE.image)  # the newest change's reason (the deletion's), under "Before and after"


@slow
def test_a_restore_names_the_hostile_patient_as_text(planted):
    at = run_page("pages/restore.py")
    check(at)
    next(box for box in at.selectbox if box.label == "Record to restore").set_value(HOSTILE.deleted_patient)
    next(box for box in at.text_input if box.label == "Reason for the restore").input(HOSTILE.link)
    next(button for button in at.button if button.label == "Restore").click()
    at.run()
    assert not at.exception
    check(at, f"Record {HOSTILE.deleted_patient} restored")


@slow
def test_users_account_backup_and_export_screens(planted):
    check(run_page("pages/users.py"))
    check(run_page("pages/account.py"))
    check(run_page("pages/backup.py"))
    check(run_page("pages/export.py"))
