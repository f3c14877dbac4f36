"""How domain errors reach the user: every problem, each naming its field, never a traceback."""

from __future__ import annotations

import streamlit as st

from models.errors import SkintrackError


def show_error(error: SkintrackError, *, prefix: str = "Not saved") -> None:
    problems = error.problems or [error]
    if len(problems) == 1:
        st.error(f"{prefix}: {_line(problems[0])}", icon=":material/error:")
    else:
        lines = "\n".join(f"- {_line(p)}" for p in problems)
        st.error(f"{prefix} — {len(problems)} problems:\n{lines}", icon=":material/error:")


def _line(problem: SkintrackError) -> str:
    field = problem.field.replace("_", " ") if problem.field else ""
    return f"**{field}**: {problem.reason}" if field else problem.reason
