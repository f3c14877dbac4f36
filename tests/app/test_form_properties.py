"""A property over random sequences of form actions on the Treatments screen, driven through AppTest (issue 13):
switch patient, type a dose without saving, correct a period, stop it, and another user's write between two of
them. Whatever the sequence, the database equals what a model of the user's confirmed actions says: a typed form
never follows to another patient, no write lands on a patient other than the one on the screen, and a form
submitted after another user's write is refused instead of overwriting it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from db.engine import write_session
from db.patients import create_patient
from db.treatments import load_medication_rows, start_medication, stop_medication
from tests import factories
from tests.app.conftest import signed_in_app
from ui.forms import current_key

PAGE = "pages/treatments.py"
STOP_DAYS = (date(2024, 1, 31), date(2025, 6, 30))

actions = st.lists(st.one_of(
    st.just(("switch",)),
    st.tuples(st.just("type_dose"), st.sampled_from([10.0, 20.0])),
    st.tuples(st.just("correct"), st.sampled_from([12.5, 20.0, 25.0])),
    st.tuples(st.just("stop"), st.sampled_from(STOP_DAYS)),
    st.just(("other_user_stops",)),
), min_size=2, max_size=6)


EXAMPLES = itertools.count()  # hypothesis reruns the test on one database: new patients for each example


@dataclass
class Model:
    """What the database must hold: per patient the period's dose and last day (None while ongoing)."""

    patients: tuple[str, str]
    dose: dict[str, float] = field(default_factory=dict)
    end: dict[str, date | None] = field(default_factory=dict)

    def __post_init__(self):
        self.dose = dict.fromkeys(self.patients, 15.0)
        self.end = dict.fromkeys(self.patients)


def stored(engine, patients) -> tuple[dict, dict]:
    doses, ends = {}, {}
    for patient in patients:
        row = load_medication_rows(engine, patient).iloc[0]
        doses[patient] = float(row["dose"])
        ends[patient] = None if row["end_date"] != row["end_date"] else row["end_date"].date()
    return doses, ends


def key(at, action, name):
    return current_key(at.session_state, "treatments", action, name)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
# The interleavings of the reported defects, always tried besides the random ones:
@example(steps=[("other_user_stops",), ("correct", 20.0)])  # a correction opened before a stop must not undo it
@example(steps=[("other_user_stops",), ("stop", STOP_DAYS[1])])  # nor a second, stale stop overwrite it
@example(steps=[("stop", STOP_DAYS[0]), ("correct", 25.0)])  # a correction after one's own stop keeps the stop
@example(steps=[("type_dose", 20.0), ("switch",), ("correct", 12.5), ("switch",)])  # nothing follows the patient
def test_random_form_actions_write_only_what_the_user_confirmed_on_the_patient_on_screen(with_users, steps):
    example = next(EXAMPLES)
    patients = (f"A-{example}", f"B-{example}")
    with write_session(with_users) as session:
        for patient in patients:
            create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
            start_medication(session=session, actor="t", data={
                "patient_id": patient, "drug": "methotrexate", "dose": 15, "dose_unit": "mg",
                "frequency": "weekly", "route": "sc", "start_date": "2018-10-05"})
    model, on_screen, stale = Model(patients), patients[0], False
    at = signed_in_app("staff")
    at.session_state["patient_id"] = on_screen
    at.switch_page(PAGE).run()
    for step in steps:
        kind = step[0]
        if kind == "switch":
            on_screen = patients[1 - patients.index(on_screen)]
            at.selectbox(key="treatments_patient").select(on_screen).run()
            if model.end[on_screen] is None:  # nothing typed for the other patient shows on this one's form
                assert at.number_input(key=key(at, "change_dose", "dose")).value is None
            stale = False
        elif kind == "type_dose":
            if model.end[on_screen] is None:  # the change-dose form shows for an ongoing period only
                at.number_input(key=key(at, "change_dose", "dose")).set_value(step[1])
                at.text_input(key=key(at, "change_dose", "reason")).input("typed, not saved")
            at.run()
            stale = False
        elif kind == "correct":
            at.number_input(key=key(at, "correct", "dose")).set_value(step[1])
            at.text_input(key=key(at, "correct", "why")).input("dose misread")
            at.form_submit_button(key=key(at, "correct", "submit")).click().run()
            if not stale:
                model.dose[on_screen] = step[1]
            stale = False
        elif kind == "stop":
            if model.end[on_screen] is None or stale:  # the stop form is on the screen (drawn before a write)
                at.text_input(key=key(at, "stop", "date")).input(step[1].isoformat())
                at.form_submit_button(key=key(at, "stop", "submit")).click().run()
                if not stale:
                    model.end[on_screen] = step[1]
                stale = False
        elif kind == "other_user_stops":
            if model.end[on_screen] is None:
                with write_session(with_users) as session:
                    row = load_medication_rows(with_users, on_screen).iloc[0]
                    stop_medication(session=session, period_id=int(row["period_id"]), end_date=date(2023, 3, 3),
                                    expected_version=int(row["version"]), actor="other", reason="by a colleague")
                model.end[on_screen] = date(2023, 3, 3)
                stale = True  # the forms on the screen were drawn before this write
        assert not at.exception, (steps, step)
        assert at.session_state["patient_id"] == on_screen
        assert stored(with_users, patients) == (model.dose, model.end), (steps, step)
