"""The scope matrix of the reads of db/ (issue 16): for every read function and every scope (one centre, two
centres, all, none), the patients visible are exactly those of the scope, and another centre's patient answers
exactly as a patient that does not exist. Then the same as a property over random scopes and random
patient -> centre assignments.

`READS` is the table of every read function: a new read of patients' data gets one line there (and the matrix
and the property test cover it). db/cohort.py, db/batch.py and db/centres.py have their own tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import Session

from db.api_reads import RESOURCES, audit_read, read_one, read_page
from db.audit import load_audit, load_audit_choices, registry_version
from db.centres import add_centre, centre_keys
from db.chart_data import ChartData, load_chart_data
from db.engine import write_session
from db.measures import (
    delete_measurement,
    load_deleted_measurements,
    load_measurement_rows,
    load_measurements,
    record_measurement,
)
from db.overview import load_overview
from db.patients import (
    count_patients,
    create_patient,
    delete_patient,
    get_patient,
    load_deleted_patients,
    load_patients,
    patient_keys,
    patient_version,
    restore_patient,
    update_patient,
)
from db.raters import clinic_raters
from db.scope import scoped
from db.treatments import (
    change_dose,
    delete_event,
    delete_medication,
    load_deleted_events,
    load_deleted_medications,
    load_event_rows,
    load_events,
    load_medication_rows,
    load_medications,
    patients_with_events_told_apart_by_description,
    record_event,
    start_medication,
    stop_medication,
)
from db.visits import (
    delete_assessment,
    load_assessment_rows,
    load_assessments,
    load_deleted_assessments,
    record_assessment,
)
from models import Patient
from models.errors import NotFound, UnknownPatient
from models.scope import ALL, Scope
from tests import factories

CENTRES = ("A", "B", "C")
NOBODY = "NOPE"  # an identifier no patient has
NO_PATIENT = "(rows of no patient)"  # the audit rows of accounts, centres, settings: for all-centre scopes only


@dataclass
class World:
    """Three centres; per centre a live patient with live and deleted records of every kind, and a deleted
    patient. Every write of a patient's data is done by the actor `user <patient>` and every visit is rated by
    `dr <patient>`, so the audit trail's actors and the raters name the patient they belong to."""

    keys: dict[str, int]  # centre code -> key
    centre_of: dict[str, str] = field(default_factory=dict)  # patient_id -> centre code
    live: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

    def patients(self, scope: Scope, which: set[str]) -> set[str]:
        return {p for p in which if scope.sees(self.keys[self.centre_of[p]])}


def actor(patient_id: str) -> str:
    return f"user {patient_id}"


def rater(patient_id: str) -> str:
    return f"dr {patient_id}"


def build(engine, centre_of: dict[str, str]) -> World:
    with write_session(engine) as session:
        for code in CENTRES:
            add_centre(session=session, data={"code": code, "name": f"Centre {code}"}, actor="admin")
    world = World(keys=centre_keys(engine, CENTRES))
    for patient_id, code in centre_of.items():
        world.centre_of[patient_id] = code
        who = actor(patient_id)
        with write_session(engine) as session:
            create_patient(session=session, actor=who,
                           data=factories.patient(patient_id=patient_id, centre_key=world.keys[code]))
            if patient_id.endswith("9"):  # the centre's deleted patient
                delete_patient(session=session, patient_id=patient_id, expected_version=1, actor=who,
                               reason="entered twice")
                world.deleted.add(patient_id)
                continue
            world.live.add(patient_id)
            record_assessment(session=session, actor=who, data=factories.assessment(
                patient_id=patient_id, rater=rater(patient_id)))
            gone = record_assessment(session=session, actor=who, data=factories.assessment(
                patient_id=patient_id, rater=rater(patient_id), visit_date="2018-03-01"))
            delete_assessment(session=session, assessment_id=gone.assessment_id, expected_version=1, actor=who,
                              reason="wrong patient")
            record_measurement(session=session, actor=who, data=factories.measurement(patient_id=patient_id))
            gone = record_measurement(session=session, actor=who, data=factories.measurement(
                patient_id=patient_id, date="2018-03-01"))
            delete_measurement(session=session, measurement_id=gone.measurement_id, expected_version=1, actor=who,
                               reason="wrong patient")
            start_medication(session=session, actor=who, data=factories.medication(patient_id=patient_id))
            gone = start_medication(session=session, actor=who, data=factories.medication(
                patient_id=patient_id, drug="methotrexate", dose=15, frequency="weekly"))
            delete_medication(session=session, period_id=gone.period_id, expected_version=1, actor=who,
                              reason="wrong patient")
            for description in ("left hand", "right hand"):  # told apart by their description only
                record_event(session=session, actor=who, data=factories.event(patient_id=patient_id,
                                                                               description=description))
            gone = record_event(session=session, actor=who, data=factories.event(patient_id=patient_id,
                                                                                  date="2018-06-01"))
            delete_event(session=session, event_id=gone.event_id, expected_version=1, actor=who,
                         reason="wrong patient")
    return world


