"""Reading a bundle: a folder, a .zip (path or bytes) or uploaded files, into checked CSV records.

Line numbers are record numbers as a spreadsheet shows them: the header is line 1 and a quoted cell
spanning several lines counts once.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from exchange.errors import Problem
from exchange.spec import DERIVED_FILES, FILES_BY_NAME, TEXT, BundleFile

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def unescape(value: str) -> str:
    """Undo the export's formula protection: one `'` less before = + - @ tab CR (`'=x` -> `=x`, `''=x` -> `'=x`).

    EXCHANGE.md removes the `'` of `'=x`; it also promises that a round trip gives back the same text, and
    the export writes a stored `'=x` as `''=x`, so the importer removes one quote of any run of them before
    a formula character (and the exporter adds one to any such run, see `exporter.protect_cell`)."""
    return value[1:] if _ESCAPED.match(value) else value


@dataclass
class Table:
    """One bundle file: its header and its records, read lazily: (line, {column: cell}) or a Problem."""

    spec: BundleFile
    header: list[str]
    records: Iterator[tuple[int, dict[str, str]] | Problem]


def bundle_files(source) -> tuple[str, dict[str, bytes], list[Problem]]:
    """(bundle name, file name -> bytes, problems) of a folder, a .zip path, zip bytes or a dict of files."""
    if isinstance(source, Mapping):
        return "upload", {PurePosixPath(str(k)).name: bytes(v) for k, v in source.items()}, []
    if isinstance(source, bytes | bytearray):
        return _zip_files("bundle.zip", bytes(source))
    path = Path(source)
    if path.is_dir():
        files, problems = {}, []
        for item in sorted(path.iterdir()):
            if item.is_file():
                files[item.name] = item.read_bytes()
            elif item.name not in ("__MACOSX",):
                problems.append(Problem(item.name, 1, "file", "a folder inside the bundle; put the CSV files "
                                        "directly in the bundle folder"))
        return path.name, files, problems
    return _zip_files(path.name, path.read_bytes())


def _zip_files(name: str, data: bytes) -> tuple[str, dict[str, bytes], list[Problem]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files: dict[str, bytes] = {}
            problems: list[Problem] = []
            for info in archive.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.is_dir() or not parts or parts[0] == "__MACOSX":
                    continue
                base = parts[-1]
                if base in files:
                    problems.append(Problem(base, 1, "file", f"appears twice in the zip ({info.filename})"))
                    continue
                files[base] = archive.read(info)
            return name, files, problems
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as error:
        return name, {}, [Problem(name, 1, "file", f"not a readable zip archive ({error})")]


def classify(files: dict[str, bytes]) -> tuple[dict[str, bytes], list[Problem]]:
    """The bundle files among `files` (derived files of an export ignored); unknown files are problems."""
    known, problems = {}, []
    for name, data in files.items():
        if name in FILES_BY_NAME:
            known[name] = data
        elif name not in DERIVED_FILES:
            allowed = ", ".join(FILES_BY_NAME)
            problems.append(Problem(name, 1, "file", f"unknown file; a bundle holds {allowed} "
                                    f"(and the derived {', '.join(DERIVED_FILES)}, which are ignored)"))
    return known, problems


def decode(data: bytes) -> tuple[str, bool]:
    """The text of a file (UTF-8, a BOM accepted) and whether it holds bytes that are not UTF-8.

    Such bytes are kept as lone surrogates (`surrogateescape`), so that `read_table` can report every
    record that holds one on its own line (record numbers, as for any other problem); the second item is
    True then. The problems themselves come from `read_table`.
    """
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", "surrogateescape"), True


_UNDECODED = re.compile("[\udc80-\udcff]")


def _not_utf8(name: str, line: int, column: str, cell: str) -> Problem:
    byte = ord(_UNDECODED.search(cell).group()) - 0xDC00
    return Problem(name, line, column, f"not UTF-8 text (byte 0x{byte:02x}); save the file as CSV UTF-8")


def _records(text: str) -> Iterator[list[str]]:
    yield from csv.reader(io.StringIO(text, newline=""), strict=True)


def read_table(spec: BundleFile, text: str, undecoded: bool = False) -> tuple[Table | None, list[Problem]]:
    """Parse one CSV file against its spec: header checked, cells unescaped, one problem per bad record.

    `undecoded` (from `decode`): the text holds bytes that are not UTF-8; each record holding one is a problem.
    """
    name = spec.name
    problems: list[Problem] = []
    rows = _records(text)
    try:
        header = next(rows, None)
    except csv.Error as error:
        return None, [Problem(name, 1, "file", f"not a readable CSV header ({error})")]
    if not header or all(not cell.strip() for cell in header):
        return None, [Problem(name, 1, "file", "no header row; the first line names the columns")]
    header = [cell.strip() for cell in header]
    if undecoded and any(_UNDECODED.search(cell) for cell in header):
        return None, [_not_utf8(name, 1, "file", ",".join(header))]
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
    records = _iter_records(spec, header, rows)
    return Table(spec, header, _undecoded_records(name, records) if undecoded else records), []


def _iter_records(spec: BundleFile, header: list[str], rows: Iterator[list[str]]):
    name = spec.name
    width = len(header)
    text_columns = [c for c in header if spec.kinds[c] == TEXT]
    line = 1
    try:
        for cells in rows:
            line += 1
            if len(cells) != width or width == 1:  # the common case, a full record, checks nothing more
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # a blank line
                if len(cells) != width:
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


def _undecoded_records(name: str, records: Iterator) -> Iterator:
    """The records, those holding a byte that is not UTF-8 replaced by a problem naming its column."""
    for item in records:
        if not isinstance(item, Problem):
            line, record = item
            bad = next((column for column, cell in record.items() if _UNDECODED.search(cell)), None)
            if bad is not None:
                yield _not_utf8(name, line, bad, record[bad])
                continue
        yield item
