"""The app serves its first-run screen in a real browser."""

from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app


def test_first_screen_offers_the_administrator_account_and_demo(server, page, artifacts):
    page.goto(server.url)
    wait_for_app(page)
    expect(page.get_by_text("Welcome to Skintrack")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Also load the demo registry")).to_be_visible()
    page.screenshot(path=str(artifacts / "first-run.png"), full_page=True)
