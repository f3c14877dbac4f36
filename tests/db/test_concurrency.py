"""Writers in separate processes at once: two recording 500 assessments each into one SQLite file (all 1,000 land);
and the writes that cannot race (issues 13 and 14), on SQLite and PostgreSQL: 4 x 100 corrections of one
assessment, two overlapping periods, two administrators demoting each other.

The writers are separate interpreters started with subprocess rather than multiprocessing: a spawned
multiprocessing child re-runs the parent's __main__, which after an AppTest run in the same pytest
process can be app.py (it then migrates the database itself and races the test)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from db.audit import load_audit
from db.engine import make_engine, write_session
from db.patients import create_patient
from db.treatments import load_medication_rows
from db.users import create_user, load_users
from db.visits import load_assessment_rows, load_assessments, record_assessment
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def write_many(url: str, rater: str, count: int, go_file: str) -> list[str]:
    """Wait for `go_file`, then record `count` assessments by `rater`; the errors met, as text."""
    engine = make_engine(url)
    while not Path(go_file).exists():
        time.sleep(0.01)
    errors = []
    for day in range(count):
        try:
            with write_session(engine) as session:
                record_assessment(session=session, actor=rater, data=factories.assessment(
                    rater=rater, visit_date=(date(2000, 1, 1) + timedelta(days=day)).isoformat()))
        except Exception as error:  # noqa: BLE001 - reported to the parent, which asserts there are none
            errors.append(repr(error))
    engine.dispose()
    return errors


def test_two_writers_on_one_sqlite_file(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(birth_year=1950), actor="tester")
    go_file = tmp_path / "go"
    code = ("import json, sys; from tests.db.test_concurrency import write_many; "
            "print(json.dumps(write_many(sys.argv[1], sys.argv[2], 500, sys.argv[3])))")
    writers = [subprocess.Popen([sys.executable, "-c", code, sqlite_url, rater, str(go_file)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for rater in ("rater one", "rater two")]
    time.sleep(1.0)  # both interpreters importing; the file below releases them together
    go_file.touch()
    errors = []
    for process in writers:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-2000:]
        errors.extend(json.loads(out.strip().splitlines()[-1]))
    assert errors == []
    frame = load_assessments(engine)
    assert len(frame) == 1000
    assert frame.groupby("rater").size().to_dict() == {"rater one": 500, "rater two": 500}


# --- writes that cannot race (issues 13 and 14) -----------------------------------------------------------------

SITES = list(factories.FULL_SCORES)


def _run(code: str, *args: str, count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", code, *args, str(n)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for n in range(count)]


def _results(processes: list[subprocess.Popen]) -> list[dict]:
    out = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def in_rounds(go_dir: str, writer: int, rounds: int, attempt, refusal) -> dict:
    """A writer's side of rounds run in lockstep with the other writer: each round, once the test says go,
    `attempt(n)`. Returns the rounds it landed, those refused with `refusal` (an exception class or a tuple of
    them) and any other error (reported, never raised)."""
    landed, refused, other = [], [], []
    for n in range(rounds):
        while not (Path(go_dir) / f"go-{n}").exists():
            time.sleep(0.0005)
        try:
            attempt(n)
            landed.append(n)
        except refusal:
            refused.append(n)
        except Exception as error:  # noqa: BLE001 - reported
            other.append(repr(error))
        (Path(go_dir) / f"done-{writer}-{n}").touch()
    return {"landed": landed, "refused": refused, "other": other}


def run_rounds(writer_function: str, db_url: str, rounds: int, go_dir: Path, *, before=None, after=None) -> list:
    """Two writer processes running `writer_function` (this module's) in lockstep rounds; `before(n)` and
    `after(n)` run around each round in the test. Their outcomes, none with an unexpected error."""
    code = (f"import json, sys; from tests.db.test_concurrency import {writer_function}; "
            f"print(json.dumps({writer_function}(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))")
    writers = _run(code, db_url, str(rounds), str(go_dir), count=2)
    time.sleep(1.0)
    try:
        for n in range(rounds):
            if before is not None:
                before(n)
            release_round(go_dir, n)
            if after is not None:
                after(n)
    except BaseException:
        for writer in writers:  # a failed round: the writers would wait for the next round's go for ever
            writer.kill()
        raise
    outcomes = _results(writers)
    assert [o["other"] for o in outcomes] == [[], []]
    return outcomes


def release_round(go_dir: Path, n: int, writers: int = 2) -> None:
    """The test's side: start round `n` for every writer at once and wait until each has finished it."""
    (go_dir / f"go-{n}").touch()
    deadline = time.time() + 60
    while not all((go_dir / f"done-{w}-{n}").exists() for w in range(writers)) and time.time() < deadline:
        time.sleep(0.001)


def correct_many(url: str, assessment_id: int, count: int, go_file: str, seed: int) -> dict:
    """Open the assessment, change a site or two, save with the version opened; `count` times. The outcomes."""
    import random

    from db.engine import read_session
    from db.visits import correct_assessment
    from models import Assessment
    from models.errors import StaleRecord

    engine = make_engine(url)
    rng = random.Random(seed)
    while not Path(go_file).exists():
        time.sleep(0.001)
    saved = stale = 0
    other = []
    for _ in range(count):
        with read_session(engine) as session:  # the form opened on the record as it is now
            opened = session.get(Assessment, assessment_id).model_dump()
        sites = {code: opened[code] for code in SITES}
        for code in rng.sample(SITES, 2):  # always a change: each save writes a new version
            sites[code] = (sites[code] + rng.randint(1, 3)) % 4
        try:
            with write_session(engine) as session:
                correct_assessment(session=session, assessment_id=assessment_id,
                                   expected_version=int(opened["version"]), actor=f"rater{seed}",
                                   reason="rescored", data=factories.assessment(**sites))
            saved += 1
        except StaleRecord as error:
            assert "since you opened it — reload" in error.reason
            stale += 1
        except Exception as error:  # noqa: BLE001 - reported: the parent asserts there are none
            other.append(repr(error))
    engine.dispose()
    return {"saved": saved, "stale": stale, "other": other}


@pytest.mark.slow
def test_four_writers_correcting_one_assessment_never_merge_rows_nor_lose_an_update(db_url, tmp_path, capsys):
    """4 processes x 100 corrections of one assessment, each opened, changed and saved with its version: every
    stored version has a total equal to the sum of its sites, the audit chain has no break (each update's `before`
    is the previous `after`), and every refused write is a StaleRecord (issue 14 finding 1: on PostgreSQL 341 of
    400 stored versions were merged rows)."""
    started = time.perf_counter()
    engine = make_engine(db_url)
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(), actor="setup")
        visit = record_assessment(session=session, data=factories.assessment(), actor="setup")
    go_file = tmp_path / "go"
    code = ("import json, sys; from tests.db.test_concurrency import correct_many; "
            "print(json.dumps(correct_many(sys.argv[1], int(sys.argv[2]), 100, sys.argv[3], int(sys.argv[4]))))")
    writers = _run(code, db_url, str(visit.assessment_id), str(go_file), count=4)
    time.sleep(1.0)
    go_file.touch()
    outcomes = _results(writers)
    assert [o["other"] for o in outcomes] == [[]] * 4
    saved, stale = sum(o["saved"] for o in outcomes), sum(o["stale"] for o in outcomes)
    assert saved + stale == 400 and saved >= 4

    trail = load_audit(engine, entity="assessment", limit=10_000).sort_values("audit_id")
    rows = [json.loads(after) for after in trail["after"]]
    assert list(trail["action"]) == ["create"] + ["update"] * saved
    for row in rows:  # every stored version
        assert row["total"] == sum(row[code] for code in SITES), row
    assert [row["version"] for row in rows] == list(range(1, saved + 2))
    befores = [json.loads(before) for before in trail["before"].iloc[1:]]
    assert befores == rows[:-1], "each update starts from the version stored just before it"
    final = load_assessment_rows(engine, "P-001").iloc[0]
    assert int(final["version"]) == saved + 1 and final["total"] == sum(final[code] for code in SITES)
    engine.dispose()
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n  [{engine.dialect.name}] 4 x 100 corrections: {saved} stored versions, {stale} refused as "
              f"StaleRecord, {seconds:.1f} s")


