"""Forms belong to one record: the widget state of every form is scoped to the screen, the action, the patient,
the record it edits and the version that record was read at.

Streamlit keeps a widget's value under its key — on the server *and* in the browser — for as long as the widget is
drawn, whatever its `value=` says. A form keyed only by its action ("dose_new") therefore carries what was typed
for one patient over to the next, and a form opened before a write keeps showing what the record was before it (a
correction that undoes a stop). `form_scope` gives a form's widgets keys made of the screen, the action, the
patient, the record, the record's version and a generation, so that:

- switching patient, record or action gives fresh widgets, filled from the database (the old ones are dropped);
- after any write the version moves on, and every form of that record (until records carry versions of their
  own: of that patient, whose `data_version` every write bumps) is drawn afresh from the database; after the
  form's own successful save the generation moves on too, so even a form that creates records starts empty;
- a form submitted with values read at an older version is refused ("changed since you opened it"), nothing is
  written, and the form shows the current values. With versioned writes the page also hands
  `scope.opened_version` to db/ as `expected_version=`, which closes the gap between this check and the commit;
- a form whose widgets send every change to the server (no `st.form`: the visit entry) is drawn afresh at the first
  rerun after a write from elsewhere, submitted or not; with `warn_on_refresh=True` it says so, since what was typed
  on it is gone (a correction typed, then a reason, must not silently lose the typed change).

    scope = form_scope("treatments", "change_dose", patient=patient_id, record=period_id,
                       version=patient_version(engine, patient_id))
    with st.form(scope.key("form")):
        dose = st.number_input("New dose", key=scope.key("dose"), value=None)
        if st.form_submit_button("Change dose", key=scope.submit_key) and not scope.stale:
            write_and_rerun(change_dose, scope=scope, ...)

A form that creates a record passes `record="new"` and no version: a write elsewhere must not wipe what is being
typed, and there is nothing older to overwrite. One form per (screen, action) is drawn per run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from db.engine import write_session
from models.errors import SkintrackError
from ui.messages import NO_LABELS, Labels, flash, show_error
from ui.state import actor, get_engine

SUBMIT = "submit"


def scope_key(screen: str, action: str, patient: object = None, record: object = None) -> str:
    """Which form: the (screen, action, patient, record) a form belongs to, whatever its version."""
    return f"{screen}:{action}:{'' if patient is None else patient}:{'' if record is None else record}"


def _slot(screen: str, action: str) -> str:
    return f"form-scope:{screen}:{action}"


@dataclass(frozen=True)
class FormScope:
    identity: str  # scope_key(...): the form's record
    version: int | None  # the record's version now
    generation: int  # moves on after each successful save of this form
    opened_version: int | None  # the version the values on the form were read at (expected_version= of a write)
    stale: bool  # submitted with values read at another version: refused, and the form is filled again
    saved: bool = False  # started afresh by its own save (start_afresh): drawn again without a warning

    @property
    def base(self) -> str:
        return f"{self.identity}@{'' if self.version is None else self.version}/{self.generation}"

    def key(self, name: str) -> str:
        return f"{self.base}:{name}"

    @property
    def submit_key(self) -> str:
        return self.key(SUBMIT)


def _drop(prefix: str) -> None:
    for key in [k for k in st.session_state.keys() if str(k).startswith(prefix)]:
        del st.session_state[key]


def form_scope(screen: str, action: str, *, patient: object = None, record: object = None,
               version: int | None = None, what: str = "This record", submit: str = SUBMIT,
               warn_on_refresh: bool = False) -> FormScope:
    """Scope one form (see the module's docstring). Call it where the form is drawn, before its widgets.

    When a submission arrives for values read at an older version, a warning naming `what` is shown here and
    `stale` is True: the page must not write. With `warn_on_refresh`, a form of the same record drawn afresh
    because the version moved on (a write from elsewhere, not this form's own save) says so too: what was typed on
    it was dropped."""
    identity = scope_key(screen, action, patient, record)
    slot = _slot(screen, action)
    previous: FormScope | None = st.session_state.get(slot)
    generation = previous.generation if previous is not None and previous.identity == identity else 0
    scope = FormScope(identity=identity, version=version, generation=generation, opened_version=version,
                      stale=False)
    refreshed = False
    if previous is not None and previous.base != scope.base:
        # Another patient, record or action, or written since: forget the old widgets, draw fresh ones.
        if previous.identity == identity and st.session_state.get(previous.key(submit)):
            scope = FormScope(identity=identity, version=version, generation=generation,
                              opened_version=previous.version, stale=True)
        elif (warn_on_refresh and previous.identity == identity and not previous.saved
              and previous.version is not None and previous.version != version):
            refreshed = True
        _drop(previous.base + ":")
    st.session_state[slot] = scope
    if refreshed:
        st.warning(f"{what} changed since this form was opened (a change to this patient was saved meanwhile, by "
                   "someone else or on another screen): the form now shows the current values, and what you had "
                   "typed on it was not kept. Enter your change again if it is still needed.",
                   icon=":material/sync_problem:")
    if scope.stale:
        st.warning(f"{what} changed since this form was opened (someone saved a change meanwhile): nothing was "
                   "saved. The form now shows the current values; enter your change again if it is still needed.",
                   icon=":material/sync_problem:")
    return scope


def current_key(state: Mapping, screen: str, action: str, name: str) -> str:
    """The key of widget `name` of the form (screen, action) drawn last (`state`: session state); for tests."""
    return state[_slot(screen, action)].key(name)


def write_and_rerun(write, *, done: str, labels: Labels = NO_LABELS, prefix: str = "Not saved",
                    scope: FormScope | None = None, **arguments) -> None:
    """Run one db/ write path (`write(session=…, actor=…, **arguments)`) in its own transaction as the signed-in
    user. On success flash `done`, start the form of `scope` afresh (a new generation) and rerun: the patient's
    version has moved on, so every form of the patient is drawn again from the database. On a refusal show every
    problem by its label on this form; what was typed stays on the screen and nothing is written. A `scope` that
    is stale writes nothing (its warning is shown by `form_scope`)."""
    if scope is not None and scope.stale:
        return
    try:
        with write_session(get_engine()) as session:
            write(session=session, actor=actor(), **arguments)
    except SkintrackError as error:
        show_error(error, prefix=prefix, labels=labels)
        return
    if scope is not None:
        start_afresh(scope)
    flash("success", done)
    st.rerun()


def start_afresh(scope: FormScope) -> None:
    """After a successful save: the form's next drawing has new widgets (empty, or read again)."""
    _drop(scope.base + ":")
    slot = _slot(*scope.identity.split(":", 2)[:2])
    st.session_state[slot] = FormScope(identity=scope.identity, version=scope.version,
                                       generation=scope.generation + 1, opened_version=scope.version, stale=False,
                                       saved=True)
