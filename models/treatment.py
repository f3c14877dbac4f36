"""Treatments: medication periods at a constant dose, and point events (injections, procedures,
gadolinium exposure, adverse events)."""

from __future__ import annotations

import math
from datetime import date

from pydantic import ValidationInfo, field_validator, model_validator
from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from models.base import LIVE, Recorded
from models.catalog import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    CTCAE_GRADES,
    DOSE_UNITS,
    EVENT_KINDS,
    FREQUENCY_RULE,
    RELATEDNESS,
    ROUTES,
    SITE_CODES,
    dose_check,
    is_valid_frequency,
    join_sites,
    split_sites,
)
from models.ctcae import CTCAE_TERM_NAMES, CTCAE_VERSION
from models.errors import ImplausibleValue, InvalidDate, InvalidValue, UnknownSite
from models.validation import Input, blank_to_none, check_choice, check_not_future, optional_text, required_text

# --- medication periods ---------------------------------------------------------------------------


class MedicationPeriodBase(SQLModel):
    drug: str = Field(max_length=100)
    dose: float
    dose_unit: str = Field(max_length=8)
    frequency: str = Field(max_length=32)
    route: str = Field(default="", max_length=16)
    start_date: date
    end_date: date | None = None  # inclusive; None while ongoing
    reason: str = Field(default="")


class MedicationPeriodCreate(Input, MedicationPeriodBase):
    patient_id: str

    @field_validator("patient_id", "drug", "dose_unit", "frequency", mode="before")
    @classmethod
    def _required(cls, value, info):
        return required_text(value, info.field_name)

    @field_validator("route", "reason", mode="before")
    @classmethod
    def _text(cls, value):
        return optional_text(value)

    @field_validator("end_date", mode="before")
    @classmethod
    def _blank_end(cls, value):
        return blank_to_none(value)

    @field_validator("drug")
    @classmethod
    def _drug(cls, value):
        if value != value.lower():
            raise InvalidValue(f"{value!r}: use the generic name in lower case ({value.lower()!r})", field="drug")
        return value

    @field_validator("dose")
    @classmethod
    def _dose(cls, value):
        if not 0 < value < math.inf:
            raise InvalidValue(f"{value:g} is not a dose; it must be a finite number greater than 0", field="dose")
        return value

    @field_validator("dose_unit")
    @classmethod
    def _unit(cls, value):
        return check_choice(value, DOSE_UNITS, "dose_unit")

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value):
        if not is_valid_frequency(value):
            raise InvalidValue(f"{value!r} is not allowed; allowed: {FREQUENCY_RULE}", field="frequency")
        return value

    @field_validator("route")
    @classmethod
    def _route(cls, value):
        return check_choice(value or None, ROUTES, "route") or ""

    @field_validator("start_date", "end_date")
    @classmethod
    def _not_future(cls, value, info):
        return check_not_future(value, info.field_name)

    @model_validator(mode="after")
    def _order(self):
        if self.end_date is not None and self.end_date < self.start_date:
            raise InvalidDate(f"{self.end_date.isoformat()} is before the start date {self.start_date.isoformat()}",
                              field="end_date")
        return self

    @model_validator(mode="after")
    def _plausible_dose(self):
        verdict = dose_check(self.drug, self.dose, self.dose_unit)
        if verdict is not None and verdict[0] == "refuse":
            raise ImplausibleValue(verdict[1], field="dose")
        return self


class MedicationPeriodUpdate(MedicationPeriodCreate):
    """The full new content of a period."""


class MedicationPeriod(MedicationPeriodBase, Recorded, table=True):
    __tablename__ = "medication_period"
    __table_args__ = (
        CheckConstraint("dose > 0", name="ck_medication_dose_positive"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_medication_dates_ordered"),
        Index("ux_medication_key", "patient_key", "drug", "start_date", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        Index("ix_medication_drug", "drug", "start_date"),
        # PostgreSQL also refuses overlapping live periods of one drug with an exclusion constraint
        # (ex_medication_overlap, migration 0004; btree_gist), which SQLAlchemy's metadata does not describe.
    )

    period_id: int | None = Field(default=None, primary_key=True)
    patient_key: int = Field(foreign_key="patient.patient_key")


# --- point events ---------------------------------------------------------------------------------


class TreatmentEventBase(SQLModel):
    date: date
    kind: str = Field(max_length=32)
    description: str = Field(default="")
    sites: str = Field(default="", max_length=400)  # ';'-joined site codes, catalogue order
    agent: str = Field(default="", max_length=100)
    dose: float | None = None
    dose_unit: str = Field(default="", max_length=8)
    grade: int | None = None  # CTCAE 1-5, adverse events only
    serious: bool | None = None  # adverse events only
    end_date: date | None = None  # resolution date
    # Adverse events only (EXCHANGE.md events.csv): the CTCAE v5.0 term (models.ctcae), the drug suspected
    # (blank = none; a drug of the patient's medication periods, models.rules), and the vocabularies of the
    # catalogue. Events recorded before terms were coded keep their free-text term in description.
    term: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    suspected_drug: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    relatedness: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    action_taken: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    outcome: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})


