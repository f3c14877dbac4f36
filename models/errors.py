"""Named domain errors. Each message names the field and, where it helps, the allowed values.

Every error is a ValueError so that pydantic gathers several of them from one input; the model layer
re-raises the first with all of them attached (`problems`), so a form can show every problem at once.
"""

from __future__ import annotations


class SkintrackError(ValueError):
    """Base of every error a user can fix; `field` names the input it is about ('' when none)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message
        self.problems: list[SkintrackError] = [self]


class InvalidValue(SkintrackError):
    """A value that is not allowed for its field."""


class MissingValue(InvalidValue):
    """A required field left blank."""


class InvalidScore(InvalidValue):
    """A site score outside 0-3 or a total outside 0-51, or an inconsistent total."""


class UnknownSite(InvalidValue):
    """Not an mRSS site code."""


class UnknownMeasure(InvalidValue):
    """Not a measure code of the catalogue."""


class ImplausibleValue(InvalidValue):
    """A measure value outside the catalogue's plausible range."""


class InvalidText(InvalidValue):
    """Text holding a control character (models.validation.check_text: the one text rule)."""


class InvalidDate(InvalidValue):
    """A date that cannot be: in the future, before birth, or before its start."""


class DuplicatePatient(SkintrackError):
    """A patient with this identifier exists already."""


class DuplicateAssessment(SkintrackError):
    """An assessment for this patient, visit date and rater exists already."""

    def __init__(self, message: str, *, field: str = "", existing_id: int | None = None) -> None:
        super().__init__(message, field=field)
        self.existing_id = existing_id


class DuplicateRecord(SkintrackError):
    """A record with the same key (measurement, medication period or event) exists already."""


class OverlappingPeriod(SkintrackError):
    """Two periods of the same drug for one patient overlap."""


class UnknownPatient(SkintrackError):
    """No (live) patient has this identifier."""


class NotFound(SkintrackError):
    """The record does not exist or was deleted."""


class StaleRecord(SkintrackError):
    """The record was changed by someone else since the form was opened on it; nothing was written."""


class ReasonRequired(SkintrackError):
    """A correction or deletion needs a reason for the audit trail."""


class NotPermitted(SkintrackError):
    """The signed-in account's role does not allow this action."""


class AuthenticationFailed(SkintrackError):
    """Wrong username or password, or an inactive account."""


def combine(problems: list[SkintrackError]) -> SkintrackError:
    """The first problem, carrying all of them in `problems`."""
    first = problems[0]
    first.problems = list(problems)
    return first
