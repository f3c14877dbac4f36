"""Measurement: one value of a catalogue measure (range of motion, function, lungs, labs)."""

from __future__ import annotations

import math
from datetime import date

from pydantic import field_validator, model_validator
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.base import LIVE, Recorded
from models.catalog import MEASURE_CODES, MEASURES_BY_CODE, SIDES
from models.errors import ImplausibleValue, InvalidValue, UnknownMeasure
from models.validation import Input, check_not_future, optional_text, required_text


class MeasurementBase(SQLModel):
    date: date
    measure: str = Field(max_length=40)
    side: str = Field(default="", max_length=1)
    value: float
    unit: str = Field(default="", max_length=32)
    rater: str = Field(default="", max_length=100)


class MeasurementCreate(Input, MeasurementBase):
    patient_id: str

    @field_validator("patient_id", "measure", mode="before")
    @classmethod
    def _required(cls, value, info):
        return required_text(value, info.field_name)

    @field_validator("side", "unit", "rater", mode="before")
    @classmethod
    def _text(cls, value):
        return optional_text(value)

    @field_validator("measure")
    @classmethod
    def _measure(cls, value):
        if value not in MEASURES_BY_CODE:
            raise UnknownMeasure(f"{value!r} is not a measure code; allowed: {', '.join(MEASURE_CODES)}",
                                 field="measure")
        return value

    @field_validator("date")
    @classmethod
    def _date(cls, value):
        return check_not_future(value, "date")

    @field_validator("value")
    @classmethod
    def _finite(cls, value):
        if not math.isfinite(value):
            raise InvalidValue(f"{value!r} is not a number", field="value")
        return value

    @model_validator(mode="after")
    def _against_catalogue(self):
        measure = MEASURES_BY_CODE[self.measure]
        if measure.sided and self.side not in SIDES:
            raise InvalidValue(f"{measure.label} is sided: side must be R or L", field="side")
        if not measure.sided and self.side:
            raise InvalidValue(f"{measure.label} is not sided: leave side blank", field="side")
        if self.unit and self.unit != measure.unit:
            raise InvalidValue(f"{self.unit!r} is not the unit of {self.measure}; use {measure.unit!r}",
                               field="unit")
        if not measure.low <= self.value <= measure.high:
            raise ImplausibleValue(
                f"{self.value:g} {measure.unit} is outside the plausible range "
                f"{measure.low:g}-{measure.high:g} {measure.unit} for {measure.label}", field="value")
        if measure.whole_numbers and self.value != int(self.value):
            allowed = "0 (no) or 1 (yes)" if measure.kind == "yes_no" else "a whole number"
            raise InvalidValue(f"{self.value:g} is not allowed for {measure.label}: give {allowed}", field="value")
        self.unit = measure.unit
        return self


class MeasurementUpdate(MeasurementCreate):
    """The full new content of a measurement."""


class Measurement(MeasurementBase, Recorded, table=True):
    __tablename__ = "measurement"
    __table_args__ = (
        Index("ux_measurement_key", "patient_key", "date", "measure", "side", "rater", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        Index("ix_measurement_patient_date", "patient_key", "date"),
    )

    measurement_id: int | None = Field(default=None, primary_key=True)
    patient_key: int = Field(foreign_key="patient.patient_key")