def standard_world(engine) -> World:
    return build(engine, {f"{code}{n}": code for code in CENTRES for n in (1, 9)})


# --- the answers, and "the same answer as for a patient that does not exist" ------------------------------------


def answer(value):
    """A comparable form of a read's answer (frames by columns, types and rows; a chart by its parts)."""
    if isinstance(value, pd.DataFrame):
        return ("frame", tuple(value.columns), tuple(str(t) for t in value.dtypes),
                tuple(map(tuple, value.astype(str).to_numpy())))
    if isinstance(value, ChartData):
        return ("chart", answer(value.patient), answer(value.assessments.drop(columns="patient_id")),
                answer(value.measurements), answer(value.medications), answer(value.events))
    return value


def empty(value) -> bool:
    if isinstance(value, pd.DataFrame):
        return value.empty
    if isinstance(value, ChartData):
        return not value.exists and all(frame.empty for frame in (value.assessments, value.measurements,
                                                                   value.medications, value.events))
    return value is None or value == [] or value == ()


def per_patient(read: Callable[[object, str], object]) -> Callable[[object, World], set[str]]:
    """A read of one patient, asked for every patient (live and deleted) and for one that does not exist: the
    patients it answers for; every other answer must be exactly the answer for the patient that does not exist."""

    def visible(engine, world: World) -> set[str]:
        none = read(engine, NOBODY)
        assert empty(none)
        nobody = answer(none)
        seen = set()
        for patient_id in sorted(world.centre_of):
            result = read(engine, patient_id)
            if empty(result):
                assert answer(result) == nobody, f"{patient_id} answers otherwise than a patient that does not exist"
            else:
                seen.add(patient_id)
        return seen

    return visible


def ids(frame: pd.DataFrame, column: str = "patient_id") -> set[str]:
    return set(frame[column])


def audited(frame: pd.DataFrame) -> set[str]:
    patients = set(frame["patient_id"].replace("", pd.NA).dropna())
    return patients | ({NO_PATIENT} if (frame["patient_id"].replace("", pd.NA).isna()).any() else set())


def audit_actors(engine, world: World) -> set[str]:
    by_actor = {actor(p): p for p in world.centre_of}
    return {by_actor.get(name, NO_PATIENT) for name in load_audit_choices(engine)["actor"]}


def session_keys(engine, world: World) -> set[str]:
    with Session(engine) as session:
        return set(patient_keys(session, [*world.centre_of, NOBODY]))


def api_pages(resource: str):
    def read(engine, world: World) -> set[str]:
        rows, more = read_page(engine, RESOURCES[resource], limit=1000)
        assert more is None
        return {row["patient_id"] for row in rows}

    return read


def api_one(resource: str):
    """read_one by every record id there is (read for every centre) and one id that does not exist."""

    def read(engine, world: World) -> set[str]:
        everyone = scoped(engine, ALL)
        all_ids = [row["id"] for row in read_page(everyone, RESOURCES[resource], limit=1000)[0]]
        assert read_one(engine, RESOURCES[resource], 10**9) is None
        seen = set()
        for record_id in all_ids:
            row = read_one(engine, RESOURCES[resource], record_id)
            if row is not None:
                seen.add(row["patient_id"])
        return seen

    return read


