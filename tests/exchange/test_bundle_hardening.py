"""Bundles under attack (issue 14, finding 9 and 3): a symbolic link inside a bundle folder or a zip is refused, never
followed; a pipe is never waited on; and no report line carries a raw control character (NUL, ESC, a line break,
a bidirectional override...), whether it reaches a terminal, a log or the screen."""

from __future__ import annotations

import os
import stat
import unicodedata
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cli
from exchange import BundleRejected, import_bundle
from exchange.errors import Problem, ProblemLog, one_line

SECRET = "SECRET-FIRST-LINE-never-to-be-echoed"


def _raw_controls(text: str) -> list[str]:
    """Characters a terminal or a log would act on: controls (Cc), lone surrogates (Cs), line and paragraph
    separators, bidirectional embeddings, overrides and isolates."""
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")
            or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069"]


def _report(engine, source) -> list[str]:
    with pytest.raises(BundleRejected) as caught:
        import_bundle(engine, source, actor="t", dry_run=True)
    return caught.value.problems.lines()


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(f"{SECRET},x\nroot,0\n")
    return path


def test_a_symbolic_link_in_a_bundle_folder_is_refused_not_followed(sqlite_engine, tmp_path, secret, monkeypatch,
                                                                     capsys):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "patients.csv").symlink_to(secret)
    (folder / "notes.csv").symlink_to(secret)
    (folder / "linked").symlink_to(secret.parent, target_is_directory=True)
    (folder / "skin_scores.csv").write_text("patient_id,visit_date,total\n")
    lines = _report(sqlite_engine, folder)
    assert lines == [f"{name}:1: file: a symbolic link; links are not followed, put the file itself in the bundle "
                     "folder" for name in ("linked", "notes.csv", "patients.csv")]
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", str(sqlite_engine.url))
    assert cli.main(["import", str(folder)]) == cli.EXIT_FAILED
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "symbolic link" in err


def test_a_symbolic_link_in_a_zip_is_refused(sqlite_engine, tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo("bundle/patients.csv")
        link.create_system = 3  # unix: the mode bits below are read
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("bundle/skin_scores.csv", "patient_id,visit_date,total\n")
    assert _report(sqlite_engine, path) == ["patients.csv:1: file: a symbolic link in the zip (bundle/patients.csv); "
                                            "links are not followed, zip the file itself"]


@pytest.mark.timeout(60)
def test_a_pipe_in_a_bundle_folder_is_refused_without_waiting(sqlite_engine, tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    os.mkfifo(folder / "patients.csv")
    assert _report(sqlite_engine, folder) == ["patients.csv:1: file: not a regular file (a device, pipe or socket)"]


def test_an_encrypted_member_is_named(sqlite_engine, tmp_path):
    path = tmp_path / "locked.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("patients.csv", "patient_id,diagnosis\n")
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit
        at = data.find(signature)
        data[at + offset] |= 1
    path.write_bytes(bytes(data))
    assert _report(sqlite_engine, path) == ["patients.csv:1: file: encrypted in the zip (patients.csv); zip the bundle "
                                            "without a password"]


HOSTILE = "\x00\x1b[2J\x07\r\n\x0b\x0c\x1c\x7f\x85\x9b\u2028\u2029\u202e\u2066"


def test_no_report_line_carries_a_control_character(sqlite_engine, tmp_path, monkeypatch, capsys):
    """Control characters in file names, column names and cells come out escaped (NUL as \\x00), every problem on
    one line, on standard error as in the report the screen draws."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / f"evil{HOSTILE.replace(chr(0), '')}.csv").write_text("x\n")
    (folder / "skin_scores.csv").write_text(f'patient_id,visit_date,total,"fa\x00ce{HOSTILE}"\n')
    (folder / "measurements.csv").write_text(
        f'patient_id,date,measure,value\n"P\x00{HOSTILE}",2021-03-01,haq\x00_di,1\x00\n')
    lines = _report(sqlite_engine, folder)
    assert len(lines) == 5 and all(not _raw_controls(line) for line in lines), lines
    escaped = "\\x00\\x1b[2J\\x07\\r\\n\\x0b\\x0c\\x1c\\x7f\\x85\\x9b\\u2028\\u2029\\u202e\\u2066"
    assert lines[0].startswith(f"evil{escaped[4:]}.csv:1: file: unknown file; "), lines[0]
    assert lines[1].startswith(f"skin_scores.csv:1: fa\\x00ce{escaped}: unknown column; "), lines[1]
    # the one text rule (models.rules.check_text) refuses a control character in any cell before any other check
    assert lines[2:] == [f"measurements.csv:2: {field}: contains U+0000 (NUL) at character {at}; this field takes no "
                         "control characters" for field, at in (("patient_id", 2), ("measure", 4), ("value", 2))]

    monkeypatch.setenv("SKINTRACK_DATABASE_URL", str(sqlite_engine.url))
    assert cli.main(["import", str(folder)]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert not _raw_controls(err.replace("\n", "")) and len(err.splitlines()) == len(lines) + 1


def test_bytes_that_are_not_utf8_are_reported_escaped(sqlite_engine):
    lines = _report(sqlite_engine, {"patients.csv": b"patient_id,diagnosis\nP\xff\x00,dcSSc\n"})
    assert lines == ["patients.csv:2: patient_id: not UTF-8 text (byte 0xff); save the file as CSV UTF-8"]


@given(file=st.text(), column=st.text(), reason=st.text(), line=st.integers(0, 10**9))
def test_a_problem_is_one_printable_line_whatever_its_parts(file, column, reason, line):
    problem = Problem(file, line, column, reason)
    assert not _raw_controls(problem) and len(problem.splitlines()) <= 1
    assert problem.encode("utf-8")  # printable on a UTF-8 terminal: no lone surrogate left
    assert problem.file == one_line(file, 200) and problem.detail == one_line(reason, 1000)
    log = ProblemLog([problem], keep=0)
    assert all(not _raw_controls(line) for line in log.lines())
