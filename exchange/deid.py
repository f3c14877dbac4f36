"""De-identification (EXCHANGE.md, "De-identified export"): every rule of it, for every file of every format.

- `patient_id` becomes `S-` + the first 5 bytes (hex) of HMAC-SHA256(installation secret, patient_id);
- the identifying columns are removed (REMOVED_COLUMNS: name, mrn, notes, event descriptions, the medication
  `reason`); the adverse-event `term` is a catalogue term, not free text, and is kept;
- raters become rater-1, rater-2, ... consistently within the export (`rater_numbers`);
- every date of a patient, in every file (DATE columns of any file, derived files included), moves by one
  per-patient offset of 1-180 days either way, never 0, from the HMAC (`date_offset`);
- `birth_year` is replaced by `age_at_baseline` (`age_at_baseline`), 90 for 90 or more;
- the patient's `centre` (a centre's code) is kept: a centre is not a person.

The key is SKINTRACK_SECRET when set; otherwise a random key generated on first use and kept in the
installation_setting table, so pseudonyms stay the same across exports of one installation.

One addition to the contract: the events key ends with the description, which is removed, so two events of a
patient that differ only by their description would collide; those (and only those) keep a `description`
column of stand-ins, event-1, event-2, ... (`_stand_ins`), never the text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, select

from db.installation import INSTALLATION_ACTOR, pseudonym_secret
from db.scope import patient_filter
from db.treatments import patients_with_events_told_apart_by_description
from exchange.spec import DATE
from models import Assessment, Measurement, Patient
from models.catalog import AGE_CAP
from models.errors import InvalidValue

SECRET_VARIABLE = "SKINTRACK_SECRET"
MAX_SHIFT_DAYS = 180

# Removed, not blanked. patients.csv's birth_year gives way to age_at_baseline.
REMOVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients.csv": ("name", "mrn", "notes", "birth_year"),
    "medications.csv": ("reason",),
    "events.csv": ("description",),  # stand-ins only where events differ by nothing else (see _stand_ins)
}
RATER_FILES = ("skin_scores.csv", "measurements.csv")
# Files whose key holds a value that de-identification renames (raters, description stand-ins): re-sorted by
# the renamed values, so a re-export of the imported bundle gives the same file.
RENAMED_KEYS = {"skin_scores.csv": ("visit_date", "rater"),
                "measurements.csv": ("date", "measure", "side", "rater"),
                "events.csv": ("date", "kind", "sites", "agent", "description")}
EVENT_GROUP = ["patient_id", "date", "kind", "sites", "agent"]  # the events key without the description


def must_deidentify(requested: bool, may_identify: bool) -> bool:
    """Whether an export is de-identified: always for an account without the identified-export permission,
    whatever a widget says; otherwise as requested."""
    return True if not may_identify else bool(requested)


# --- keys ---------------------------------------------------------------------------------------------


def installation_secret(engine: Engine, *, actor: str = INSTALLATION_ACTOR) -> bytes:
    """The pseudonym key: SKINTRACK_SECRET, else the stored one (generated, stored and audited on first use, naming
    `actor`: db/installation.py)."""
    configured = os.environ.get(SECRET_VARIABLE, "")
    if configured:
        return configured.encode("utf-8")
    return pseudonym_secret(engine, actor=actor).encode("utf-8")


def _digest(secret: bytes, patient_id: str) -> bytes:
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).digest()


def pseudonym(secret: bytes, patient_id: str) -> str:
    """`S-` + the first 5 bytes of HMAC-SHA256(secret, patient_id) in lower-case hex."""
    return "S-" + _digest(secret, patient_id)[:5].hex()


def date_offset(secret: bytes, patient_id: str, latest: date | None = None, today: date | None = None) -> int:
    """The patient's date shift in days: 1 to 180 either way, never 0, from the HMAC's 6th and 7th bytes.

    When a forward shift would move the patient's `latest` date into the future (a shifted bundle
    must import, and no date may lie in the future), the shift goes back by the same number of days.
    """
    digest = _digest(secret, patient_id)
    magnitude = 1 + int.from_bytes(digest[5:7], "big") % MAX_SHIFT_DAYS
    forward = digest[7] & 1 == 1
    today = today or date.today()
    if forward and latest is not None and (latest.toordinal() + magnitude) > today.toordinal():
        forward = False
    return magnitude if forward else -magnitude


def age_at_baseline(baseline_year: int | None, birth_year: int | None) -> int | None:
    """baseline year − birth year, written as 90 when 90 or more; None when either is unknown."""
    if baseline_year is None or birth_year is None:
        return None
    return min(int(baseline_year) - int(birth_year), AGE_CAP)


# --- what one export needs to know ---------------------------------------------------------------------


@dataclass
class Deidentifier:
    """The keys of one de-identified export: pseudonyms, rater numbers and the events told apart only by their
    description. Plain data (no engine), so export workers in other processes can take it along."""

    secret: bytes
    names: dict[str, str]  # patient_id -> pseudonym
    raters: dict[str, str] = field(default_factory=dict)  # rater -> rater-N
    told_apart: set[str] = field(default_factory=set)  # patient_ids (see _stand_ins)

    def order(self, identifiers: Iterable[str]) -> list[str]:
        """The export's patient order: by pseudonym, so that it does not reveal the identifiers' order."""
        return sorted(identifiers, key=self.names.__getitem__)

    def columns(self, name: str, columns: Iterable[str]) -> list[str]:
        """The columns of `name` that a de-identified export writes (age_at_baseline in place of birth_year)."""
        removed = set(REMOVED_COLUMNS.get(name, ()))
        if name == "events.csv" and self.told_apart:
            removed.discard("description")
        return [c for c in columns if c not in removed]


def prepare(engine: Engine, identifiers: list[str], *, actor: str = INSTALLATION_ACTOR) -> Deidentifier:
    """The keys of a de-identified export of `identifiers` (live patients); `actor` is named by the audit row of
    the pseudonym secret if this export creates it."""
    secret = installation_secret(engine, actor=actor)
    names = {p: pseudonym(secret, p) for p in identifiers}
    if len(set(names.values())) != len(names):
        raise InvalidValue("two patients share a pseudonym; set another SKINTRACK_SECRET", field="patients")
    keys = Deidentifier(secret=secret, names=names)
    keys.raters = rater_numbers(engine, keys.order(identifiers))
    keys.told_apart = patients_with_events_told_apart_by_description(engine) & set(identifiers)
    return keys


def rater_numbers(engine: Engine, order: list[str]) -> dict[str, str]:
    """rater -> `rater-N`, numbered in the order the raters first appear in the de-identified export: patients
    in the export's `order`, skin_scores.csv before measurements.csv, then by date, then by name.

    Decided before the export starts (one small grouped read), so that any chunk, in any process, renames the
    same rater the same way."""
    position = {p: i for i, p in enumerate(order)}
    firsts = []
    for source, (table, day) in enumerate(((Assessment, Assessment.visit_date), (Measurement, Measurement.date))):
        statement = (
            select(Patient.patient_id, table.rater, func.min(day))
            .join(Patient, Patient.patient_key == table.patient_key)
            .where(table.deleted_at.is_(None), Patient.deleted_at.is_(None), table.rater != "",
                   patient_filter(engine))
            .group_by(Patient.patient_id, table.rater)
        )
        with engine.connect() as connection:
            for identifier, rater, first in connection.execute(statement):
                if identifier in position and rater:
                    firsts.append((position[identifier], source, str(first), rater))
    numbers: dict[str, str] = {}
    for *_, rater in sorted(firsts):
        if rater not in numbers:
            numbers[rater] = f"rater-{len(numbers) + 1}"
    return numbers


# --- one chunk of files --------------------------------------------------------------------------------


def deidentify(frames: dict[str, pd.DataFrame], kinds: dict[str, dict[str, str]], keys: Deidentifier,
               baseline_dates: pd.Series) -> dict[str, pd.DataFrame]:
    """The files of a chunk of patients, de-identified: `frames` (file name -> rows of those patients, real
    identifiers and dates), `kinds` (file name -> column kinds, DATE columns are shifted), `baseline_dates`
    (patient_id -> the baseline date the age is taken at, anchored when anchored). Columns are removed as
    `keys.columns` says; rows stay grouped by patient in the export's order."""
    frames = dict(frames)
    frames["patients.csv"] = _with_age(frames["patients.csv"], baseline_dates)
    if "events.csv" in frames:
        frames["events.csv"] = _stand_ins(frames["events.csv"])
    offsets = _offsets(frames, kinds, keys.secret)
    out = {}
    for name, frame in frames.items():
        frame = frame[keys.columns(name, frame.columns)].copy()
        if "patient_id" in frame:
            shift = pd.to_timedelta(frame["patient_id"].map(offsets).astype("float64"), unit="D")
            for column in (c for c in frame.columns if kinds[name].get(c) == DATE):
                frame[column] = pd.to_datetime(frame[column]) + shift
            frame["patient_id"] = frame["patient_id"].map(keys.names)
        if name in RATER_FILES:
            # blank stays blank; as objects before the fill: a chunk of blank raters only maps to float64 NaN,
            # which pandas 3 warns about filling with text and pandas 4 refuses
            frame["rater"] = frame["rater"].map(keys.raters).astype(object).fillna("")
        if name in RENAMED_KEYS:
            present = [c for c in RENAMED_KEYS[name] if c in frame.columns]
            frame = frame.sort_values(["patient_id", *present], kind="stable")
        out[name] = frame
    return out