LIVE, DELETED, EVERY = "live patients", "deleted patients", "live and deleted patients"
AUDITED = "live and deleted patients, and the rows of no patient for all centres"


@dataclass(frozen=True)
class Read:
    name: str
    call: Callable[[object, World], set[str] | int]
    sees: str = LIVE  # which of the scope's patients it must show exactly


def whole_and_chosen(name: str, load) -> tuple[Read, Read]:
    """A bulk read of `db/` twice: for every patient of the scope, and for chosen ids (every patient of the
    world and one that exists nowhere)."""
    return (Read(name, lambda e, w: ids(load(e))),
            Read(f"{name}(identifiers)", lambda e, w: ids(load(e, [*w.centre_of, NOBODY]))))


READS = [
    # db/patients.py
    *whole_and_chosen("load_patients", load_patients),
    Read("get_patient", per_patient(get_patient)),
    Read("load_deleted_patients", lambda e, w: ids(load_deleted_patients(e)), DELETED),
    Read("patient_version", per_patient(patient_version)),
    Read("patient_keys (Session)", session_keys),
    Read("count_patients", lambda e, w: count_patients(e)),
    # db/visits.py
    *whole_and_chosen("load_assessments", load_assessments),
    Read("load_assessment_rows", per_patient(load_assessment_rows)),
    Read("load_deleted_assessments", lambda e, w: ids(load_deleted_assessments(e))),
    # db/measures.py
    *whole_and_chosen("load_measurements", load_measurements),
    Read("load_measurement_rows", per_patient(load_measurement_rows)),
    Read("load_deleted_measurements", lambda e, w: ids(load_deleted_measurements(e))),
    # db/treatments.py
    *whole_and_chosen("load_medications", load_medications),
    Read("load_medication_rows", per_patient(load_medication_rows)),
    Read("load_deleted_medications", lambda e, w: ids(load_deleted_medications(e))),
    *whole_and_chosen("load_events", load_events),
    Read("load_event_rows", per_patient(load_event_rows)),
    Read("load_deleted_events", lambda e, w: ids(load_deleted_events(e))),
    Read("patients_with_events_told_apart_by_description",
         lambda e, w: patients_with_events_told_apart_by_description(e)),
    # db/chart_data.py
    Read("load_chart_data", per_patient(load_chart_data)),
    # db/overview.py
    Read("load_overview", lambda e, w: {row.patient_id for row in load_overview(e).itertuples()
                                        if row.active_treatments and row.n_visits}),
    # db/raters.py
    Read("clinic_raters", lambda e, w: {name.removeprefix("dr ") for name in clinic_raters(e)}),
    # db/audit.py
    Read("load_audit", lambda e, w: audited(load_audit(e)), AUDITED),
    Read("load_audit(patient=)", per_patient(lambda e, p: load_audit(e, patient=p)), EVERY),
    Read("load_audit_choices (actors)", audit_actors, AUDITED),
    # db/api_reads.py
    *(Read(f"read_page({name})", api_pages(name)) for name in RESOURCES),
    Read("read_page(patient_id=)", per_patient(
        lambda e, p: read_page(e, RESOURCES["assessments"], patient_id=p)[0])),
    Read("read_one(patients, patient_id=)", per_patient(lambda e, p: read_one(e, RESOURCES["patients"],
                                                                                 patient_id=p))),
    *(Read(f"read_one({name})", api_one(name)) for name in RESOURCES if name != "patients"),
]


def expected(read: Read, world: World, scope: Scope) -> set[str]:
    if read.sees == LIVE:
        return world.patients(scope, world.live)
    if read.sees == DELETED:
        return world.patients(scope, world.deleted)
    everyone = world.patients(scope, set(world.centre_of))
    return everyone if read.sees == EVERY else everyone | ({NO_PATIENT} if scope.everything else set())