def start_overlapping(url: str, rounds: int, go_dir: str, writer: int) -> dict:
    """Each round, at once with the other writer: start an ongoing imatinib period of patient R-<round>, the two
    writers a month apart (so only the overlap rule can refuse one). The outcomes."""
    from db.treatments import start_medication
    from models.errors import OverlappingPeriod

    engine = make_engine(url)

    def attempt(n: int) -> None:
        with write_session(engine) as session:
            start_medication(session=session, actor=f"writer{writer}", data=factories.medication(
                patient_id=f"R-{n}", start_date=f"2020-0{1 + writer}-01", dose=400))
    outcomes = in_rounds(go_dir, writer, rounds, attempt, OverlappingPeriod)
    engine.dispose()
    return outcomes


@pytest.mark.slow
def test_two_overlapping_periods_saved_at_once_exactly_one_lands(db_url, tmp_path):
    """Issue 14 finding 2: two overlapping ongoing imatinib periods were both stored on PostgreSQL."""
    rounds = 15
    engine = make_engine(db_url)
    with write_session(engine) as session:
        for n in range(rounds):
            create_patient(session=session, data=factories.patient(patient_id=f"R-{n}"), actor="setup")
    outcomes = run_rounds("start_overlapping", db_url, rounds, tmp_path)
    for n in range(rounds):
        assert sorted(w for w, o in enumerate(outcomes) if n in o["landed"]) in ([0], [1]), n
        assert len(load_medication_rows(engine, f"R-{n}")) == 1
    engine.dispose()


