"""The bundle's validation report: every problem as a line `file:line: column: reason`."""

from __future__ import annotations

from models.errors import SkintrackError


class Problem(str):
    """One report line, `file:line: column: reason`; also carries its parts (and `field`/`reason`, so
    `ui.messages.show_error` can show it like any other problem)."""

    file: str
    line: int
    column: str
    field: str
    reason: str

    def __new__(cls, file: str, line: int, column: str, reason: str) -> Problem:
        text = f"{file}:{line}: {column}: {reason}"
        self = super().__new__(cls, text)
        self.file, self.line, self.column = file, line, column
        self.field, self.reason = "", text
        return self


class BundleRejected(SkintrackError):
    """The bundle has problems; nothing was written. `problems` holds every report line."""

    def __init__(self, problems: list[Problem]) -> None:
        count = len(problems)
        super().__init__(f"the bundle was rejected ({count} problem{'s' if count != 1 else ''}); nothing was "
                         "written")
        self.problems = list(problems)