def mismatches(engine, world: World, scope: Scope, label: str) -> list[str]:
    view = scoped(engine, scope)
    problems = []
    for read in READS:
        want = expected(read, world, scope)
        try:
            got = read.call(view, world)
        except AssertionError as error:
            problems.append(f"{read.name} × {label}: {error}")
            continue
        if isinstance(got, int):
            want, got = len(want), got
        if got != want:
            problems.append(f"{read.name} × {label}: expected {sorted(want) if isinstance(want, set) else want}, "
                            f"got {sorted(got) if isinstance(got, set) else got}")
    return problems


def test_the_table_names_every_read_function_of_the_filtered_modules():
    """A new public read of these modules (a function taking the engine or a session first, positionally; the
    writes take keyword-only arguments) must join READS, or be named here as not a read of patients' data."""
    import db.api_reads
    import db.audit
    import db.chart_data
    import db.measures
    import db.overview
    import db.patients
    import db.raters
    import db.treatments
    import db.visits

    not_reads = {"registry_version",  # a counter for cache keys (tested below), not patients' data
                 "stored_drugs",  # drug names, no patient's (its scope: test_stored_drugs_follow_the_scope)
                 "describe_changes", "summarise_changes", "audit_read"}  # pure, or a write (tested below)
    named = {read.name.split("(")[0].split(" ")[0] for read in READS}
    reads = set()
    for module in (db.patients, db.visits, db.measures, db.treatments, db.chart_data, db.overview, db.raters,
                   db.audit, db.api_reads):
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                first = next(iter(inspect.signature(value).parameters.values()), None)
                if first is not None and first.name in ("engine", "session") and first.kind != first.KEYWORD_ONLY:
                    reads.add(name)
    assert reads - not_reads == named, "READS and the read functions of db/ differ"


def test_scope_matrix(engine):
    world = standard_world(engine)
    a, b = world.keys["A"], world.keys["B"]
    scopes = {
        "one centre (A)": Scope(frozenset({a}), codes=("A",)),
        "two centres (A, B)": Scope(frozenset({a, b}), codes=("A", "B")),
        "all centres": ALL,
        "no centre": Scope(frozenset()),
    }
    problems = [problem for label, scope in scopes.items() for problem in mismatches(engine, world, scope, label)]
    assert not problems, "\n".join(problems)
    # the audit rows of no patient (here the centres' creation) are for all-centre scopes only
    two = scoped(engine, scopes["two centres (A, B)"])
    assert (load_audit(two)["patient_id"] != "").all() and "centre" not in load_audit_choices(two)["entity"]
    assert (load_audit(engine)["patient_id"] == "").sum() >= len(CENTRES)
    assert "centre" in load_audit_choices(engine)["entity"]


def test_another_centres_patient_is_refused_by_the_writes_as_one_that_does_not_exist(engine):
    """The reads inside the write paths of these modules: db.patients' patient lookup (update, delete, restore)
    and db.treatments' period lookup (stop, dose change) answer for another centre's patient or period with the
    words they have for one that does not exist; the API's read audit row names no patient of another centre."""
    world = build(engine, {"A1": "A", "B1": "B", "B9": "B"})
    only_a = scoped(engine, Scope(frozenset({world.keys["A"]}), codes=("A",)))

    def refusal(write) -> tuple[type, str, str]:
        with pytest.raises((UnknownPatient, NotFound)) as refused, write_session(only_a) as session:
            write(session)
        return type(refused.value), refused.value.field, refused.value.reason

    def words(write, patient_id) -> tuple[type, str, str]:
        kind, name, reason = refusal(lambda session: write(session, patient_id))
        return kind, name, reason.replace(repr(patient_id), "<id>")

    writes = {
        "update_patient": lambda s, p: update_patient(session=s, patient_id=p, expected_version=1, actor="a",
                                                      data={**factories.patient(patient_id=p), "notes": "x"}),
        "delete_patient": lambda s, p: delete_patient(session=s, patient_id=p, expected_version=1, actor="a",
                                                      reason="r"),
        "restore_patient": lambda s, p: restore_patient(session=s, patient_id=p, expected_version=2, actor="a",
                                                        reason="r"),
    }
    for name, write in writes.items():
        for patient_id in ("B1", "B9"):
            assert words(write, patient_id) == words(write, NOBODY), name

    period_of_b = int(load_medication_rows(engine, "B1").loc[0, "period_id"])
    for name, write in {
        "stop_medication": lambda s, i: stop_medication(session=s, period_id=i, expected_version=1,
                                                        end_date=date(2019, 1, 1), actor="a"),
        "change_dose": lambda s, i: change_dose(session=s, period_id=i, expected_version=1, dose=400,
                                                change_date=date(2019, 1, 1), actor="a",
                                                reason="r"),
    }.items():
        other = refusal(lambda s, w=write: w(s, period_of_b))
        missing = refusal(lambda s, w=write: w(s, 10**9))
        assert other[:2] == missing[:2] and other[2].replace(str(period_of_b), "<id>") == missing[2].replace(
            str(10**9), "<id>"), name

    audit_read(only_a, actor="api a", entity="patient", detail="GET /patients/B1", patient_id="B1")
    audit_read(only_a, actor="api a", entity="patient", detail="GET /patients/A1", patient_id="A1")
    trail = load_audit(engine, actor="api a")
    assert list(trail["patient_id"].fillna("")) == ["A1", ""]


