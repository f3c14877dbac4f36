"""Bounded resources on any input (issue 12): the capped report (ProblemLog), the import limits, and small, fast
versions of the hostile files of `bench/hostile.py` (a zip bomb, a file of invalid rows, a header of a million
columns), each refused quickly with a bounded report and without reading the file whole."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile

import pytest

import cli
from bench.hostile import HEADER, bad_row, make_bomb, make_header
from exchange import BundleRejected, Limits, ProblemLog, import_bundle, oversize
from exchange.errors import GROUPS, KEEP, Problem, general_reason
from exchange.limits import MAX_MEMBERS, MAX_RECORD
from exchange.reader import Member, open_bundle, read_table
from exchange.spec import MEASUREMENTS, PATIENTS
from models.errors import InvalidValue

MIB = 1024 * 1024


def rejected(engine, source, **kwargs) -> BundleRejected:
    with pytest.raises(BundleRejected) as caught:
        import_bundle(engine, source, actor="t", dry_run=True, **kwargs)
    return caught.value


def invalid_rows(count: int) -> bytes:
    return HEADER + b"".join(bad_row(number) for number in range(1, count + 1))


# --- the report ----------------------------------------------------------------------------------------------

def test_the_log_keeps_the_first_thousand_and_counts_the_rest_per_file_column_and_reason():
    log = ProblemLog()
    for line in range(2, 3502):
        log.append(Problem("measurements.csv", line, "value", f"{'x' * (line % 3 + 1)!r} is not a number"))
    log.extend(Problem("skin_scores.csv", line, "face", f"{line % 7} is not a score 0-3") for line in range(2, 12))
    assert len(log) == 3510 and log.omitted == 2510
    assert [p.line for p in log] == list(range(2, 2 + KEEP))  # the first 1,000, word for word
    assert log[0] == "measurements.csv:2: value: 'xxx' is not a number"
    assert log.summary() == ["… and 2,510 more:",
                             "  measurements.csv value: … is not a number ×2,500",
                             "  skin_scores.csv face: … is not a score … ×10"]
    assert log.lines() == [*log.kept, *log.summary()]


def test_one_kind_of_problem_ends_the_report_with_one_line():
    log = ProblemLog(Problem("measurements.csv", line, "value", "must be a number") for line in range(2, 3002))
    assert log.summary() == ["… and 2,000 more: measurements.csv value: must be a number ×2,000"]


def test_the_log_behaves_like_the_list_the_importer_used():
    log = ProblemLog(keep=3)
    assert not log and len(log) == 0 and list(log) == [] and log.summary() == []
    log.append(Problem("b.csv", 9, "x", "late"))
    log += [Problem("a.csv", 5, "y", "early"), Problem("a.csv", 2, "z", "earliest")]
    log.extend([Problem("c.csv", 1, "w", "counted")])
    assert log and len(log) == 4 and log.omitted == 1
    log.sort(key=lambda p: (p.file, p.line))
    assert [p.line for p in log] == [2, 5, 9] and log[-1].file == "b.csv"
    log.sort(key=lambda p: p.line, reverse=True)
    assert [p.line for p in log] == [9, 5, 2]


def test_counts_stay_bounded_however_many_distinct_columns():
    log = ProblemLog(keep=0)
    log.extend(Problem(f"f{i % 3}.csv", 1, f"col{i}", f"unknown column {i}") for i in range(20_000))
    groups = log.groups()
    assert sum(count for *_, count in groups) == 20_000
    assert len(groups) <= 2 * GROUPS + 1 and len(log.summary()) <= 2 * GROUPS + 2


def test_values_are_taken_out_of_a_reason_to_count_it():
    assert general_reason("'x' is not a number") == general_reason("'y' is not a number") == "… is not a number"
    assert general_reason('"it\'s" is not a code') == "… is not a code"
    assert general_reason("2021-03-01 is before the birth year 1990") == "… is before the birth year …"
    assert general_reason("3 cells but the header has 7 columns") == "… cells but the header has … columns"
    assert general_reason("not UTF-8 text (byte 0xff); save the file as CSV UTF-8") == \
        "not UTF-8 text (byte …); save the file as CSV UTF-8"
    assert general_reason("unknown column; allowed: fvc_pct, upper_arm_r") == \
        "unknown column; allowed: fvc_pct, upper_arm_r"


def test_a_rejection_built_from_a_list_is_capped_too():
    error = BundleRejected([Problem("a.csv", line, "c", "bad") for line in range(3000)])
    assert isinstance(error.problems, ProblemLog)
    assert str(error) == "the bundle was rejected (3,000 problems); nothing was written"
    assert len(list(error.problems)) == KEEP and error.problems.omitted == 2000


# --- the limits ----------------------------------------------------------------------------------------------

def test_limits_come_from_the_environment(monkeypatch):
    assert Limits.from_environment() == Limits(256 * MIB, 100, 100_000)
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_BYTES", "64M")
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_RATIO", "250")
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_PROBLEMS", "0")
    assert Limits.from_environment() == Limits(64 * MIB, 250, 0)
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_BYTES", "1GiB")
    assert Limits.from_environment().max_bytes == 1024 * MIB


@pytest.mark.parametrize(("variable", "value"), [("SKINTRACK_IMPORT_MAX_BYTES", "lots"),
                                                 ("SKINTRACK_IMPORT_MAX_BYTES", "0"),
                                                 ("SKINTRACK_IMPORT_MAX_RATIO", "0.5"),
                                                 ("SKINTRACK_IMPORT_MAX_RATIO", "inf"),
                                                 ("SKINTRACK_IMPORT_MAX_PROBLEMS", "-1")])
def test_a_misconfigured_limit_is_refused_with_its_name(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidValue) as caught:
        Limits.from_environment()
    assert caught.value.field == variable and repr(value) in caught.value.reason


def test_an_upload_larger_than_an_import_reads_is_refused_by_its_size():
    limits = Limits(max_bytes=10 * MIB)
    assert oversize({"patients.csv": MIB, "skin_scores.csv": 9 * MIB}, limits) is None
    message = oversize({"patients.csv": MIB, "skin_scores.csv": 10 * MIB}, limits)
    assert message.startswith("the upload is 11 MiB; an import reads at most 10 MiB (SKINTRACK_IMPORT_MAX_BYTES)")


# --- hostile files, small and fast ---------------------------------------------------------------------------

def test_a_zip_bomb_is_refused_from_its_directory_naming_the_member(sqlite_engine, tmp_path):
    bomb = make_bomb(tmp_path / "bomb.zip", size=48 * MIB)
    started = time.perf_counter()
    error = rejected(sqlite_engine, bomb)
    assert time.perf_counter() - started < 5
    assert len(error.problems) == 1
    assert re.fullmatch(r"measurements\.csv:1: file: compressed \d{3} times in the zip \(48 MiB from \d+(\.\d)? KiB\); "
                        r"refused as a likely zip bomb \(the limit is 100 times, SKINTRACK_IMPORT_MAX_RATIO\)",
                        error.problems[0]), error.problems[0]
    too_big = rejected(sqlite_engine, bomb, limits=Limits(max_bytes=16 * MIB, max_ratio=10_000))
    assert list(too_big.problems) == ["measurements.csv:1: file: 48 MiB uncompressed; an import reads at most "
                                      "16 MiB in all (SKINTRACK_IMPORT_MAX_BYTES)"]


def test_a_member_within_the_limits_is_read_as_a_stream(sqlite_engine, tmp_path):
    """Limits raised past a 48 MiB member of bad records: it is decompressed as it is parsed, checking stops at the
    problem limit, and memory stays far below the member's size."""
    path = tmp_path / "records.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("measurements.csv", "w") as member:
        member.write(HEADER)
        for _ in range(48):
            member.write(b"x,y\n" * (MIB // 4))
    tracemalloc.start()
    try:
        error = rejected(sqlite_engine, path, limits=Limits(max_bytes=64 * MIB, max_ratio=10_000, max_problems=2000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * MIB, f"{peak / MIB:.1f} MiB"
    assert str(error) == "the bundle was rejected (at least 2,000 problems); nothing was written"
    assert error.problems[0] == "measurements.csv:2: date: 2 cells but the header has 7 columns"
    assert error.problems.summary() == [
        "… and 1,000 more: measurements.csv date: … cells but the header has … columns ×1,000",
        "checking stopped at measurements.csv:2002 after 2,000 problems (the rest of the bundle was not checked); "
        "fix these and check again"]


def test_a_file_of_invalid_rows_gives_a_capped_report(sqlite_engine, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "rows"
    folder.mkdir()
    (folder / "measurements.csv").write_bytes(invalid_rows(2500))
    error = rejected(sqlite_engine, folder)
    assert len(error.problems) == 2500 and len(list(error.problems)) == KEEP
    assert error.problems[0] == "measurements.csv:2: value: must be a number"
    assert error.problems.summary() == ["… and 1,500 more: measurements.csv value: must be a number ×1,500"]

    monkeypatch.setenv("SKINTRACK_DATABASE_URL", str(sqlite_engine.url))
    assert cli.main(["import", str(folder)]) == cli.EXIT_FAILED
    err = capsys.readouterr().err.splitlines()
    assert len(err) == KEEP + 2
    assert err[-2:] == ["… and 1,500 more: measurements.csv value: must be a number ×1,500",
                        "rows: the bundle was rejected (2,500 problems); nothing was written"]


def test_a_header_of_a_million_unknown_columns_is_one_problem(sqlite_engine, tmp_path):
    folder = make_header(tmp_path / "header", columns=1_000_000)
    started = time.perf_counter()
    error = rejected(sqlite_engine, folder)
    assert time.perf_counter() - started < 5
    assert list(error.problems) == [f"measurements.csv:1: file: the header is longer than {MAX_RECORD:,} characters; "
                                    "measurements.csv has at most 7 columns of short values (is it a CSV file of "
                                    "the bundle?)"]


def test_headers_of_many_columns_are_bounded_and_unknown_ones_listed(sqlite_engine):
    wide = ",".join(f"c{i}" for i in range(300)).encode() + b"\n"
    assert list(rejected(sqlite_engine, {"measurements.csv": wide}).problems) == [
        "measurements.csv:1: file: the header has 300 columns; measurements.csv has at most 7: patient_id, date, "
        "measure, side, value, unit, rater"]
    some = b"patient_id,date,measure,value," + ",".join(f"c{i}" for i in range(150)).encode() + b"\n"
    problems = rejected(sqlite_engine, {"measurements.csv": some}).problems
    assert len(problems) == 150 and problems[0].startswith("measurements.csv:1: c0: unknown column; allowed: ")


def test_a_record_without_end_is_refused_after_a_megabyte(sqlite_engine):
    endless = b"patient_id,diagnosis\n" + b"a," * (4 * MIB)
    tracemalloc.start()
    try:
        error = rejected(sqlite_engine, {"patients.csv": endless})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert list(error.problems) == [f"patients.csv:2: file: a record is longer than {MAX_RECORD:,} characters; "
                                    "patients.csv has at most 10 columns of short values (is it a CSV file of the "
                                    "bundle?)"]
    assert peak < 4 * MIB + 16 * MIB  # the upload's own bytes, and a bounded amount beside them


def test_a_zip_of_too_many_entries_is_refused_before_its_directory_is_parsed(sqlite_engine):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(MAX_MEMBERS + 1):
            archive.writestr(f"junk/{number}.txt", b"")
    assert list(rejected(sqlite_engine, buffer.getvalue()).problems) == [
        f"bundle.zip:1: file: the zip holds {MAX_MEMBERS + 1:,} entries; a bundle holds a few CSV files (at most "
        f"{MAX_MEMBERS:,} entries are read)"]


def test_a_stream_longer_than_its_declared_size_stops_with_a_problem():
    data = b"patient_id,diagnosis\nP1,dcSSc\nP2,dcSSc\nP3,dcSSc\n"
    member = Member("patients.csv", len(data) - 10, None, lambda: io.BytesIO(data))
    table, problems = read_table(PATIENTS, member, ProblemLog())
    assert table is None
    assert problems == ["patients.csv:1: file: cannot be read (it holds more bytes than when the bundle was opened; "
                        "did it change meanwhile?)"]


def test_uploads_are_read_as_streams_and_stay_usable(sqlite_engine):
    """The Import screen hands over Streamlit's uploads (binary files): checked, then imported, never closed."""
    patients = io.BytesIO(b"patient_id,diagnosis\nUP-1,dcSSc\n")
    scores = io.BytesIO(b"patient_id,visit_date,total\nUP-1,2021-03-01,12\n")
    files = {"patients.csv": patients, "skin_scores.csv": scores}
    assert import_bundle(sqlite_engine, files, actor="t", dry_run=True).created["skin_scores.csv"] == 1
    assert not patients.closed and not scores.closed
    assert import_bundle(sqlite_engine, files, actor="t").created == {
        "patients.csv": 1, "skin_scores.csv": 1, "measurements.csv": 0, "medications.csv": 0, "events.csv": 0}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("b/measurements.csv", b"patient_id,date,measure,value\nUP-1,2021-03-01,haq_di,1.5\n")
    archive.name = "upload.zip"
    report = import_bundle(sqlite_engine, archive, actor="t", dry_run=True)
    assert report.bundle_name == "upload.zip" and report.created["measurements.csv"] == 1 and not archive.closed


def test_derived_files_are_never_read_nor_counted_against_the_limit(sqlite_engine):
    files = {"patients.csv": b"patient_id,diagnosis\nP1,dcSSc\n", "visits.csv": b"x" * (2 * MIB)}
    report = import_bundle(sqlite_engine, files, actor="t", dry_run=True, limits=Limits(max_bytes=MIB))
    assert report.created["patients.csv"] == 1


def test_the_bundle_is_closed_after_reading(tmp_path):
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as writer:
        writer.writestr("measurements.csv", b"patient_id,date,measure,value\n")
    with open_bundle(path) as bundle:
        table, _ = read_table(MEASUREMENTS, bundle.members["measurements.csv"], ProblemLog(), bundle.closers)
        assert table is not None and bundle.closers
    assert bundle.closers == []