def _with_age(people: pd.DataFrame, baseline_dates: pd.Series) -> pd.DataFrame:
    """age_at_baseline from the birth year and the baseline year; a stored age (a pooled de-identified bundle)
    is kept, capped, when the birth year is unknown."""
    base_year = baseline_dates.dt.year
    ages = []
    for pid, birth, stored in zip(people["patient_id"], people["birth_year"], people["age_at_baseline"],
                                  strict=True):
        year = base_year.get(pid)
        year = None if year is None or pd.isna(year) else int(year)
        if pd.isna(birth):
            ages.append(None if pd.isna(stored) else min(int(stored), AGE_CAP))
        else:
            ages.append(age_at_baseline(year, int(birth)))
    return people.assign(age_at_baseline=pd.array(ages, dtype="Int64"))


def _offsets(frames: dict[str, pd.DataFrame], kinds: dict[str, dict[str, str]], secret: bytes) -> dict[str, int]:
    """Each patient's date offset; the latest real date of a patient (any file) decides whether a forward
    shift would reach the future."""
    parts = []  # per file: each row's latest date, by patient
    for name, frame in frames.items():
        dates = [c for c in frame.columns if kinds[name].get(c) == DATE]
        if len(frame) and "patient_id" in frame and dates:
            days = pd.DataFrame({c: pd.to_datetime(frame[c]).to_numpy() for c in dates})
            parts.append(pd.Series(days.max(axis=1).to_numpy(), index=frame["patient_id"].to_numpy()))
    latest = pd.concat(parts).groupby(level=0).max().dropna().to_dict() if parts else {}
    return {pid: date_offset(secret, pid, latest[pid].date() if pid in latest else None)
            for pid in frames["patients.csv"]["patient_id"]}


def _stand_ins(events: pd.DataFrame) -> pd.DataFrame:
    """The events with their descriptions replaced: blank, except where two events of a patient share date,
    kind, sites and agent and so differed only by their description (the last column of the events key).
    Those get `event-1`, `event-2`, ... within their group, so that the de-identified bundle keeps them apart
    and imports like any other, with none of the description's text."""
    stand_in = pd.Series("", index=events.index, dtype=object)
    if len(events):
        groups = events.groupby(EVENT_GROUP, sort=False, dropna=False)
        size, number = groups["patient_id"].transform("size"), groups.cumcount() + 1
        stand_in[size > 1] = "event-" + number[size > 1].astype(str)
    return events.assign(description=stand_in)