def test_registry_version_moves_with_every_centres_writes_for_every_scope(engine):
    """Not filtered (a cache key, not patients' data): a write at another centre, e.g. a transfer out of an
    account's centres, must still invalidate the account's cached lists."""
    world = build(engine, {"A1": "A", "B1": "B"})
    only_a = scoped(engine, Scope(frozenset({world.keys["A"]})))
    before = registry_version(only_a)
    assert before == registry_version(engine) == registry_version(scoped(engine, Scope(frozenset())))
    with write_session(engine) as session:
        record_measurement(session=session, actor="b", data=factories.measurement(patient_id="B1", date="2019-01-01"))
    assert registry_version(only_a) > before


# --- the property -----------------------------------------------------------------------------------------------

PATIENTS = ("P1", "P2", "P3", "P9")  # P9: a deleted patient


@pytest.fixture
def small_world(engine) -> World:
    """One database per test, reused by every example: each example moves the patients between the centres."""
    return build(engine, dict.fromkeys(PATIENTS, "A"))


# no shrinking: a failure already names the read, the scope and the assignment, and each step runs the whole table
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(assignment=st.lists(st.sampled_from(CENTRES), min_size=len(PATIENTS), max_size=len(PATIENTS)),
       centres=st.one_of(st.none(), st.frozensets(st.sampled_from(CENTRES))))
def test_any_scope_sees_exactly_its_patients(engine, small_world, assignment, centres):
    world = small_world
    with write_session(engine) as session:  # arrangement: the patients' centres of this example
        for patient_id, code in zip(PATIENTS, assignment, strict=True):
            session.execute(update(Patient).where(Patient.patient_id == patient_id)
                            .values(centre_key=world.keys[code]))
            world.centre_of[patient_id] = code
    scope = ALL if centres is None else Scope(frozenset(world.keys[c] for c in centres), codes=tuple(sorted(centres)))
    problems = mismatches(engine, world, scope, f"{scope.describe()}, patients at {assignment}")
    assert not problems, "\n".join(problems)


def test_stored_drugs_follow_the_scope(engine):
    """The drugs an export's --anchor-drug may name (db.treatments.stored_drugs): those of the scope's live
    periods of live patients only. A drug only centre B's patient takes is no drug of a scope without B, and the
    deleted methotrexate periods of every patient are no drug at all."""
    from db.treatments import stored_drugs

    world = standard_world(engine)
    with write_session(engine) as session:
        start_medication(session=session, actor="t", data=factories.medication(patient_id="B1", drug="rituximab"))
    assert stored_drugs(engine) == ["imatinib", "rituximab"]
    for code in CENTRES:
        seen = stored_drugs(scoped(engine, Scope(frozenset({world.keys[code]}))))
        assert seen == (["imatinib", "rituximab"] if code == "B" else ["imatinib"]), code
