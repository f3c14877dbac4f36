"""Patient: the clinic's or study's identifier, diagnosis and (identifying) demographics."""

from __future__ import annotations

from datetime import date

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from models.base import Recorded
from models.catalog import DIAGNOSES, PATIENT_ID_RULE, SEXES, is_valid_patient_id
from models.errors import InvalidDate, InvalidValue
from models.validation import Input, blank_to_none, check_choice, check_not_future, optional_text


class PatientBase(SQLModel):
    diagnosis: str = Field(max_length=16)
    sex: str | None = Field(default=None, max_length=1)
    birth_year: int | None = None
    age_at_baseline: int | None = None
    diagnosis_date: date | None = None
    name: str = Field(default="", max_length=200)
    mrn: str = Field(default="", max_length=64)
    notes: str = Field(default="")


class PatientFields(Input, PatientBase):
    """Validation shared by create and update."""

    @field_validator("sex", "birth_year", "age_at_baseline", "diagnosis_date", mode="before")
    @classmethod
    def _blank(cls, value):
        return blank_to_none(value)

    @field_validator("name", "mrn", "notes", mode="before")
    @classmethod
    def _text(cls, value):
        return optional_text(value)

    @field_validator("diagnosis", mode="before")
    @classmethod
    def _diagnosis(cls, value):
        value = blank_to_none(value)
        if value is None:
            raise InvalidValue(f"is required; allowed: {', '.join(DIAGNOSES)}", field="diagnosis")
        return check_choice(str(value).strip(), DIAGNOSES, "diagnosis")

    @field_validator("sex")
    @classmethod
    def _sex(cls, value):
        return check_choice(value, SEXES, "sex")

    @field_validator("birth_year")
    @classmethod
    def _birth_year(cls, value):
        if value is not None and not 1900 <= value <= date.today().year:
            raise InvalidValue(f"{value} is not a four-digit year from 1900 to {date.today().year}",
                               field="birth_year")
        return value

    @field_validator("age_at_baseline")
    @classmethod
    def _age(cls, value):
        if value is not None and not 0 <= value <= 130:
            raise InvalidValue(f"{value} is not an age from 0 to 130", field="age_at_baseline")
        return value

    @field_validator("diagnosis_date")
    @classmethod
    def _diagnosis_date(cls, value):
        return check_not_future(value, "diagnosis_date")

    @model_validator(mode="after")
    def _birth_year_or_age(self):
        if self.birth_year is not None and self.age_at_baseline is not None:
            # EXCHANGE.md: age_at_baseline comes only in de-identified bundles, in place of birth_year
            raise InvalidValue("give birth_year or age_at_baseline, not both: age_at_baseline stands in for "
                               "birth_year in de-identified bundles", field="age_at_baseline")
        return self

    @model_validator(mode="after")
    def _dates_after_birth(self):
        if self.birth_year and self.diagnosis_date and self.diagnosis_date.year < self.birth_year:
            raise InvalidDate(f"{self.diagnosis_date.isoformat()} is before the birth year {self.birth_year}",
                              field="diagnosis_date")
        return self


class PatientCreate(PatientFields):
    patient_id: str
    # the centre's key (db.centres resolves codes); None: the database's only centre, refused when it has several
    centre_key: int | None = None

    @field_validator("patient_id", mode="before")
    @classmethod
    def _patient_id(cls, value):
        value = blank_to_none(value)
        if value is None:
            raise InvalidValue(f"is required ({PATIENT_ID_RULE})", field="patient_id")
        value = str(value)
        if not is_valid_patient_id(value):
            raise InvalidValue(f"{value!r} is not a valid identifier: {PATIENT_ID_RULE}", field="patient_id")
        return value


class PatientUpdate(PatientFields):
    """Every field of a patient but its identifier, which is permanent, and its centre, which changes only by a
    transfer (db.centres.transfer_patient)."""


class Patient(PatientBase, Recorded, table=True):
    __tablename__ = "patient"

    # The database's key, used only inside db/ (foreign keys are named patient_key too).
    patient_key: int | None = Field(default=None, primary_key=True)
    # The clinic's identifier; unique among all patients, deleted ones included, so that a
    # restore can never collide.
    patient_id: str = Field(max_length=64, unique=True)
    # Bumped by every write to this patient's data: the key of the per-patient chart caches.
    data_version: int = Field(default=0)
    # The centre the patient belongs to: what an account's scope (models.scope) is matched against.
    centre_key: int = Field(foreign_key="centre.centre_key", index=True)
