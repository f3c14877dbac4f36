"""Two processes recording 500 assessments each into one SQLite file at once: all 1,000 land."""

from __future__ import annotations

import multiprocessing
from datetime import date, timedelta

from db.engine import make_engine, write_session
from db.patients import create_patient
from db.visits import load_assessments, record_assessment
from tests import factories


def _writer(url: str, rater: str, count: int, start, queue) -> None:
    engine = make_engine(url)
    failures = 0
    start.wait()
    for day in range(count):
        try:
            with write_session(engine) as session:
                record_assessment(session=session, actor=rater, data=factories.assessment(
                    rater=rater, visit_date=(date(2000, 1, 1) + timedelta(days=day)).isoformat()))
        except Exception as error:  # noqa: BLE001 - counted and reported below
            failures += 1
            queue.put(repr(error))
    queue.put(failures)
    engine.dispose()


def test_two_writers_on_one_sqlite_file(sqlite_url):
    engine = make_engine(sqlite_url)
    with write_session(engine) as session:
        create_patient(session=session, data=factories.patient(birth_year=1950), actor="tester")
    context = multiprocessing.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    writers = [context.Process(target=_writer, args=(sqlite_url, rater, 500, start, queue))
               for rater in ("rater one", "rater two")]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(timeout=240)
    messages = []
    while not queue.empty():
        messages.append(queue.get())
    assert [m for m in messages if not isinstance(m, int)] == []
    frame = load_assessments(engine)
    assert len(frame) == 1000
    assert frame.groupby("rater").size().to_dict() == {"rater one": 500, "rater two": 500}
