"""Cohort reads for the trial coordinators' screen: who is in the cohort, and their numbers.

`cohort_summary` selects the cohort with set-based queries (diagnosis and drug exposure are pushed
into SQL as one patient subquery that every read filters on, never a list of ids in the SQL text),
reads only the stored rater totals (not the 17 site columns) as patient keys and day numbers, and
hands the frames to `analysis/` — the same functions that write the export's summary.csv and
windows.csv. The per-site panel and the data-quality panel read the site columns separately, when
asked (`cohort_site_changes`, `cohort_quality`), the former only for the baseline and window visits
it needs (an indexed join on pairs passed as one parameter). Figures: bench/cohort_bench.py.

Centres: every read keeps the engine's scope (`db.scope`: the members' subquery carries `patient_filter`, and a
read by a list of keys `owner_filter`; for an engine of every centre both are TRUE, so nothing is added to the
SQL), and `CohortFilter.centres` narrows the cohort to some of the scope's centres. The summary comes per centre
too (`CohortResult.by_centre`) and the data-quality tables carry each patient's centre, grouped by it.

Reads only: nothing here writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import (
    Date,
    Engine,
    Integer,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
)

from analysis import (
    first_drug_starts,
    implausible_measurements,
    incomplete_assessments,
    missed_windows,
    rater_changes,
    site_jumps,
    visit_scores,
)
from analysis.activity import EUSTAR_AI_MEASURES, ActivitySummary, activity_frame, summarise_activity
from analysis.cohort import CohortFrames, site_changes, summarise_cohort, summary_by_centre
from analysis.criss import CRISS_MEASURES, DEFAULT_RESPONSE_MONTH, ResponseSummary, response_frame, summarise_response
from analysis.frames import MEASUREMENT_COLUMNS
from analysis.quality import by_centre, centre_counts
from analysis.windows import DEFAULT_WINDOW_MONTHS
from db.frames import DATE, DAY_NUMBER, FLOAT, INT, TEXT, read_bulk, read_frame
from db.scope import owner_filter, patient_filter, scope_of
from models import Assessment, MedicationPeriod, Patient, TreatmentEvent
from models.catalog import DIAGNOSES, MEASURES_BY_CODE, ORGAN_EVENT_KINDS, SITE_CODES
from models.centre import Centre, check_centre_code
from models.errors import InvalidValue
from models.measurement import Measurement
from models.validation import check_text

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class CohortFilter:
    """Who is in the cohort, and where day 0 is. Every criterion left at its default selects everyone.

    - centres: the codes of the centres to keep (empty: every centre of the engine's scope); a centre outside
      the scope is refused as unknown;
    - diagnoses: the diagnosis codes to keep (empty: all);
    - drug: ever exposed to this drug (a medication period of it, any dose), named as stored;
      with `dose` (and `dose_unit`), a period of that drug at exactly that dose;
    - visits_from / visits_to: at least one visit with an mRSS in that range (both ends included);
    - min_follow_up_months: last visit with an mRSS at least 30.4375 × months days after the baseline;
    - anchor_drug: day 0 and the baseline (CLINICAL.md): None = the first visit with an mRSS; a drug =
      its first start, with the latest visit with an mRSS in the 90 days up to it as the baseline.
    """

    diagnoses: tuple[str, ...] = ()
    drug: str | None = None
    dose: float | None = None
    dose_unit: str | None = None
    visits_from: date | None = None
    visits_to: date | None = None
    min_follow_up_months: int = 0
    anchor_drug: str | None = None
    centres: tuple[str, ...] = ()

    def check(self) -> CohortFilter:
        """Return self when consistent. Raises InvalidValue naming the field otherwise."""
        for code in self.centres:
            check_centre_code(code, "centres")
        for name in ("drug", "dose_unit", "anchor_drug"):
            if getattr(self, name):
                check_text(getattr(self, name), name)
        unknown = [d for d in self.diagnoses if d not in DIAGNOSES]
        if unknown:
            raise InvalidValue(f"unknown diagnosis {unknown[0]!r}; allowed: {', '.join(DIAGNOSES)}",
                               field="diagnoses")
        if self.dose is not None and not self.drug:
            raise InvalidValue("choose the drug whose dose to filter on", field="drug")
        if self.dose is not None and self.dose <= 0:
            raise InvalidValue("the dose must be greater than 0", field="dose")
        if self.visits_from and self.visits_to and self.visits_from > self.visits_to:
            raise InvalidValue("the start of the visit date range is after its end", field="visits_from")
        if self.min_follow_up_months < 0:
            raise InvalidValue("the minimum follow-up cannot be negative", field="min_follow_up_months")
        return self

    def describe(self) -> str:
        """One line for captions and file names' companions: what this cohort is."""
        parts = [", ".join(self.diagnoses) if self.diagnoses else "all diagnoses"]
        if self.centres:
            parts.insert(0, ("centre " if len(self.centres) == 1 else "centres ") + ", ".join(self.centres))
        if self.drug:
            dose = f" at {self.dose:g} {self.dose_unit or ''}".rstrip() if self.dose is not None else ""
            parts.append(f"ever on {self.drug}{dose}")
        if self.visits_from or self.visits_to:
            parts.append(f"a visit {self.visits_from or '…'} to {self.visits_to or '…'}")
        if self.min_follow_up_months:
            parts.append(f"follow-up ≥ {self.min_follow_up_months} months")
        parts.append(f"day 0 = first start of {self.anchor_drug}" if self.anchor_drug else "day 0 = first visit")
        return "; ".join(parts)


@dataclass
class CohortResult(CohortFrames):
    """The cohort's frames (`analysis.cohort.CohortFrames`) with the filter and windows that made them.

    centres: each member's centre code (patient_id -> code); by_centre: `analysis.cohort.summary_by_centre`, the
    summary table of each centre's members; centre_keys: the keys of `cohort.centres` (empty: every centre of
    the scope).
    """

    cohort: CohortFilter = field(default_factory=CohortFilter)
    months: tuple[int, ...] = DEFAULT_WINDOW_MONTHS
    timings: dict[str, float] = field(default_factory=dict)
    patient_keys: pd.Series = field(default_factory=lambda: pd.Series([], dtype="int64"))  # patient_id -> key
    centres: pd.Series = field(default_factory=lambda: pd.Series([], dtype="str"))  # patient_id -> centre code
    by_centre: pd.DataFrame = field(default_factory=pd.DataFrame)
    centre_keys: tuple[int, ...] = ()

    @property
    def centre_codes(self) -> list[str]:
        """The codes of the centres with a member, sorted."""
        return sorted(set(self.centres.astype("str")))


QUALITY_CHECKS = ("incomplete", "rater_changes", "site_jumps", "missed_windows", "implausible")


@dataclass
class CohortQuality:
    """The data-quality panel's drill-down tables (columns documented in `analysis.quality`), each with the
    patient's centre as its first column and grouped by centre (`analysis.quality.by_centre`); `centres`: the
    cohort's centre codes, sorted."""

    incomplete: pd.DataFrame
    rater_changes: pd.DataFrame
    site_jumps: pd.DataFrame
    missed_windows: pd.DataFrame
    implausible: pd.DataFrame
    centres: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in QUALITY_CHECKS}

    def by_centre(self) -> pd.DataFrame:
        """Rows of each check per centre of the cohort (`analysis.quality.centre_counts`), with a total."""
        return centre_counts({name: getattr(self, name) for name in QUALITY_CHECKS}, self.centres)


