"""Forms belong to one record: the widget state of every form is scoped to the screen, the action, the patient,
the record it edits and the version that record was read at.

Streamlit keeps a widget's value under its key for as long as the widget is drawn, whatever its `value=` says.
A form keyed only by its action ("dose_new") therefore carries what was typed for one patient over to the next,
and a form opened before a write keeps showing what the record was before it (a correction that undoes a stop).
`form_scope` files a form's widgets under one key prefix per (screen, action, patient, record), so that:

- switching patient, record or action gives a fresh form, filled from the database (the prefix changes and the
  widgets of the previous prefix are dropped);
- after any write the version moves on and every form of that record (until records carry versions of their
  own: of that patient, whose `data_version` every write bumps) is filled again from the database;
- a form submitted with values read at an older version is refused ("changed since you opened it"), nothing is
  written, and the form shows the current values. With versioned writes the page also hands
  `scope.opened_version` to db/ as `expected_version=`, which closes the gap between this check and the commit.

    scope = form_scope("treatments", "change_dose", patient=patient_id, record=period_id,
                       version=patient_version(engine, patient_id))
    with st.form(scope.key("form")):
        dose = st.number_input("New dose", key=scope.key("dose"), value=None)
        if st.form_submit_button("Change dose", key=scope.submit_key) and not scope.stale:
            ...write...

A form that creates a record passes `record="new"` and no version: a write elsewhere must not wipe what is being
typed, and there is nothing older to overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from db.engine import write_session
from models.errors import SkintrackError
from ui.messages import NO_LABELS, Labels, flash, show_error
from ui.state import actor, get_engine

SUBMIT = "submit"


def scope_key(screen: str, action: str, patient: object = None, record: object = None, name: str = "") -> str:
    """The session-state key of widget `name` of a form (tests find widgets by it)."""
    base = f"{screen}:{action}:{'' if patient is None else patient}:{'' if record is None else record}"
    return f"{base}:{name}" if name else base


@dataclass(frozen=True)
class FormScope:
    base: str
    version: int | None  # the record's version now
    opened_version: int | None  # the version the values on the form were read at (expected_version= of a write)
    stale: bool  # submitted with values read at another version: refused, and the form is filled again

    def key(self, name: str) -> str:
        return f"{self.base}:{name}"

    @property
    def submit_key(self) -> str:
        return self.key(SUBMIT)


def _drop(prefix: str) -> None:
    for key in [k for k in st.session_state.keys() if str(k).startswith(prefix)]:
        del st.session_state[key]


def form_scope(screen: str, action: str, *, patient: object = None, record: object = None,
               version: int | None = None, what: str = "This record", submit: str = SUBMIT) -> FormScope:
    """Scope one form (see the module's docstring). Call it where the form is drawn, before its widgets.

    When a submission arrives for values read at an older version, a warning naming `what` is shown here and
    `stale` is True: the page must not write."""
    base = scope_key(screen, action, patient, record)
    slot = f"form-scope:{screen}:{action}"
    opened_key = f"form-opened:{base}"
    previous = st.session_state.get(slot)
    if previous is not None and previous != base:  # another patient, record or action: forget the old form
        _drop(previous + ":")
        st.session_state.pop(f"form-opened:{previous}", None)
    st.session_state[slot] = base

    submitted = bool(st.session_state.get(f"{base}:{submit}"))
    opened = st.session_state.get(opened_key, version)
    stale = False
    if opened != version:  # written since the form was filled: fill it again from the database
        stale = submitted
        _drop(base + ":")
    st.session_state[opened_key] = version
    if stale:
        st.warning(f"{what} changed since this form was opened (someone saved a change meanwhile): nothing was "
                   "saved. The form now shows the current values; enter your change again if it is still needed.",
                   icon=":material/sync_problem:")
    return FormScope(base=base, version=version, opened_version=opened, stale=stale)


def write_and_rerun(write, *, done: str, labels: Labels = NO_LABELS, prefix: str = "Not saved",
                    scope: FormScope | None = None, **arguments) -> None:
    """Run one db/ write path (`write(session=…, actor=…, **arguments)`) in its own transaction as the signed-in
    user. On success flash `done`, empty the form of `scope` and rerun: the patient's version has moved on, so
    every form of the patient is filled again from the database. On a refusal show every problem by its label
    on this form; what was typed stays on the screen and nothing is written. A `scope` that is stale writes
    nothing (its warning is shown by `form_scope`)."""
    if scope is not None and scope.stale:
        return
    try:
        with write_session(get_engine()) as session:
            write(session=session, actor=actor(), **arguments)
    except SkintrackError as error:
        show_error(error, prefix=prefix, labels=labels)
        return
    if scope is not None:
        _drop(scope.base + ":")
    flash("success", done)
    st.rerun()
