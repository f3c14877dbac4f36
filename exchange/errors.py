"""The bundle's validation report: every problem as a line `file:line: column: reason`."""

from __future__ import annotations

from models.errors import SkintrackError

# the characters that end a line (str.splitlines), shown escaped: \n, \r, \x0b, ..., \u2028
_ONE_LINE = {ord(c): c.encode("unicode_escape").decode("ascii")
             for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


class Problem(str):
    """One report line, `file:line: column: reason`; also carries its parts (and `field`/`reason`, so
    `ui.messages.show_error` can show it like any other problem)."""

    file: str
    line: int
    column: str
    field: str
    reason: str

    def __new__(cls, file: str, line: int, column: str, reason: str) -> Problem:
        # one problem, one line of the report: a line break in a file or column name (or a value) is shown escaped
        file, column, reason = (str(part).translate(_ONE_LINE) for part in (file, column, reason))
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
