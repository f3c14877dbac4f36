"""How the app talks to the user: every problem names its field by the label the user sees on the screen, user
text is shown as text, and a message that must survive an `st.rerun` is flashed once.

One mechanism for every form: the form declares a `Labels` (field code -> on-screen label) and hands it to
`show_error`. The models name fields by their code (`end_date`, `sites`) because the same rules serve the CSV
import, where the code *is* the column the user sees; on a form the label is what the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import streamlit as st

from models.errors import ReasonRequired, SkintrackError

# What makes Markdown out of text on one line: emphasis, code, links and images ([ ]), autolinks and raw HTML
# (< >, and "http:" — the colon), Streamlit's :directives: and :material/icons:, LaTeX ($), tables (|), headings.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>$:~|#])")
# GitHub's autolink literals (remark-gfm, in the browser) link `http://…`, `www.…` and `name@host.org` in the text
# *after* the escapes are read, so `http\:` is linked all the same. An invisible WORD JOINER (U+2060) after the
# scheme, after `www` and after `@` breaks the pattern; the text reads the same.
_AUTOLINK_STARTS = re.compile(r"(?i)((?:https?|ftp|mailto)(?=:)|www(?=\.)|(?<=\w)@)")
WORD_JOINER = "\u2060"


def as_text(value: object) -> str:
    """`value` as literal text inside a Markdown message: a rater, a patient id or a reason typed as
    `![x](http://…)`, `[Sign in here](http://…)` or `:red[…]` shows those characters and is never rendered as an
    image, a link (an address in the text is not linked either) or a directive."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIALS.sub(r"\\\1", _AUTOLINK_STARTS.sub(r"\1" + WORD_JOINER, text))


@dataclass(frozen=True)
class Labels:
    """The on-screen labels of one form's fields.

    `fields`: field code (as the models and db/ name it) -> the label on the screen.
    `audit_reason`: the label of the field that says *why* a correction or deletion is made (db/ names it
    `reason`, which on some forms is also a data field, e.g. a medication's indication).
    `wording`: phrases of model messages written for bundle files, and the words this form uses instead.
    """

    fields: Mapping[str, str]
    audit_reason: str = "Reason"
    wording: Mapping[str, str] = field(default_factory=dict)

    def label(self, problem: SkintrackError) -> str:
        if isinstance(problem, ReasonRequired):
            return self.audit_reason
        code = problem.field or ""
        if code in self.fields:
            return self.fields[code]
        return code.replace("_", " ")  # a form without a label for this field: the code, readable

    def reason(self, problem: SkintrackError) -> str:
        text = problem.reason
        for phrase, instead in self.wording.items():
            text = text.replace(phrase, instead)
        return text


NO_LABELS = Labels({})


def problem_lines(error: SkintrackError, labels: Labels = NO_LABELS) -> list[str]:
    """One line per problem: the on-screen label in bold, then the reason (as text)."""
    lines = []
    for problem in error.problems or [error]:
        label = labels.label(problem)
        reason = as_text(labels.reason(problem))
        lines.append(f"**{as_text(label)}**: {reason}" if label else reason)
    return lines


def show_error(error: SkintrackError, *, prefix: str = "Not saved", labels: Labels = NO_LABELS) -> None:
    """Every problem of `error`, each naming its field by its label on this form; never a traceback."""
    lines = problem_lines(error, labels)
    if len(lines) == 1:
        st.error(f"{prefix}: {lines[0]}", icon=":material/error:")
    else:
        listed = "\n".join(f"- {line}" for line in lines)
        st.error(f"{prefix} — {len(lines)} problems:\n{listed}", icon=":material/error:")


def flash(kind: str, message: str) -> None:
    """A message ("success", "info", "warning" or "error") to show once, under the title of the next page run:
    a save ends with `st.rerun()`, which would otherwise swallow it. `message` is Markdown written by the app;
    put user text through `as_text`."""
    st.session_state["flash"] = (kind, message)


def show_flash() -> None:
    """Show the pending flash message, once."""
    pending = st.session_state.get("flash")
    if pending:
        kind, message = pending
        getattr(st, kind)(message)
        st.session_state["flash"] = None


def title(text: str) -> None:
    """The page title, with the message flashed by the previous run (e.g. "Saved: …") right under it."""
    st.title(text)
    show_flash()
