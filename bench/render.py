"""Figure 6: the patient chart screen rendered by Streamlit's AppTest (run in bench.child).

The app is pointed at the benchmark database through SKINTRACK_DATABASE_URL (set by the caller before
this module is imported); the session is signed in the way tests/app/conftest.py signed_in_app does
(session state seeded with an account that exists in the database), with the patient chosen in the
shared `patient_id` session key. One warm-up render (imports, engine, first Altair use) is not
counted. Each run then renders twice in a new session: "cold" right after st.cache_data.clear() (the
patient list and the patient's chart data read from the database, as on a first visit; this is the
figure) and "warm" (the same again with the caches filled, as on a rerun or a second visit).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/chart.py"


def _render_once(patient: str, user: dict, timeout: float, page: str) -> tuple[float, AppTest]:
    """One full script run (app.py, navigation, the page) of a new session opened on `page`."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["user"] = user
    at.session_state["patient_id"] = patient
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start, at


def _problems(at: AppTest) -> list[str]:
    found = [str(e.value)[:300] for e in at.exception]
    found += [f"error: {e.value}"[:300] for e in at.error]
    return found


def render_chart(patient: str, username: str, runs: int, timeout: float = 120, page: str = PAGE) -> dict:
    """Median-ready samples (seconds) of rendering the chart page for `patient`, and what it showed."""
    from db.engine import make_engine
    from db.users import get_user

    engine = make_engine()
    account = get_user(engine, username)
    engine.dispose()
    if account is None:
        raise SystemExit(f"no account {username!r} in the benchmark database")
    user = {key: account[key] for key in ("username", "display_name", "role", "can_export_identified")}
    warmup, at = _render_once(patient, user, timeout, page)
    problems = _problems(at)
    cold, warm = [], []
    for _ in range(max(1, runs)):
        st.cache_data.clear()
        seconds, at = _render_once(patient, user, timeout, page)
        cold.append(seconds)
        problems += _problems(at)
        seconds, at = _render_once(patient, user, timeout, page)
        warm.append(seconds)
        problems += _problems(at)
    charts = len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart"))
    if page == PAGE and charts == 0:
        problems.append("no chart was drawn (is the patient chosen the way the page expects?)")
    return {"samples": cold, "warm_samples": warm, "warmup_s": warmup, "charts": charts, "problems": problems[:5]}
