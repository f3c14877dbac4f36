"""Skin assessment: one rater's modified Rodnan skin score of one patient at one visit.

Shape: one row per assessment with the 17 site scores as columns, not one row per site. The 17
sites are a fixed part of the instrument, always entered, read and charted together; one row keeps
the 7 million site scores of a large registry in ~400,000 rows (17x fewer index entries), lets the
database CHECK every score and the stored total in the row that holds them, makes an assessment's
write atomic by construction, and lets a cohort query read stored totals without a join or a
group-by over sites.
"""

from __future__ import annotations

from datetime import date

from pydantic import field_validator, model_validator
from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from models.base import LIVE, Recorded
from models.catalog import MRSS_MAX, SITE_CODES
from models.errors import InvalidScore, InvalidValue
from models.validation import Input, blank_to_none, check_not_future, check_score, optional_text


class SiteScores(SQLModel):
    """The 17 mRSS sites, 0-3 each, blank when not scored; in catalogue order (tested)."""

    face: int | None = None
    chest: int | None = None
    abdomen: int | None = None
    upper_arm_r: int | None = None
    upper_arm_l: int | None = None
    forearm_r: int | None = None
    forearm_l: int | None = None
    hand_r: int | None = None
    hand_l: int | None = None
    fingers_r: int | None = None
    fingers_l: int | None = None
    thigh_r: int | None = None
    thigh_l: int | None = None
    leg_r: int | None = None
    leg_l: int | None = None
    foot_r: int | None = None
    foot_l: int | None = None

    def site_scores(self) -> dict[str, int | None]:
        return {code: getattr(self, code) for code in SITE_CODES}


class AssessmentBase(SiteScores):
    visit_date: date
    rater: str = Field(default="", max_length=100)
    notes: str = Field(default="")


LIVE_TOTALS = f"{LIVE} AND total IS NOT NULL"


class AssessmentCreate(Input, AssessmentBase):
    """A new assessment: either per-site (some or all of the 17 sites) or total-only (`total`)."""

    patient_id: str
    # Only for total-only assessments (historical totals; decimals allowed when already averaged),
    # or equal to the sum when all 17 sites are given.
    total: float | None = None

    @field_validator(*SITE_CODES, mode="before")
    @classmethod
    def _score(cls, value, info):
        return check_score(value, info.field_name)

    @field_validator("total", mode="before")
    @classmethod
    def _total(cls, value):
        value = blank_to_none(value)
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidScore(f"{value!r} is not a number from 0 to {MRSS_MAX}", field="total") from None
        if not 0 <= number <= MRSS_MAX:
            raise InvalidScore(f"{value!r} is not a number from 0 to {MRSS_MAX}", field="total")
        return number

    @field_validator("rater", "notes", mode="before")
    @classmethod
    def _text(cls, value):
        return optional_text(value)

    @field_validator("patient_id", mode="before")
    @classmethod
    def _patient(cls, value):
        value = blank_to_none(value)
        if value is None:
            raise InvalidValue("is required", field="patient_id")
        return str(value)

    @field_validator("visit_date")
    @classmethod
    def _visit_date(cls, value):
        return check_not_future(value, "visit_date")

    @model_validator(mode="after")
    def _sites_or_total(self):
        scores = [v for v in self.site_scores().values() if v is not None]
        if not scores and self.total is None:
            raise InvalidScore("enter the 17 site scores, or a total for a total-only assessment",
                               field="total")
        if scores and self.total is not None:
            if len(scores) < len(SITE_CODES):
                raise InvalidScore(
                    f"must be blank when sites are missing ({len(SITE_CODES) - len(scores)} of 17 not scored)",
                    field="total")
            if self.total != sum(scores):
                raise InvalidScore(f"{self.total:g} is not the sum of the 17 sites ({sum(scores)})",
                                   field="total")
        return self

    @property
    def is_total_only(self) -> bool:
        return all(v is None for v in self.site_scores().values())


class AssessmentUpdate(AssessmentCreate):
    """A correction: the full new content of the assessment (the key may change too)."""


_site_checks = tuple(
    CheckConstraint(f"{code} IS NULL OR {code} BETWEEN 0 AND 3", name=f"ck_assessment_{code}_range")
    for code in SITE_CODES
)


class Assessment(AssessmentBase, Recorded, table=True):
    __tablename__ = "assessment"
    __table_args__ = (
        *_site_checks,
        CheckConstraint(f"total IS NULL OR total BETWEEN 0 AND {MRSS_MAX}", name="ck_assessment_total_range"),
        CheckConstraint("(total IS NULL) = incomplete", name="ck_assessment_total_or_incomplete"),
        Index("ux_assessment_key", "patient_key", "visit_date", "rater", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        Index("ix_assessment_patient_date", "patient_key", "visit_date"),
        Index("ix_assessment_visit_date", "visit_date"),
        # Cohort summaries read (patient, date, total) of live totals from this index alone (migration 0003).
        Index("ix_assessment_live_totals", "patient_key", "visit_date", "total",
              sqlite_where=text(LIVE_TOTALS), postgresql_where=text(LIVE_TOTALS)),
    )

    assessment_id: int | None = Field(default=None, primary_key=True)
    patient_key: int = Field(foreign_key="patient.patient_key")
    # The rater total, stored at write time (analysis.scores.rater_total) so that cohort queries
    # never re-add 17 sites: the sum when complete, the recorded total when total-only, else NULL.
    total: float | None = None
    incomplete: bool = Field(default=False)
