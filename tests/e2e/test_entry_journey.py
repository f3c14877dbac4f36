"""In a real browser: a new staff member adds a patient, then enters a full 17-site visit from the keyboard (a digit
per site moves on to the next site in catalogue order), with a rater and two measures, sees the live total, saves,
and finds the visit in the patient list.

Every click and keystroke after choosing the patient is counted (issue 13: ≤ 40 keystrokes and ≤ 25 clicks for a
full visit with a rater and two measures), and so is the server: the score grid syncs with the server when the
typing pauses, rerunning only its fragment, each run within 300 ms of server time (read from the server log)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from db.visits import load_assessment_rows
from models.catalog import SITE_CODES, SITES_BY_CODE
from tests.e2e.conftest import fragment_timings, keep_screenshot, open_and_sign_in, open_screen, wait_for_app

PASSWORD = "correct horse battery"
SCORES = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 0), strict=True))  # 30
MAX_KEYSTROKES = 40
MAX_CLICKS = 25
MAX_SERVER_MS = 300
FOCUSED_SITE = """() => {
  let active = document.activeElement;
  while (active && active.shadowRoot && active.shadowRoot.activeElement) active = active.shadowRoot.activeElement;
  const group = active && active.closest && active.closest('[role=radiogroup]');
  return group ? group.dataset.code : null;
}"""


class Counter:
    """Clicks and keystrokes made on the user's behalf."""

    def __init__(self, page):
        self.page, self.clicks, self.keystrokes = page, 0, 0

    def click(self, locator):
        locator.click()
        self.clicks += 1

    def type(self, text: str, delay: float = 0):
        self.page.keyboard.type(text, delay=delay)
        self.keystrokes += len(text)

    def press(self, key: str):
        self.page.keyboard.press(key)
        self.keystrokes += 1


def site_score(page, code, score):
    """The 0-3 choice of one site, found as a user would: the radio group named after the site."""
    group = page.get_by_role("radiogroup", name=SITES_BY_CODE[code].display, exact=False)
    return group.get_by_role("radio", name=str(score), exact=True)


def test_new_user_adds_a_patient_and_enters_a_full_visit_from_the_keyboard(server, page, artifacts):
    with write_session(server.engine) as session:
        create_user(session=session, actor="fixture", data={"username": "nina", "display_name": "Nina Nurse",
                                                            "role": "staff", "password": PASSWORD})
    page.set_viewport_size({"width": 1440, "height": 2000})
    open_and_sign_in(page, server.url, "nina", PASSWORD)
    open_screen(page, "Patients")
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
    assert "patient=E2E-001" in page.url  # the patient is in the address

    # Tab visits the sites in the catalogue's order (face, chest, abdomen, upper arm R, ...), whatever the layout.
    site_score(page, "face", 0).focus()
    visited = [page.evaluate(FOCUSED_SITE)]
    for _ in range(4):
        page.keyboard.press("Tab")
        visited.append(page.evaluate(FOCUSED_SITE))
    assert visited == list(SITE_CODES[:5])
    assert page.get_by_text("Total mRSS (0 of 17 sites)").is_visible()  # focus alone scores nothing

    # The patient is chosen: from here every click and keystroke counts.
    user = Counter(page)
    user.click(page.get_by_test_id("stSelectbox").filter(has_text="Rater"))
    user.type("Nina Nurse")
    user.press("Enter")
    wait_for_app(page)
    runs_before = len(fragment_timings(server, "score panel rerun"))
    codes = list(SCORES)
    user.click(site_score(page, codes[0], SCORES[codes[0]]))  # the first site by click, the rest by digits
    user.type("".join(str(SCORES[code]) for code in codes[1:]), delay=40)
    typed_at = time.perf_counter()
    expect(page.get_by_text("30 / 51")).to_be_visible(timeout=30_000)
    total_after = time.perf_counter() - typed_at
    expect(page.get_by_text("Total mRSS (17 of 17 sites)")).to_be_visible()
    keep_screenshot(page, "entry.png", artifacts)

    user.click(page.get_by_role("tab", name="Measures (optional)"))
    wait_for_app(page)
    user.click(page.get_by_label("R", exact=True).first)  # finger-to-palm distance, right
    user.type("4")
    user.click(page.get_by_label("L", exact=True).first)  # and left
    user.type("5")
    user.press("Tab")  # leaves the field so the value is committed
    wait_for_app(page)
    user.click(page.get_by_role("button", name="Save visit"))
    wait_for_app(page)
    expect(page.get_by_text("Saved: E2E-001")).to_be_visible(timeout=30_000)

    syncs = fragment_timings(server, "score panel rerun")[runs_before:]
    print(f"\nfull visit: {user.keystrokes} keystrokes, {user.clicks} clicks; score grid synced {len(syncs)} times "
          f"(server ms: {', '.join(f'{ms:.1f}' for ms in syncs)}); total shown {total_after * 1000:.0f} ms after "
          "the last digit")
    assert user.keystrokes <= MAX_KEYSTROKES and user.clicks <= MAX_CLICKS, (user.keystrokes, user.clicks)
    assert syncs and max(syncs) <= MAX_SERVER_MS, syncs
    assert len(syncs) < len(SITE_CODES) // 2, f"{len(syncs)} server round trips for 17 sites"

    rows = load_assessment_rows(server.engine, "E2E-001")
    assert len(rows) == 1 and rows.iloc[0]["total"] == 30 and rows.iloc[0]["rater"] == "Nina Nurse"
    assert {code: int(rows.iloc[0][code]) for code in SITE_CODES} == SCORES
    open_screen(page, "Patients")
    expect(page.get_by_text("latest mRSS 30", exact=False)).to_be_visible(timeout=30_000)  # the visit is listed
    expect(page.get_by_test_id("stException")).to_have_count(0)
