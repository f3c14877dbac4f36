"""The bundle's validation report: every problem as a line `file:line: column: reason`, capped.

A hostile bundle can hold millions of bad rows; the report keeps the first `KEEP` problems and counts the
rest per file, column and reason (the reason with its values taken out, so that `'x' is not a number` and
`'y' is not a number` count together): `ProblemLog`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from models.errors import SkintrackError

KEEP = 1_000  # problems kept word for word; the rest are counted
GROUPS = 50  # distinct (file, column, reason) counts; beyond them, per file and reason, then one count


def _escapes() -> dict[int, str]:
    """Characters never written raw into a report line: C0 and C1 controls (NUL, ESC, tab, line breaks...), DEL,
    the Unicode line and paragraph separators, the bidirectional overrides (which reorder what a terminal shows)
    and lone surrogates (bytes that were not UTF-8). Each is shown as its Python escape, e.g. NUL as \\x00."""
    codes = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
             *range(0xD800, 0xE000)]
    return {code: chr(code).encode("unicode_escape").decode("ascii") for code in codes}


_ESCAPES = _escapes()
_TO_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")  # the keys of _ESCAPES
_PART_MAX = {"file": 200, "column": 200, "reason": 1_000}  # one report line stays readable (a cell may be 128 KiB)


def one_line(text: str, limit: int | None = None) -> str:
    """`text` as one printable line: control characters escaped (see `_escapes`), cut to `limit` characters."""
    text = str(text)
    if not text.isascii() or _TO_ESCAPE.search(text):  # most text has nothing to escape: skip translate's lookups
        text = text.translate(_ESCAPES)
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


class Problem(str):
    """One report line, `file:line: column: reason`, control characters escaped; also carries its parts
    (`file`, `line`, `column`, `detail` = the reason as shown) and `field`/`reason` (the whole line), so that
    `ui.messages.show_error` can show it like any other problem."""

    file: str
    line: int
    column: str
    detail: str
    field = ""

    def __new__(cls, file: str, line: int, column: str, reason: str) -> Problem:
        file, column, detail = (one_line(part, _PART_MAX[name])
                                for name, part in (("file", file), ("column", column), ("reason", reason)))
        self = super().__new__(cls, f"{file}:{line}: {column}: {detail}")
        self.file, self.line, self.column, self.detail = file, line, column, detail
        return self

    @property
    def reason(self) -> str:
        return str(self)


# the values inside a reason, taken out when problems are counted together: quoted text (Python's repr, either
# quote), then numbers, dates and bytes (3, 12.5, 2021-03-01, 0xff)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NUMBER = re.compile(r"(?<![\w.+-])(?:0x[0-9a-fA-F]+|[-+]?\d+(?:[.,:/-]\d+)*)(?!\w)")


def general_reason(reason: str) -> str:
    """The reason with its values replaced by `…`: `'x' is not a number` -> `… is not a number`."""
    return _NUMBER.sub("…", _QUOTED.sub("…", reason))


class ProblemLog:
    """The problems of one import: the first `keep` word for word, the rest counted per (file, column, reason
    without its values). Behaves like the list it replaces: append, extend, +=, len, bool, iteration, [i], sort.

    - `len(log)` is every problem found (kept and counted); `bool(log)` whether there is any.
    - Iteration, `[i]` and `sort` see the kept problems only (`kept`).
    - `omitted` is how many were counted only; `groups()` gives (file, column, reason, count) of those, largest
      first; `summary()` the lines that end the report, e.g.
      `… and 2,351,941 more: measurements.csv value: must be a number ×2,351,941`; `lines()` the whole report.
    - `stop_after` (0: never): once that many problems are found, `full` is True and the reader stops checking
      (`stopped(where)` records where), so a file of millions of bad rows is refused in seconds.
    """

    def __init__(self, problems: Iterable[Problem] = (), *, keep: int = KEEP, stop_after: int = 0) -> None:
        self.keep = keep
        self.stop_after = stop_after
        self.kept: list[Problem] = []
        self.omitted = 0
        self.stopped_at: str | None = None
        self.full = False  # checking should stop: `stop_after` problems found (a plain attribute: read per record)
        self._groups: Counter[tuple[str, str, str]] = Counter()
        self.extend(problems)

    # --- the list interface the importer uses ---------------------------------------------------
    def append(self, problem: Problem) -> None:
        if len(self.kept) < self.keep:
            self.kept.append(problem)
        else:
            self.omitted += 1
            self._count(problem)
        if self.stop_after and len(self.kept) + self.omitted >= self.stop_after:
            self.full = True

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)

    def __iadd__(self, problems: Iterable[Problem]) -> ProblemLog:
        self.extend(problems)
        return self

    def __len__(self) -> int:
        return len(self.kept) + self.omitted

    def __bool__(self) -> bool:
        return bool(self.kept) or self.omitted > 0

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.kept)

    def __getitem__(self, index):
        return self.kept[index]

    def sort(self, *, key: Callable | None = None, reverse: bool = False) -> None:
        self.kept.sort(key=key, reverse=reverse)

    def __repr__(self) -> str:
        return f"ProblemLog({len(self.kept)} kept, {self.omitted} counted)"

    # --- the cap ---------------------------------------------------------------------------------
    def stopped(self, where: str) -> None:
        """Record that checking stopped at `where` (`file:line`) because the log is full."""
        if self.stopped_at is None:
            self.stopped_at = one_line(where, 300)

    def add_counted(self, other: ProblemLog) -> None:
        """Add the problems `other` only counted (and where it stopped) to this log's counts: for an importer that
        copied the kept problems of `other` into a list of its own, so that none is lost or counted twice."""
        for (file, column, reason), count in other._groups.items():
            self._groups[(file, column, reason)] += count
        self.omitted += other.omitted
        self.stopped_at = self.stopped_at or other.stopped_at
        self.full = self.full or other.full

    def _count(self, problem: Problem) -> None:
        file, column = getattr(problem, "file", ""), getattr(problem, "column", "")
        reason = general_reason(getattr(problem, "detail", str(problem)))
        key = (file, column, reason)
        if key not in self._groups and len(self._groups) >= GROUPS:
            key = (file, "(other columns)", reason)
            if key not in self._groups and len(self._groups) >= 2 * GROUPS:
                key = ("(other files)", "", "other problems")
        self._groups[key] += 1

    def groups(self) -> list[tuple[str, str, str, int]]:
        """(file, column, reason, count) of the problems counted only, largest count first."""
        ordered = sorted(self._groups.items(), key=lambda item: (-item[1], item[0]))
        return [(file, column, reason, count) for (file, column, reason), count in ordered]

    def summary(self) -> list[str]:
        """The lines after the kept problems: how many more, per file, column and reason; where checking stopped."""
        out = []
        groups = [f"{file} {column}: {reason} ×{count:,}".replace(" : ", ": ")
                  for file, column, reason, count in self.groups()]
        if len(groups) == 1:
            out.append(f"… and {self.omitted:,} more: {groups[0]}")
        elif groups:
            out.append(f"… and {self.omitted:,} more:")
            out.extend(f"  {group}" for group in groups)
        if self.stopped_at is not None:
            out.append(f"checking stopped at {self.stopped_at} after {len(self):,} problems (the rest of the bundle "
                       "was not checked); fix these and check again")
        return out

    def lines(self) -> list[str]:
        """The whole report: the kept problems, then the summary."""
        return [*self.kept, *self.summary()]


class BundleRejected(SkintrackError):
    """The bundle has problems; nothing was written. `problems` is the ProblemLog (a list is capped into one)."""

    def __init__(self, problems: ProblemLog | Iterable[Problem]) -> None:
        log = problems if isinstance(problems, ProblemLog) else ProblemLog(problems)
        count = len(log)
        more = "at least " if log.stopped_at is not None else ""
        super().__init__(f"the bundle was rejected ({more}{count:,} problem{'s' if count != 1 else ''}); nothing was "
                         "written")
        self.problems = log
