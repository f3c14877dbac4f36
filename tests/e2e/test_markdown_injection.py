"""Free text carrying Markdown images and links, in a real browser (issue 14, finding 4): while the Patients,
Treatments and Audit trail screens show a patient whose id, name, reasons and descriptions are
`![x](http://127.0.0.1:PORT/img)` and `[Sign in here](http://127.0.0.1:PORT/signin)`, a listener on that loopback
port receives no request, and the texts are on the screen as typed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from playwright.sync_api import expect

from db.engine import write_session
from db.users import create_user
from tests.e2e.conftest import keep_screenshot, open_and_sign_in, wait_for_app
from tests.security.hostile import PASSWORD, Hostile, plant, shown_as


class Listener(ThreadingHTTPServer):
    """Records every request it receives (the path), answering each with a 1x1 nothing."""

    def __init__(self):
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server name
                listener.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_markdown_in_free_text_fetches_nothing(server, page, artifacts):
    listener = Listener()
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        hostile = Hostile(f"http://127.0.0.1:{listener.server_address[1]}")
        with write_session(server.engine) as session:
            create_user(session=session, actor="fixture", data={"username": "admin", "display_name": "Ada Admin",
                                                                "role": "admin", "password": PASSWORD})
        plant(server.engine, hostile)
        open_and_sign_in(page, server.url, "admin", PASSWORD)
        link = quote(hostile.patient, safe="")
        # Patients is the start page ("/"); each screen's own heading proves it is the one drawn
        for screen, heading, expected in (("", "Patients", hostile.patient), ("treatments", "Treatments", hostile.link),
                                          ("audit_trail", "Audit trail", hostile.image)):
            page.goto(f"{server.url}/{screen}?patient={link}")
            wait_for_app(page)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=30_000)
            # shown as typed (tables draw on a canvas: their cells are kept in the page for assistive technology)
            expect(page.get_by_test_id("stMain")).to_contain_text(shown_as(expected), timeout=30_000)
            keep_screenshot(page, f"{heading.lower().replace(' ', '-')}.png", artifacts)
        page.goto(f"{server.url}/treatments?patient={quote(hostile.link, safe='')}")  # unknown: the warning
        expect(page.get_by_test_id("stMain")).to_contain_text(shown_as(f"No patient '{hostile.link}'"),
                                                            timeout=30_000)
        live = page.locator(f'a[href^="{hostile.base}"], img[src^="{hostile.base}"]')
        assert live.count() == 0, live.evaluate_all("els => els.map(e => e.parentElement.outerHTML)")
        page.wait_for_timeout(500)
        assert listener.requests == [], f"the browser fetched {listener.requests}"
    finally:
        listener.shutdown()
        listener.server_close()
