"""Sessions that survive a reload: how a browser stays signed in across F5 and new tabs, and stops at once.

Streamlit forgets everything on a reload (a new websocket is a new session). So that a reload or a second tab
within the idle limit carries on, the browser keeps a random token in a cookie, and the server a row per signed-in
browser (db/browser_sessions.py) with the token's SHA-256, when it was last active and whether it has ended.

- The cookie is **HttpOnly** (no script in the page can read it), **SameSite=Strict** (never sent by another
  site), **Secure** behind HTTPS, and lives until the browser closes. Streamlit code cannot set such a cookie, so
  app.py serves one small route beside Streamlit (`st.App`): right after signing in, the page posts a one-time
  grant (random, valid for two minutes, usable once, same-origin requests only) to `ROUTE`, which answers with
  the cookie. The token itself never reaches the page's JavaScript, the address or a log.
- A new Streamlit session reads the cookie (`st.context.cookies`) and resumes only a session that has not ended,
  was active within `SKINTRACK_SESSION_IDLE_MINUTES` (in any of its tabs) and belongs to an active account; the
  role is then re-read as on every page run.
- Sign-out, the idle limit, deactivation and a password change end the row, so the cookie opens nothing any more
  (other tabs of the browser are signed out at their next page run); the cookie is cleared as well.
- The screen and the patient are in the address (`/chart?patient=DEMO-0002`), not in the session: a shared link
  carries no session and still asks for sign-in and the role check.
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.browser_sessions import redeem_grant
from db.engine import database_url, make_engine

COOKIE = "skintrack_session"
ROUTE = "/skintrack/session"
GRANT_KEY = "browser_session_grant"  # session state: a grant to hand to the page on this run
CLEAR_KEY = "browser_session_clear"  # session state: the cookie is to be cleared on this run

_cookie_component = st.components.v2.component("skintrack_session_cookie", js="""
export default function ({ data }) {
  // Each grant is posted once; a clear is sent once per sign-out.
  const done = (window.__skintrackSession = window.__skintrackSession || {});
  const what = data.action === "set" ? "set:" + data.grant : data.action === "clear" ? "clear:" + data.nonce : "";
  if (!what || done[what]) return;
  done[what] = true;
  fetch(data.route, {
    method: data.action === "set" ? "POST" : "DELETE",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: data.action === "set" ? JSON.stringify({ grant: data.grant }) : undefined,
  }).catch(() => {});
}
""")


def cookie_token() -> str:
    """The token of this browser's session cookie ('' when there is none)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request behind this run (bare scripts, AppTest): no cookie
        return ""
    return value if isinstance(value, str) else ""


def hand_over_cookie() -> None:
    """On the run after a sign-in, let the page exchange its grant for the cookie; after a sign-out, clear it."""
    grant = st.session_state.pop(GRANT_KEY, None)
    nonce = st.session_state.pop(CLEAR_KEY, None)
    if not grant and not nonce:
        return
    data = {"route": ROUTE, "action": "set" if grant else "clear", "grant": grant or "", "nonce": nonce or ""}
    _cookie_component(key="browser_session_cookie", data=data, height="content")


# --- the route app.py serves beside Streamlit --------------------------------------------------------------


@functools.cache
def _engine(url: str):
    return make_engine(url)


def _same_origin(request: Request) -> bool:
    """A request sent by a page of this server (CSRF): its Origin names this host."""
    origin = request.headers.get("origin", "")
    return bool(origin) and urlparse(origin).netloc == request.headers.get("host", "")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


async def session_cookie(request: Request) -> Response:
    """POST {"grant": …}: the cookie of a freshly signed-in browser. DELETE: clear it (after a sign-out)."""
    if not _same_origin(request):
        return Response("cross-site request refused", status_code=403)
    response = Response(status_code=204)
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict")
        return response
    try:
        payload = await request.json()
        grant = str(payload.get("grant", "")) if isinstance(payload, dict) else ""
    except ValueError:
        grant = ""
    token = await run_in_threadpool(redeem_grant, _engine(database_url()), grant[:200])
    if token is None:
        return Response("no such grant, or it was used or is too old: sign in again", status_code=403)
    response.set_cookie(COOKIE, token, path="/", secure=_secure(request), httponly=True, samesite="strict")
    return response


ROUTES = [Route(ROUTE, session_cookie, methods=["POST", "DELETE"])]