def demote_other(url: str, rounds: int, go_dir: str, writer: int) -> dict:
    """Each round, at once with the other administrator: demote the other one (admin<round>-<1 - writer>)."""
    from db.users import get_user, update_user
    from models.errors import NotPermitted, StaleRecord

    engine = make_engine(url)

    def attempt(n: int) -> None:
        me, them = f"admin{n}-{writer}", f"admin{n}-{1 - writer}"
        account = get_user(engine, them)
        with write_session(engine) as session:
            update_user(session=session, username=them, expected_version=account["version"], actor=me, data={
                "display_name": them, "role": "staff", "active": True, "can_export_identified": False})
    outcomes = in_rounds(go_dir, writer, rounds, attempt, (NotPermitted, StaleRecord))
    engine.dispose()
    return outcomes


@pytest.mark.slow
def test_two_administrators_demoting_each_other_leave_one(db_url, tmp_path):
    """Issue 14 finding 2: two administrators demoting each other left no active administrator."""
    rounds = 8
    engine = make_engine(db_url)

    def before(n: int) -> None:
        with write_session(engine) as session:  # this round's pair are the only active administrators
            session.execute(text("UPDATE app_user SET active = false WHERE role = 'admin'"))
            for w in (0, 1):
                create_user(session=session, actor="setup", data={
                    "username": f"admin{n}-{w}", "role": "admin", "password": "correct horse battery"})

    def after(n: int) -> None:
        users = load_users(engine)
        assert len(users[(users["role"] == "admin") & users["active"]]) >= 1, n
    outcomes = run_rounds("demote_other", db_url, rounds, tmp_path, before=before, after=after)
    assert all(n in outcomes[0]["refused"] or n in outcomes[1]["refused"] for n in range(rounds))
    engine.dispose()


def create_same(url: str, rounds: int, go_dir: str, writer: int) -> dict:
    """Each round, at once with the other writer: add patient N-<round>."""
    from models.errors import DuplicatePatient

    engine = make_engine(url)

    def attempt(n: int) -> None:
        with write_session(engine) as session:
            create_patient(session=session, actor=f"writer{writer}", data=factories.patient(patient_id=f"N-{n}"))
    outcomes = in_rounds(go_dir, writer, rounds, attempt, DuplicatePatient)
    engine.dispose()
    return outcomes


@pytest.mark.slow
def test_the_same_new_patient_added_twice_at_once_is_one_patient_and_a_named_refusal(db_url, tmp_path):
    """No row to lock yet: the unique index decides, and its refusal is DuplicatePatient, never a traceback."""
    rounds = 10
    engine = make_engine(db_url)
    outcomes = run_rounds("create_same", db_url, rounds, tmp_path)
    assert sorted(outcomes[0]["landed"] + outcomes[1]["landed"]) == list(range(rounds))
    assert len(load_audit(engine, action="create", entity="patient")) == rounds
    engine.dispose()