def _day_number(engine: Engine, column):
    """SQL for a date column as whole days since 1970-01-01, on SQLite and on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return cast(func.julianday(column) - 2440587.5, Integer)
    return cast(column - literal_column("DATE '1970-01-01'"), Integer)


# --- the cohort subquery --------------------------------------------------------------------------


def _exposed(drug: str, dose: float | None, dose_unit: str | None):
    conditions = [MedicationPeriod.patient_key == Patient.patient_key, MedicationPeriod.drug == drug,
                  MedicationPeriod.deleted_at.is_(None)]
    if dose is not None:
        conditions.append(MedicationPeriod.dose == float(dose))
        if dose_unit:
            conditions.append(MedicationPeriod.dose_unit == dose_unit)
    return exists().where(and_(*conditions))


def _visible_centres(engine: Engine) -> list[tuple[int, str, str]]:
    """(key, code, name) of every centre of the engine's scope, sorted by code (as Python sorts: the same on
    both databases)."""
    table = Centre.__table__
    scope = scope_of(engine)
    statement = select(table.c.centre_key, table.c.code, table.c.name)
    if not scope.everything:
        statement = statement.where(table.c.centre_key.in_(sorted(scope.centres) or [-1]))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return sorted(((int(key), code, name) for key, code, name in rows), key=lambda row: row[1])


def _centre_keys(engine: Engine, codes: Iterable[str], centres: list[tuple[int, str, str]]) -> tuple[int, ...]:
    """The keys of the centres `codes` among the scope's (`centres`, from `_visible_centres`); InvalidValue (field
    "centres") naming those that are not (a centre outside the scope is answered as one that does not exist)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return ()
    visible = {code: key for key, code, _ in centres}
    missing = [code for code in codes if code not in visible]
    if missing:
        whose = "the" if scope_of(engine).everything else "your"
        raise InvalidValue(f"no centre {', '.join(missing)} among {whose} centres ({', '.join(visible) or 'none'})",
                           field="centres")
    return tuple(sorted(visible[code] for code in codes))


