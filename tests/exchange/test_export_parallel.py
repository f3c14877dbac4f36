"""A CSV export run by worker processes writes the very files the one-process export writes (identified and
de-identified, SQLite and PostgreSQL), and the command line uses workers only where forking is safe."""

from __future__ import annotations

import threading

import pytest

from db.engine import make_engine
from demo import generate_registry, load_registry
from exchange import export_bundle, exporter
from exchange.exporter import SHEET_ORDER, parallel_workers


@pytest.mark.parametrize("deidentify", [False, True])
def test_workers_write_the_same_files(db_url, tmp_path, monkeypatch, deidentify):
    monkeypatch.setenv("SKINTRACK_SECRET", "parallel")
    engine = make_engine(db_url)
    try:
        load_registry(engine, generate_registry(10), actor="fixture")
        monkeypatch.setattr(exporter, "CHUNK", 3)  # four chunks, shared by two workers
        monkeypatch.setattr(exporter, "PARALLEL_CHUNKS", 1)
        one = export_bundle(engine, tmp_path / "one", deidentify=deidentify, actor="t", workers=1)
        progress = []
        two = export_bundle(engine, tmp_path / "two", deidentify=deidentify, actor="t", workers=2,
                            progress=lambda done, total: progress.append((done, total)))
    finally:
        engine.dispose()
    assert one.rows == two.rows and one.rows["skin_scores.csv"] > 50
    for name in SHEET_ORDER:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert progress[-1] == (10, 10) and len(progress) == 4


def test_chunk_sizes():
    chunk, most = exporter.CHUNK, exporter.PARALLEL_CHUNKS * exporter.CHUNK
    assert exporter.chunk_size(20_000, 1) == chunk  # one process (the app's server): small chunks, small memory
    assert exporter.chunk_size(20_000, 2) == 10_000 == most  # one chunk per worker
    assert exporter.chunk_size(9_001, 2) == 4_501
    assert exporter.chunk_size(100, 2) == chunk  # never smaller than one process's
    assert exporter.chunk_size(200_000, 2) == most  # a worker holds at most PARALLEL_CHUNKS * CHUNK patients


def test_workers_only_where_forking_is_safe(sqlite_engine, monkeypatch):
    monkeypatch.setattr(exporter.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert parallel_workers(sqlite_engine, "csv") == exporter.WORKERS
    assert parallel_workers(sqlite_engine, "xlsx") == 1  # one workbook, written in order
    assert parallel_workers(make_engine("sqlite://"), "csv") == 1  # an in-memory database is the process's own
    monkeypatch.setattr(threading, "active_count", lambda: 5)  # e.g. the app's server: never fork there
    assert parallel_workers(sqlite_engine, "csv") == 1
