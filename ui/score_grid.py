"""Keyboard-first scoring of the 17 mRSS sites, laid out like a body (models.catalog.BODY_LAYOUT): face on top,
chest and abdomen in the middle, the arms and hands down each side, the legs and feet below — the patient's right
on the left of the screen, as the rater faces them.

One custom component (`st.components.v2`, mounted in the page itself, not in an iframe, so Tab flows through it
like through any field) draws the 17 sites. A digit 0-3 scores the focused site and moves to the next site in
catalogue order, Tab follows the same order, a click scores too. The scores stay in the browser while the rater
types and reach the server when the typing pauses or the focus leaves the grid; the component sits in an
`st.fragment` with the live total and the warnings, so such a sync reruns only that fragment (measured: see
`FRAGMENT_RUNS`), never the whole page, and a visit typed in one go costs one round trip instead of seventeen.

Why not seventeen `st.segmented_control`s in a fragment: every click would still be a server round trip before
the next site can be scored, digits cannot score a site, and Tab visits 68 buttons instead of 17 sites.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
from collections import deque
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from models.catalog import BODY_LAYOUT, SITE_CODES, SITE_SCORE_LABELS, SITES_BY_CODE

HERE = Path(__file__).resolve().parent
HEADINGS = ("Patient's right side", "Head and trunk", "Patient's left side")
SCORE_HELP = ("0 normal · 1 mild · 2 moderate · 3 severe thickening (the skin cannot be pinched into a fold). "
              "Type 0–3 on a site to score it and move on to the next; Tab moves between sites, Backspace clears "
              "one; or click a score (click it again to clear it).")
TIMING_VARIABLE = "SKINTRACK_LOG_TIMINGS"  # set to print each fragment run's server time to standard error
FRAGMENT_RUNS: deque[tuple[str, float]] = deque(maxlen=200)  # (fragment, milliseconds) of this process's runs

_grid = st.components.v2.component(
    "skintrack_score_grid",
    css=(HERE / "score_grid.css").read_text(encoding="utf-8"),
    js=(HERE / "score_grid.js").read_text(encoding="utf-8"),
)


def _positions() -> dict[str, tuple[int, int]]:
    return {code: (row, column) for row, codes in enumerate(BODY_LAYOUT) for column, code in enumerate(codes)
            if code is not None}


POSITIONS = _positions()


def _score(value) -> int | None:
    """A score sent by the browser: 0-3, or None for anything else (not scored)."""
    return value if type(value) is int and 0 <= value <= 3 else None


def grid_scores(key: str) -> dict[str, int | None]:
    """The scores held for the grid `key` (what the browser sent last, or what the form was filled with)."""
    held = st.session_state.get(key) or {}
    raw = held.get("scores") or {}
    return {code: _score(raw.get(code)) for code in SITE_CODES}


def score_grid(*, key: str, initial: dict[str, int | None], previous: dict[str, int | None] | None = None,
               flagged: tuple[str, ...] = ()) -> dict[str, int | None]:
    """Draw the grid; returns {site code: score or None} as held now. `initial`: the scores a new grid starts
    with (a saved visit's, or none); `previous`: the previous visit's score per site, shown beside it;
    `flagged`: sites to outline (a warning names them)."""
    previous = previous or {}
    current = grid_scores(key) if key in st.session_state else {c: _score(initial.get(c)) for c in SITE_CODES}
    data = {
        "token": "g" + hashlib.sha256(key.encode()).hexdigest()[:16],
        "headings": list(HEADINGS),
        "meanings": {str(score): meaning for score, meaning in SITE_SCORE_LABELS.items()},
        "sites": [{"code": code, "name": SITES_BY_CODE[code].display, "row": POSITIONS[code][0],
                   "column": POSITIONS[code][1], "before": previous.get(code)} for code in SITE_CODES],
        "scores": current,
        "flagged": list(flagged),
    }
    _grid(key=key, data=data, default={"scores": {c: _score(initial.get(c)) for c in SITE_CODES}},
          on_scores_change=lambda: None)
    return grid_scores(key)


def timed(name: str):
    """Decorator (under `@st.fragment`): record how long each run of a fragment takes on the server, as
    (name + " rerun" when only the fragment ran, milliseconds) in FRAGMENT_RUNS."""
    def wrap(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                context = get_script_run_ctx()
                kind = f"{name} rerun" if context is not None and context.fragment_ids_this_run else name
                FRAGMENT_RUNS.append((kind, elapsed))
                if os.environ.get(TIMING_VARIABLE):
                    print(f"skintrack-timing {kind} {elapsed:.1f} ms", file=sys.stderr, flush=True)
        return run
    return wrap