def _member_conditions(engine: Engine, cohort: CohortFilter, centre_keys: tuple[int, ...] = (),
                       patients: Iterable[str] | None = None) -> list:
    conditions = [Patient.deleted_at.is_(None), patient_filter(engine)]  # TRUE (left out) for every centre
    if centre_keys:
        conditions.append(Patient.centre_key.in_(list(centre_keys)))
    if cohort.diagnoses:
        conditions.append(Patient.diagnosis.in_(list(cohort.diagnoses)))
    if cohort.drug:
        conditions.append(_exposed(cohort.drug, cohort.dose, cohort.dose_unit))
    if patients is not None:
        wanted = list(dict.fromkeys(patients))
        conditions.append(Patient.patient_id.in_(wanted) if wanted else false())
    return conditions


def _member_keys(engine: Engine, cohort: CohortFilter, centre_keys: tuple[int, ...] = (),
                 patients: Iterable[str] | None = None):
    """The database keys of the scope's patients meeting the SQL criteria, as a subquery to join on."""
    return select(Patient.patient_key).where(
        *_member_conditions(engine, cohort, centre_keys, patients)).scalar_subquery()


def _load_members(engine: Engine, cohort: CohortFilter, centre_keys: tuple[int, ...], patients=None) -> pd.DataFrame:
    """patient_id, diagnosis, the database key and the centre key of the members, ordered by identifier."""
    statement = (select(Patient.patient_id, Patient.diagnosis, Patient.patient_key, Patient.centre_key)
                 .where(*_member_conditions(engine, cohort, centre_keys, patients)).order_by(Patient.patient_id))
    return read_frame(engine, statement, {"patient_id": TEXT, "diagnosis": TEXT, "key": INT, "centre_key": INT})


def _load_totals(engine: Engine, members_sql, members: pd.DataFrame) -> pd.DataFrame:
    """Assessments with a stored total of the members: patient_id, visit_date, total (what
    `analysis.cohort.visit_totals` needs; no site columns).

    Reads only the patient key, date and total (no join): the identifiers come from `members`.
    """
    statement = (
        select(Assessment.patient_key, _day_number(engine, Assessment.visit_date), Assessment.total)
        .where(Assessment.patient_key.in_(members_sql), Assessment.deleted_at.is_(None),
               Assessment.total.is_not(None))
    )
    frame = read_bulk(engine, statement, {"key": INT, "visit_date": DAY_NUMBER, "total": FLOAT})
    identifiers = pd.Series(members["patient_id"].to_numpy(), index=members["key"].to_numpy(dtype="int64"))
    patient_id = identifiers.reindex(frame["key"].to_numpy(dtype="int64")).to_numpy()
    return pd.DataFrame({"patient_id": pd.Series(patient_id, dtype="str", index=frame.index),
                         "visit_date": frame["visit_date"], "total": frame["total"]})


def _load_drug_starts(engine: Engine, members, drug: str) -> pd.Series:
    statement = (
        select(Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.start_date)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.patient_key.in_(members), MedicationPeriod.drug == drug,
               MedicationPeriod.deleted_at.is_(None))
    )
    periods = read_frame(engine, statement, {"patient_id": TEXT, "drug": TEXT, "start_date": DATE})
    return first_drug_starts(periods, drug)


# --- the summary ----------------------------------------------------------------------------------