AE_FIELDS = ("term", "suspected_drug", "relatedness", "action_taken", "outcome")
# Validation context of a bundle's rows: an adverse event there may lack its term. Events recorded before terms
# were coded (migration 0004) have none; their free-text term is the description, which a de-identified bundle
# leaves out. A form records every adverse event with its term, and a correction codes an old one.
FROM_A_BUNDLE = "from_a_bundle"
AE_CHOICES = {"relatedness": RELATEDNESS, "action_taken": ACTIONS_TAKEN, "outcome": AE_OUTCOMES}


class TreatmentEventCreate(Input, TreatmentEventBase):
    patient_id: str

    @field_validator("patient_id", "kind", mode="before")
    @classmethod
    def _required(cls, value, info):
        return required_text(value, info.field_name)

    @field_validator("description", "agent", "dose_unit", *AE_FIELDS, mode="before")
    @classmethod
    def _text(cls, value):
        return optional_text(value)

    @field_validator("dose", "grade", "end_date", mode="before")
    @classmethod
    def _blank(cls, value):
        return blank_to_none(value)

    @field_validator("serious", mode="before")
    @classmethod
    def _serious(cls, value):
        value = blank_to_none(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ("yes", "no"):
                raise InvalidValue(f"{value!r} is not allowed; allowed: yes, no", field="serious")
            return lowered == "yes"
        return value

    @field_validator("sites", mode="before")
    @classmethod
    def _sites(cls, value):
        value = blank_to_none(value)
        codes = split_sites(value) if isinstance(value, str) else list(value or [])
        unknown = [c for c in codes if c not in SITE_CODES]
        if unknown:
            raise UnknownSite(f"{', '.join(map(repr, unknown))} not an mRSS site code; allowed: "
                              f"{', '.join(SITE_CODES)}", field="sites")
        return join_sites(codes)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value):
        return check_choice(value, EVENT_KINDS, "kind")

    @field_validator("dose")
    @classmethod
    def _dose(cls, value):
        if value is not None and not 0 < value < math.inf:
            raise InvalidValue(f"{value:g} is not a dose; it must be a finite number greater than 0", field="dose")
        return value

    @field_validator("dose_unit")
    @classmethod
    def _unit(cls, value):
        return check_choice(value or None, DOSE_UNITS, "dose_unit") or ""

    @field_validator("term")
    @classmethod
    def _term(cls, value):
        if value and value not in CTCAE_TERM_NAMES:
            raise InvalidValue(f"{value!r} is not a CTCAE v{CTCAE_VERSION} term of the catalogue; choose one from "
                               "the list, spelled as CTCAE spells it (e.g. 'Nausea', 'Edema limbs')", field="term")
        return value

    @field_validator("suspected_drug")
    @classmethod
    def _suspected_drug(cls, value):
        if value != value.lower():
            raise InvalidValue(f"{value!r}: use the generic name in lower case ({value.lower()!r}), as the "
                               "medication period names it", field="suspected_drug")
        return value

    @field_validator("relatedness", "action_taken", "outcome")
    @classmethod
    def _ae_choice(cls, value, info):
        return check_choice(value or None, AE_CHOICES[info.field_name], info.field_name) or ""

    @field_validator("grade")
    @classmethod
    def _grade(cls, value):
        if value is not None and value not in CTCAE_GRADES:
            raise InvalidValue(f"{value} is not a CTCAE grade; allowed 1, 2, 3, 4, 5", field="grade")
        return value

    @field_validator("date", "end_date")
    @classmethod
    def _not_future(cls, value, info):
        return check_not_future(value, info.field_name)

    @model_validator(mode="after")
    def _by_kind(self, info: ValidationInfo):
        if self.kind == "steroid_injection" and not self.sites:
            raise UnknownSite("a steroid injection needs the injected sites (site codes joined by ';')",
                              field="sites")
        if self.kind == "adverse_event":
            if self.grade is None:
                raise InvalidValue("is required for an adverse event; allowed 1, 2, 3, 4, 5", field="grade")
            if self.serious is None:
                raise InvalidValue("is required for an adverse event; allowed: yes, no", field="serious")
            if not self.term and not (info.context or {}).get(FROM_A_BUNDLE):
                raise InvalidValue(f"is required for an adverse event: choose its CTCAE v{CTCAE_VERSION} term",
                                   field="term")
        else:
            for name in ("grade", "serious", *AE_FIELDS):
                if getattr(self, name) not in (None, ""):
                    raise InvalidValue("applies to adverse events only; leave it blank", field=name)
        if self.end_date is not None and self.end_date < self.date:
            raise InvalidDate(f"{self.end_date.isoformat()} is before the event date {self.date.isoformat()}",
                              field="end_date")
        return self

    @property
    def site_list(self) -> list[str]:
        return split_sites(self.sites)


class TreatmentEventUpdate(TreatmentEventCreate):
    """The full new content of an event."""


class TreatmentEvent(TreatmentEventBase, Recorded, table=True):
    __tablename__ = "treatment_event"
    __table_args__ = (
        CheckConstraint("grade IS NULL OR grade BETWEEN 1 AND 5", name="ck_event_grade_range"),
        Index("ix_event_patient_date", "patient_key", "date"),
    )

    event_id: int | None = Field(default=None, primary_key=True)
    patient_key: int = Field(foreign_key="patient.patient_key")
