"""Reading a bundle: a folder, a .zip (path, bytes or file) or uploaded files, into checked CSV records, as streams.

Nothing is read whole: each file is decoded and parsed record by record as the importer consumes it, within the
limits of `exchange.limits` (the uncompressed size of the bundle, the compression ratio of a zip member, the
length of a record, the number of columns and of files). A symbolic link (in a folder or a zip) is refused,
never followed.

Line numbers are record numbers as a spreadsheet shows them: the header is line 1 and a quoted cell
spanning several lines counts once.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from exchange.errors import Problem, ProblemLog
from exchange.limits import (
    MAX_BYTES_VARIABLE,
    MAX_COLUMNS,
    MAX_MEMBERS,
    MAX_RATIO_VARIABLE,
    MAX_RECORD,
    RATIO_FLOOR,
    Limits,
    mebibytes,
)
from exchange.spec import DERIVED_FILES, FILES_BY_NAME, TEXT, BundleFile

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
_CHUNK = 1024 * 1024  # bytes per read from a file or a zip member
# what a damaged stream raises while it is read (a bad CRC, a truncated member, a method zipfile lacks...)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


def unescape(value: str) -> str:
    """Undo the export's formula protection: one `'` less before = + - @ tab CR (`'=x` -> `=x`, `''=x` -> `'=x`).

    EXCHANGE.md removes the `'` of `'=x`; it also promises that a round trip gives back the same text, and
    the export writes a stored `'=x` as `''=x`, so the importer removes one quote of any run of them before
    a formula character (and the exporter adds one to any such run, see `exporter.protect_cell`)."""
    return value[1:] if _ESCAPED.match(value) else value


class TooLarge(OSError):
    """A stream gave more bytes than it was allowed (a file that grew, a zip entry that lied about its size)."""


@dataclass(frozen=True)
class Member:
    """One file of a bundle, not read yet: its base name, its uncompressed size, and how to open it."""

    name: str
    size: int
    compressed: int | None  # the zip entry's compressed size; None outside a zip
    opener: Callable[[], BinaryIO]  # a fresh binary stream of its bytes; the caller closes it


@dataclass
class Bundle:
    """The files of a bundle (base name -> Member), the problems found listing them, and what to close after."""

    name: str
    members: dict[str, Member] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_bundle(source, *, name: str | None = None) -> Bundle:
    """The files of a folder, a .zip path, zip bytes, a binary file of a zip, or a dict file name -> bytes (or a
    binary file, such as an upload). Nothing is read yet; close the Bundle (a context manager) when done."""
    if isinstance(source, Mapping):
        bundle = Bundle(name or "upload")
        for key, value in source.items():
            base = PurePosixPath(str(key)).name
            if base in bundle.members:
                bundle.problems.append(Problem(base, 1, "file", "appears twice among the files"))
            else:
                bundle.members[base] = _upload_member(base, value)
        return bundle
    if isinstance(source, bytes | bytearray | memoryview):
        return _zip_bundle(name or "bundle.zip", io.BytesIO(source))
    if hasattr(source, "read"):
        return _zip_bundle(name or PurePosixPath(str(getattr(source, "name", "bundle.zip"))).name, source)
    path = Path(source)
    if path.is_dir():
        return _folder_bundle(name or path.name, path)
    return _zip_bundle(name or path.name, path)


def _upload_member(name: str, value) -> Member:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value) if not isinstance(value, bytes) else value
        return Member(name, len(data), None, lambda: io.BytesIO(data))  # BytesIO of bytes shares them, no copy
    size = value.seek(0, io.SEEK_END)
    value.seek(0)
    return Member(name, size, None, lambda: _Borrowed(value))


class _Borrowed(io.RawIOBase):
    """A read-only view of someone else's seekable binary file (an upload kept by Streamlit across reruns), with its
    own position; closing it leaves the file open."""

    def __init__(self, file: BinaryIO) -> None:
        self._file, self._position = file, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._file.seek(self._position)
        count = self._file.readinto(buffer)
        self._position += count
        return count


def _folder_bundle(name: str, path: Path) -> Bundle:
    bundle = Bundle(name)
    entries = []
    with os.scandir(path) as items:
        for entry in items:
            if len(entries) == MAX_MEMBERS:
                bundle.problems.append(Problem(name, 1, "file", f"more than {MAX_MEMBERS:,} items in the bundle "
                                               "folder; a bundle holds its CSV files only"))
                break
            entries.append(entry)
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.is_symlink():
            bundle.problems.append(Problem(entry.name, 1, "file", "a symbolic link; links are not followed, put the "
                                           "file itself in the bundle folder"))
        elif entry.is_dir(follow_symlinks=False):
            if entry.name != "__MACOSX":
                bundle.problems.append(Problem(entry.name, 1, "file", "a folder inside the bundle; put the CSV files "
                                               "directly in the bundle folder"))
        elif not entry.is_file(follow_symlinks=False):
            bundle.problems.append(Problem(entry.name, 1, "file", "not a regular file (a device, pipe or socket)"))
        else:
            size = entry.stat(follow_symlinks=False).st_size
            bundle.members[entry.name] = Member(entry.name, size, None, _regular_file_opener(entry.path))
    return bundle


def _regular_file_opener(path: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        # no link followed and no pipe waited on, even if the entry was swapped since it was listed
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(path, flags)
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OSError("not a regular file")
        return os.fdopen(descriptor, "rb", buffering=0)
    return opener


def _zip_bundle(name: str, file) -> Bundle:
    bundle = Bundle(name)
    try:
        entries = _zip_entry_count(file)
        if entries is not None and entries > MAX_MEMBERS:
            bundle.problems.append(Problem(name, 1, "file", f"the zip holds {entries:,} entries; a bundle holds a few "
                                           f"CSV files (at most {MAX_MEMBERS:,} entries are read)"))
            return bundle
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as error:
        bundle.problems.append(Problem(name, 1, "file", f"not a readable zip archive ({error})"))
        return bundle
    bundle.closers.append(archive.close)
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.is_dir() or not parts or parts[0] == "__MACOSX":
            continue
        base = parts[-1]
        if stat.S_ISLNK(info.external_attr >> 16):
            bundle.problems.append(Problem(base, 1, "file", f"a symbolic link in the zip ({info.filename}); links are "
                                           "not followed, zip the file itself"))
        elif info.flag_bits & 0x1:
            bundle.problems.append(Problem(base, 1, "file", f"encrypted in the zip ({info.filename}); zip the bundle "
                                           "without a password"))
        elif base in bundle.members:
            bundle.problems.append(Problem(base, 1, "file", f"appears twice in the zip ({info.filename})"))
        else:
            bundle.members[base] = Member(base, info.file_size, info.compress_size,
                                          lambda info=info: archive.open(info))
    return bundle


def _zip_entry_count(file) -> int | None:
    """The number of entries the zip's end record declares, read before zipfile parses the central directory (a
    zip of millions of empty entries would otherwise fill memory with their descriptions)."""
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as handle:
            record = zipfile._EndRecData(handle)  # noqa: SLF001  (zipfile's own reader of the end record)
    else:
        record = zipfile._EndRecData(file)  # noqa: SLF001
        file.seek(0)
    return None if record is None else record[zipfile._ECD_ENTRIES_TOTAL]  # noqa: SLF001


def classify(bundle: Bundle, limits: Limits) -> tuple[dict[str, Member], list[Problem]]:
    """The bundle files among the members that can be read within `limits`; the derived files of an export are
    ignored (never read); unknown files, oversize files and likely zip bombs are problems."""
    known: dict[str, Member] = {}
    problems: list[Problem] = []
    total = 0
    for name, member in bundle.members.items():
        if name in DERIVED_FILES:
            continue
        if name not in FILES_BY_NAME:
            allowed = ", ".join(FILES_BY_NAME)
            problems.append(Problem(name, 1, "file", f"unknown file; a bundle holds {allowed} "
                                    f"(and the derived {', '.join(DERIVED_FILES)}, which are ignored)"))
            continue
        ratio = member.size / max(member.compressed, 1) if member.compressed is not None else 1.0
        if member.size > RATIO_FLOOR and ratio > limits.max_ratio:
            problems.append(Problem(name, 1, "file", f"compressed {ratio:,.0f} times in the zip "
                                    f"({mebibytes(member.size)} from {mebibytes(member.compressed)}); refused as a "
                                    f"likely zip bomb (the limit is {limits.max_ratio:,g} times, "
                                    f"{MAX_RATIO_VARIABLE})"))
        elif total + member.size > limits.max_bytes:
            problems.append(Problem(name, 1, "file", f"{mebibytes(member.size)} uncompressed; an import reads at most "
                                    f"{mebibytes(limits.max_bytes)} in all ({MAX_BYTES_VARIABLE})"
                                    + (f", and the files before it hold {mebibytes(total)}" if total else "")))
        else:
            total += member.size
            known[name] = member
    return known, problems


def oversize(sizes: Mapping[str, int], limits: Limits) -> str | None:
    """Why uploads of these sizes (file name -> bytes) cannot be imported, or None: the whole upload is already
    larger than an import reads (a zip is judged by its members once opened)."""
    total = sum(sizes.values())
    if total <= limits.max_bytes:
        return None
    return (f"the upload is {mebibytes(total)}; an import reads at most {mebibytes(limits.max_bytes)} "
            f"({MAX_BYTES_VARIABLE}). Split the bundle, or ask the administrator of the server to raise the limit")


def count_lines(member: Member) -> int:
    """The line breaks of a member (for a progress bar's total), read in chunks; 0 when it cannot be read."""
    count = 0
    try:
        with member.opener() as stream:
            while chunk := stream.read(_CHUNK):
                count += chunk.count(b"\n")
    except _READ_ERRORS:
        return 0
    return count


# --- one CSV file, record by record ------------------------------------------------------------------


@dataclass
class Table:
    """One bundle file: its header and its records, read lazily: (line, {column: cell}) or a Problem."""

    spec: BundleFile
    header: list[str]
    records: Iterator[tuple[int, dict[str, str]] | Problem]


class _Capped(io.RawIOBase):
    """A binary stream that refuses to give more than `limit` bytes (the size it was declared to have)."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        count = self._stream.readinto(view[:max(self._left + 1, 1)]) or 0
        self._left -= count
        if self._left < 0:
            raise TooLarge("it holds more bytes than when the bundle was opened; did it change meanwhile?")
        return count

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class _RecordTooLong(Exception):
    pass


class _LineState:
    """What the line feeder tells the record loop: characters of the record so far, and whether a line of it held
    bytes that are not UTF-8 (decoded as lone surrogates)."""

    __slots__ = ("size", "undecoded")

    def __init__(self) -> None:
        self.size = 0
        self.undecoded = False


def _lines(text: io.TextIOBase, state: _LineState) -> Iterator[str]:
    """The physical lines of `text` for csv.reader (line ends kept), no record longer than MAX_RECORD characters:
    a file of one endless line is refused after a megabyte, never read whole."""
    readline = text.readline
    while line := readline(MAX_RECORD):
        state.size += len(line)
        # a line cut at the limit is longer than it (csv.reader would take the cut for the end of a record)
        if state.size > MAX_RECORD or (len(line) == MAX_RECORD and line[-1] not in "\r\n"):
            raise _RecordTooLong
        if not line.isascii() and _UNDECODED.search(line):
            state.undecoded = True
        yield line


_UNDECODED = re.compile("[\udc80-\udcff]")


def _not_utf8(name: str, line: int, column: str, cell: str) -> Problem:
    byte = ord(_UNDECODED.search(cell).group()) - 0xDC00
    return Problem(name, line, column, f"not UTF-8 text (byte 0x{byte:02x}); save the file as CSV UTF-8")


def _too_long(name: str, line: int, spec: BundleFile) -> Problem:
    what = "the header is" if line == 1 else "a record is"
    return Problem(name, line, "file", f"{what} longer than {MAX_RECORD:,} characters; {name} has at most "
                   f"{len(spec.columns)} columns of short values (is it a CSV file of the bundle?)")


def read_table(spec: BundleFile, member: Member, log: ProblemLog,
               closers: list[Callable[[], None]] | None = None) -> tuple[Table | None, list[Problem]]:
    """Open one CSV file and check its header against the spec; the Table's records follow lazily, cells unescaped,
    one problem per bad record. Reading stops when `log` is full (its `stop_after`), noting where.

    The stream stays open for the records; its `close` is added to `closers` (see Bundle)."""
    name = spec.name
    try:
        raw = _Capped(member.opener(), member.size)
    except _READ_ERRORS as error:
        return None, [Problem(name, 1, "file", f"cannot be read ({error})")]
    text = io.TextIOWrapper(io.BufferedReader(raw, _CHUNK), encoding="utf-8-sig", errors="surrogateescape",
                            newline="")
    if closers is not None:
        closers.append(text.close)
    state = _LineState()
    rows = csv.reader(_lines(text, state), strict=True)
    try:
        header = next(rows, None)
    except csv.Error as error:
        return None, [Problem(name, 1, "file", f"not a readable CSV header ({error})")]
    except _RecordTooLong:
        return None, [_too_long(name, 1, spec)]
    except _READ_ERRORS as error:
        return None, [Problem(name, 1, "file", f"cannot be read ({error})")]
    if not header or all(not cell.strip() for cell in header):
        return None, [Problem(name, 1, "file", "no header row; the first line names the columns")]
    if len(header) > MAX_COLUMNS:
        return None, [Problem(name, 1, "file", f"the header has {len(header):,} columns; {name} has at most "
                              f"{len(spec.columns)}: " + ", ".join(spec.columns))]
    header = [cell.strip() for cell in header]
    if state.undecoded:
        bad = next((cell for cell in header if _UNDECODED.search(cell)), None)
        if bad is not None:
            return None, [_not_utf8(name, 1, "file", bad)]
    problems: list[Problem] = []
    seen: set[str] = set()
    for column in header:
        if column not in spec.kinds:
            problems.append(Problem(name, 1, column or "(blank)", "unknown column; allowed: "
                                    + ", ".join(spec.columns)))
        elif column in seen:
            problems.append(Problem(name, 1, column, "appears twice in the header"))
        seen.add(column)
    for column in spec.required:
        if column not in seen:
            problems.append(Problem(name, 1, column, "required column is missing from the header"))
    if problems:
        return None, problems
    return Table(spec, header, _iter_records(spec, header, rows, state, log)), []


def _iter_records(spec: BundleFile, header: list[str], rows: Iterator[list[str]], state: _LineState,
                  log: ProblemLog):
    name = spec.name
    width = len(header)
    text_columns = [c for c in header if spec.kinds[c] == TEXT]
    line = 1
    state.size = 0
    found = 0  # problems of this file's records (an importer may keep them in a list of its own, not in `log`)
    stop = log.stop_after or -1
    try:
        for cells in rows:
            line += 1
            state.size = 0
            if log.full or found == stop:
                log.stopped(f"{name}:{line}")
                return
            if state.undecoded:
                state.undecoded = False
                bad = next((i for i, cell in enumerate(cells) if _UNDECODED.search(cell)), None)
                if bad is not None:
                    found += 1
                    yield _not_utf8(name, line, header[min(bad, width - 1)], cells[bad])
                    continue
            if len(cells) != width or width == 1:  # the common case, a full record, checks nothing more
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line
                if len(cells) != width:
                    found += 1
                    yield Problem(name, line, header[min(len(cells), width) - 1],
                                  f"{len(cells)} cells but the header has {width} columns")
                    continue
            record = dict(zip(header, cells, strict=True))
            for column in text_columns:
                value = record[column]
                if value[:1] == "'":
                    record[column] = unescape(value)
            yield line, record
    except csv.Error as error:
        yield Problem(name, line + 1, "file", f"not readable as CSV ({error})")
    except _RecordTooLong:
        yield _too_long(name, line + 1, spec)
    except _READ_ERRORS as error:
        yield Problem(name, line + 1, "file", f"cannot be read past this line ({error})")