def cohort_summary(
    engine: Engine,
    cohort: CohortFilter | None = None,
    months: Iterable[int] = DEFAULT_WINDOW_MONTHS,
    progress: Progress | None = None,
    *,
    patients: Iterable[str] | None = None,
) -> CohortResult:
    """The cohort's summary table and plot frames, of the engine's scope's patients, whole and per centre.
    `patients` (identifiers) narrows it further.

    Raises InvalidValue (naming the field) for an inconsistent filter, a centre not among the scope's, or an empty
    list of months.
    """
    cohort = (cohort or CohortFilter()).check()
    months = tuple(dict.fromkeys(int(m) for m in months))
    if not months or any(m <= 0 for m in months):
        raise InvalidValue("give one or more whole months greater than 0", field="months")
    step = progress or (lambda fraction, text: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    step(0.0, "Selecting the cohort…")
    centres = _visible_centres(engine)
    keys = _centre_keys(engine, cohort.centres, centres)
    members_sql = _member_keys(engine, cohort, keys, patients)
    members = _load_members(engine, cohort, keys, patients)
    lap("members")
    step(0.15, "Reading the skin scores…")
    assessments = _load_totals(engine, members_sql, members)
    anchors = _load_drug_starts(engine, members_sql, cohort.anchor_drug) if cohort.anchor_drug else None
    lap("read")
    step(0.5, "Computing baselines, change and the visit windows…")
    frames = summarise_cohort(members[["patient_id", "diagnosis"]], assessments, anchors=anchors,
                              visits_from=cohort.visits_from, visits_to=cohort.visits_to,
                              min_follow_up_months=cohort.min_follow_up_months, months=months)
    lap("analysis")
    step(0.9, "Summarising each centre…")
    kept = members["patient_id"].isin(frames.patient_ids).to_numpy()
    members = members[kept]
    patient_keys = pd.Series(members["key"].to_numpy(dtype="int64"), index=members["patient_id"].to_numpy())
    codes = {key: code for key, code, _ in centres}
    member_centres = pd.Series(members["centre_key"].map(codes).to_numpy(dtype=object), dtype="str",
                               index=members["patient_id"].to_numpy())
    if member_centres.nunique() > 1:
        per_centre = summary_by_centre(frames.summary, frames.window_visits, member_centres, months)
    else:  # one centre (a single clinic, a one-centre account): its block is the whole table
        per_centre = frames.table.copy()
        per_centre.insert(0, "patients", pd.Series(len(member_centres), index=per_centre.index, dtype="int64"))
        per_centre.insert(0, "centre", pd.Series(member_centres.iloc[0] if len(member_centres) else "",
                                                 index=per_centre.index, dtype="str"))
        per_centre = per_centre.iloc[0:0] if member_centres.empty else per_centre
    lap("by centre")
    step(1.0, "Done")
    return CohortResult(**vars(frames), cohort=cohort, months=months, timings=timings, patient_keys=patient_keys,
                        centres=member_centres, by_centre=per_centre, centre_keys=keys)


# --- per-site panel and data quality --------------------------------------------------------------




def _read_assessments(engine: Engine, result: CohortResult, columns: dict, *conditions, wanted=None) -> pd.DataFrame:
    """Live assessments of the cohort's members: patient_id, visit_date and `columns` (name -> (column, kind)).

    Reads patient keys and day numbers (no join on the patient table, no date parsing); `wanted` is a
    (k, d) subquery of patient keys and dates to join on (`_wanted_pairs`).
    """
    keys = result.patient_keys
    statement = select(Assessment.patient_key, _day_number(engine, Assessment.visit_date),
                       *[column for column, _ in columns.values()]).where(Assessment.deleted_at.is_(None), *conditions)
    if wanted is not None:
        statement = statement.join(wanted, and_(Assessment.patient_key == wanted.c.k,
                                                Assessment.visit_date == wanted.c.d)
                                   ).where(owner_filter(engine, Assessment.patient_key))
    else:
        statement = statement.where(_members_of(engine, result, Assessment.patient_key))
    frame = read_frame(engine, statement, {"key": INT, "visit_date": DAY_NUMBER,
                                           **{name: kind for name, (_, kind) in columns.items()}})
    identifiers = pd.Series(keys.index.to_numpy(), index=keys.to_numpy(dtype="int64"))
    patient_id = identifiers.reindex(frame["key"].to_numpy(dtype="int64"))
    frame.insert(0, "patient_id", pd.Series(patient_id.to_numpy(), dtype="str", index=frame.index))
    frame = frame[patient_id.notna().to_numpy()].drop(columns="key")
    return frame.sort_values(["patient_id", "visit_date"], kind="stable").reset_index(drop=True)


def _has_visit_criteria(cohort: CohortFilter) -> bool:
    return bool(cohort.visits_from or cohort.visits_to or cohort.min_follow_up_months)


def _members_of(engine: Engine, result: CohortResult, column):
    """A condition: `column` (a patient key) belongs to the cohort's members.

    Without visit criteria the SQL criteria are the whole definition (the member subquery, in the engine's
    scope); with them, the members' keys go in as one parameter (a JSON text on SQLite, an array on PostgreSQL),
    kept to the engine's scope.
    """
    if not _has_visit_criteria(result.cohort):
        return column.in_(_member_keys(engine, result.cohort, result.centre_keys))
    keys = [int(k) for k in result.patient_keys.to_numpy()]
    if engine.dialect.name == "sqlite":
        listed = text("SELECT value FROM json_each(:keys)").bindparams(keys=json.dumps(keys))
    else:
        listed = text("SELECT unnest(CAST(:keys AS integer[]))").bindparams(bindparam("keys", keys))
    return and_(column.in_(listed.columns(value=Integer).scalar_subquery()), owner_filter(engine, column))


def _wanted_pairs(engine: Engine, keys: list[int], days: list[date]):
    """A subquery (k, d) of patient keys and dates, passed as one parameter (a JSON text on SQLite, two
    arrays on PostgreSQL) so that thousands of pairs make one indexed join, not thousands of OR terms."""
    if engine.dialect.name == "sqlite":
        payload = json.dumps([[int(k), d.isoformat()] for k, d in zip(keys, days, strict=True)])
        query = text("SELECT json_extract(value, '$[0]') AS k, json_extract(value, '$[1]') AS d "
                     "FROM json_each(:pairs)").bindparams(pairs=payload)
    else:
        query = text("SELECT k, d FROM unnest(CAST(:keys AS integer[]), CAST(:days AS date[])) AS w(k, d)"
                     ).bindparams(bindparam("keys", [int(k) for k in keys]), bindparam("days", list(days)))
    return query.columns(k=Integer, d=Date).subquery("wanted")


def cohort_site_changes(engine: Engine, result: CohortResult, month: int) -> pd.DataFrame:
    """Mean change of each site from baseline to `month`'s window visit (`analysis.cohort.site_changes`).

    Reads the site columns only of the baseline and window visits, by an indexed join on (patient, date).
    """
    chosen = result.window_visits.loc[(result.window_visits["month"] == month)
                                      & result.window_visits["change"].notna()]
    base_dates = chosen["visit_date"] - pd.to_timedelta(chosen["study_day"].astype("float64"), unit="D")
    pairs = pd.concat([
        pd.DataFrame({"patient_id": chosen["patient_id"], "visit_date": chosen["visit_date"]}),
        pd.DataFrame({"patient_id": chosen["patient_id"], "visit_date": base_dates}),
    ]).drop_duplicates()
    keys = result.patient_keys.reindex(pairs["patient_id"]).to_numpy(dtype="int64").tolist()
    days = [d.date() for d in pairs["visit_date"]]
    columns = {code: (getattr(Assessment, code), FLOAT) for code in SITE_CODES}
    columns["total"] = (Assessment.total, FLOAT)
    assessments = _read_assessments(engine, result, columns, wanted=_wanted_pairs(engine, keys, days))
    return site_changes(visit_scores(assessments), result.window_visits, month)


def _implausible_sql():
    """A superset filter of `analysis.implausible_measurements`, so only suspect rows are read."""
    ranges = [and_(Measurement.measure == code,
                   or_(Measurement.value < float(m.low), Measurement.value > float(m.high)))
              for code, m in MEASURES_BY_CODE.items()]
    return or_(Measurement.value.is_(None), Measurement.measure.not_in(list(MEASURES_BY_CODE)), *ranges)


def cohort_quality(engine: Engine, result: CohortResult, progress: Progress | None = None) -> CohortQuality:
    """The data-quality tables of the cohort (definitions in `analysis.quality`), grouped by centre.

    Incomplete assessments are read alone (a filtered, small read), rater changes from the raters of the
    assessments with a total, site jumps from every site score of the cohort (the big read), implausible
    measurements through a SQL prefilter that keeps every row the analysis could flag.
    """
    step = progress or (lambda fraction, text: None)
    ids = set(result.patient_ids)
    sites = {code: (getattr(Assessment, code), FLOAT) for code in SITE_CODES}
    step(0.0, "Checking incomplete assessments and rater changes…")
    incomplete = _read_assessments(engine, result, {"rater": (Assessment.rater, TEXT), **sites},
                                   Assessment.incomplete.is_(True))
    incomplete = incomplete_assessments(incomplete.sort_values(["patient_id", "visit_date", "rater"], kind="stable"))
    raters = _read_assessments(engine, result, {"rater": (Assessment.rater, TEXT), "total": (Assessment.total, FLOAT)},
                               Assessment.total.is_not(None))
    changes = rater_changes(raters)
    step(0.3, "Reading every site score for site jumps…")
    scores = _read_assessments(engine, result, sites)
    scores["rater"] = ""  # one row per assessment: site_jumps averages the raters of a date first
    step(0.7, "Checking site jumps, missed windows and measurements…")
    jumps = site_jumps(scores)
    missed = missed_windows(result.visits, result.months)
    measurement_statement = (
        select(Patient.patient_id, Measurement.date, Measurement.measure, Measurement.side, Measurement.value,
               Measurement.unit, Measurement.rater)
        .join(Patient, Patient.patient_key == Measurement.patient_key)
        .where(_members_of(engine, result, Measurement.patient_key), Measurement.deleted_at.is_(None),
               _implausible_sql())
    )
    measurements = read_frame(engine, measurement_statement, {
        "patient_id": TEXT, "date": DATE, "measure": TEXT, "side": TEXT, "value": FLOAT, "unit": TEXT,
        "rater": TEXT})[MEASUREMENT_COLUMNS]
    measurements = measurements[measurements["patient_id"].isin(ids)]
    implausible = implausible_measurements(measurements)
    step(1.0, "Done")
    centres = result.centres
    return CohortQuality(incomplete=by_centre(incomplete, centres), rater_changes=by_centre(changes, centres),
                         site_jumps=by_centre(jumps, centres), missed_windows=by_centre(missed, centres),
                         implausible=by_centre(implausible, centres), centres=tuple(result.centre_codes))


# --- composite endpoints (ENDPOINTS.md) -----------------------------------------------------------

NO_BASELINE = "no baseline visit"
NO_FOLLOW_UP = "no visit in the window"


@dataclass
class ActivityAt:
    """The EUSTAR activity index of the cohort at one time point (the baseline or the follow-up visit).

    summary: `analysis.activity.summarise_activity` of the rows at that visit (one per patient who has it);
    not_computable: patient_id, visit_date and the reason (the missing items, or "no baseline visit" / "no visit in
    the window" for a patient without that visit), sorted by patient_id.
    """

    summary: ActivitySummary
    not_computable: pd.DataFrame

    @property
    def n_patients(self) -> int:
        return self.summary.n_computable + len(self.not_computable)


@dataclass
class CohortEndpoints:
    """The cohort's composite endpoints at follow-up month `month`, following its baseline anchor.

    response: `analysis.criss.summarise_response` of `response_frame` (ACR CRISS and revised CRISS);
    activity: "baseline" and "follow-up" -> ActivityAt.
    """

    month: int
    response: ResponseSummary
    activity: dict[str, ActivityAt]


def _activity_at(activity: pd.DataFrame, ids: pd.Series, dates: pd.Series, absent: pd.Series) -> ActivityAt:
    """`summarise_activity` of the activity rows at one visit per patient (`dates`; NaT: no such visit, for the
    reason `absent` gives)."""
    wanted = pd.DataFrame({"patient_id": ids.astype("str").to_numpy(), "visit_date": pd.to_datetime(dates).to_numpy(),
                           "reason": absent.to_numpy()})
    have = wanted.dropna(subset=["visit_date"])[["patient_id", "visit_date"]]
    rows = activity.merge(have, on=["patient_id", "visit_date"], how="inner")
    summary = summarise_activity(rows)
    lacking = wanted.loc[wanted["visit_date"].isna()]
    unknown = summary.not_computable.rename(columns={"missing": "reason"})
    listed = pd.concat([unknown, lacking], ignore_index=True) if len(lacking) else unknown
    return ActivityAt(summary=summary,
                      not_computable=listed.sort_values("patient_id", kind="stable").reset_index(drop=True))


def cohort_endpoints(engine: Engine, result: CohortResult, month: int = DEFAULT_RESPONSE_MONTH) -> CohortEndpoints:
    """ACR CRISS, revised CRISS and the EUSTAR activity index of the cohort (ENDPOINTS.md), computed by the
    functions that write response.csv and activity.csv: the baseline honours the cohort's anchor drug, the
    follow-up is the visit windows.csv uses at `month`.

    Reads only the members' measurements of the items these scores use and their organ events (indexed, the
    member condition pushed into SQL); the visit mRSS are the cohort's own (`result.visits`).
    """
    month = int(month)
    if month <= 0:
        raise InvalidValue("give a whole number of months greater than 0", field="response_month")
    ids = pd.Series(result.patient_ids, dtype="str")
    visits = result.visits[["patient_id", "visit_date", "mrss"]]
    codes = sorted(set(CRISS_MEASURES) | set(EUSTAR_AI_MEASURES))
    measurement_statement = (
        select(Patient.patient_id, Measurement.date, Measurement.measure, Measurement.side, Measurement.value,
               Measurement.unit, Measurement.rater)
        .join(Patient, Patient.patient_key == Measurement.patient_key)
        .where(_members_of(engine, result, Measurement.patient_key), Measurement.deleted_at.is_(None),
               Measurement.measure.in_(codes))
    )
    measurements = read_frame(engine, measurement_statement, {
        "patient_id": TEXT, "date": DATE, "measure": TEXT, "side": TEXT, "value": FLOAT, "unit": TEXT,
        "rater": TEXT})[MEASUREMENT_COLUMNS]
    event_statement = (
        select(Patient.patient_id, TreatmentEvent.date, TreatmentEvent.kind)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(_members_of(engine, result, TreatmentEvent.patient_key), TreatmentEvent.deleted_at.is_(None),
               TreatmentEvent.kind.in_(list(ORGAN_EVENT_KINDS)))
    )
    events = read_frame(engine, event_statement, {"patient_id": TEXT, "date": DATE, "kind": TEXT})
    anchors = (_load_drug_starts(engine, _member_keys(engine, result.cohort, result.centre_keys),
                                 result.cohort.anchor_drug)
               if result.cohort.anchor_drug else None)
    response = response_frame(ids, visits, measurements, events, anchors=anchors, month=month)
    activity = activity_frame(visits, measurements)
    no_baseline = response["baseline_date"].isna()
    return CohortEndpoints(month=month, response=summarise_response(response), activity={
        "baseline": _activity_at(activity, response["patient_id"], response["baseline_date"],
                                 pd.Series(NO_BASELINE, index=response.index)),
        "follow-up": _activity_at(activity, response["patient_id"], response["followup_date"],
                                  no_baseline.map({True: NO_BASELINE, False: NO_FOLLOW_UP})),
    })


# --- the form's choices ---------------------------------------------------------------------------


def cohort_choices(engine: Engine) -> dict:
    """What the cohort form offers, from the engine's scope's patients: diagnoses present, drugs with their
    doses, the range of visit dates, and the scope's centres (code -> name, sorted by code; the form shows a
    centre filter when there are two or more)."""
    with engine.connect() as connection:
        diagnoses = [d for (d,) in connection.execute(
            select(Patient.diagnosis).where(Patient.deleted_at.is_(None), patient_filter(engine)).distinct()
            .order_by(Patient.diagnosis))]
        doses = connection.execute(
            select(MedicationPeriod.drug, MedicationPeriod.dose, MedicationPeriod.dose_unit)
            .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
            .where(MedicationPeriod.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
            .distinct().order_by(MedicationPeriod.drug, MedicationPeriod.dose)).all()
        first, last = connection.execute(
            select(func.min(Assessment.visit_date), func.max(Assessment.visit_date))
            .where(Assessment.deleted_at.is_(None), Assessment.total.is_not(None),
                   owner_filter(engine, Assessment.patient_key))).one()
    drugs: dict[str, list[tuple[float, str]]] = {}
    for drug, dose, unit in doses:
        drugs.setdefault(drug, []).append((float(dose), unit))
    return {"diagnoses": [d for d in DIAGNOSES if d in diagnoses], "drugs": drugs, "first_visit": first,
            "last_visit": last, "centres": {code: name for _, code, name in _visible_centres(engine)}}
