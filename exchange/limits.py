"""How much an import reads before it refuses a bundle: the settings that bound memory and time on any input.

A zip holding one highly compressible 2 GiB member, a CSV of millions of bad rows or a header of a million
columns must be refused in seconds, in bounded memory, by the command line and the Import screen alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from models.errors import InvalidValue

MAX_BYTES_VARIABLE = "SKINTRACK_IMPORT_MAX_BYTES"
MAX_RATIO_VARIABLE = "SKINTRACK_IMPORT_MAX_RATIO"
MAX_PROBLEMS_VARIABLE = "SKINTRACK_IMPORT_MAX_PROBLEMS"

# A 20,000-patient registry is about 60 MB of CSV; 256 MiB leaves four times that.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# CSV bundles deflate 5-10 times; a zip bomb about 1,000 times. 100 is Apache POI's default for the same guard.
DEFAULT_MAX_RATIO = 100
# Checking stops after this many problems: nobody reads past them, and a file of millions of bad rows would
# otherwise take minutes to check row by row.
DEFAULT_MAX_PROBLEMS = 100_000

RATIO_FLOOR = 1024 * 1024  # members smaller than this are never refused for their ratio (a tiny file may deflate well)
MAX_MEMBERS = 1_000  # zip entries or folder items; a bundle has 5 files (and 7 derived ones)
MAX_RECORD = 1024 * 1024  # characters of one CSV record (the header too); a legit record is far shorter
MAX_COLUMNS = 200  # header cells; a bundle file has at most a few dozen columns

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


@dataclass(frozen=True)
class Limits:
    """`max_bytes`: uncompressed bytes of the whole bundle; `max_ratio`: the compression ratio beyond which a zip
    member (above `RATIO_FLOOR`) is refused as a likely zip bomb; `max_problems`: problems after which checking
    stops (0: never)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO
    max_problems: int = DEFAULT_MAX_PROBLEMS

    @classmethod
    def from_environment(cls) -> Limits:
        return cls(max_bytes=_size(MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES),
                   max_ratio=_number(MAX_RATIO_VARIABLE, DEFAULT_MAX_RATIO),
                   max_problems=_count(MAX_PROBLEMS_VARIABLE, DEFAULT_MAX_PROBLEMS))


def _setting(variable: str) -> str | None:
    value = os.environ.get(variable)
    return value if value is not None and value.strip() else None


def _size(variable: str, default: int) -> int:
    """A byte count: digits, optionally with K, M or G (binary: 256M = 256 MiB)."""
    value = _setting(variable)
    if value is None:
        return default
    match = _SIZE.match(value)
    if not match or int(match.group(1)) == 0:
        raise InvalidValue(f"{value!r} is not a size; give bytes, e.g. 268435456 or 256M", field=variable)
    return int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]


def _number(variable: str, default: float) -> float:
    value = _setting(variable)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number >= 1 or number == float("inf"):
        raise InvalidValue(f"{value!r} is not a ratio; give a number of at least 1, e.g. {default}", field=variable)
    return number


def _count(variable: str, default: int) -> int:
    value = _setting(variable)
    if value is None:
        return default
    if not value.strip().isdigit():
        raise InvalidValue(f"{value!r} is not a whole number; give e.g. {default} (0: check every row)",
                           field=variable)
    return int(value)


def mebibytes(size: int) -> str:
    """A byte count as people read it: 268,435,456 -> '256 MiB'."""
    for unit, factor in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,} bytes"
