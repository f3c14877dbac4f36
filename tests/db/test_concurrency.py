"""Two processes recording 500 assessments each into one SQLite file at once: all 1,000 land.

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

from db.engine import make_engine, write_session
from db.patients import create_patient
from db.visits import load_assessments, record_assessment
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
