"""A deterministic, seeded demo registry with realistic trajectories.

`generate_registry(n)` returns the registry as bundle-shaped rows (the columns of EXCHANGE.md, as
text and numbers), so the demo, the tests and the benchmarks all load it through the same write
paths as real data. The first three patients are hand-written stories (the same at every size):

- DEMO-0001, dcSSc: imatinib 200 mg daily, raised to 400 mg after a partial response; skin improves
  (a responder by the EUSTAR definition); a two-rater visit; periorbital oedema (CTCAE grade 1). The CRISS and
  EUSTAR activity inputs at baseline, 6 and 12 months: an ACR CRISS improver at 12 months, active disease
  (EUSTAR-AI 7.75) at baseline and inactive (1.0) a year later.
- DEMO-0002, NSF: imatinib 400 mg daily; thighs, legs and forearms soften over the first year, but the
  hands and fingers stay at 3 until intralesional triamcinolone is injected into them, after which they
  soften too; finger-to-palm distance follows the hands; gadolinium exposure years earlier.
- DEMO-0003, lcSSc: historical total-only visits, an incomplete assessment, a change of rater.

The rest are drawn from a seeded generator: every diagnosis, visits every 2-6 months for 1-6 years,
some treated with imatinib, mycophenolate or methotrexate, a few two-rater visits, incomplete and
total-only assessments, measurements and adverse events. The first drawn dcSSc patient with a year of
visits (DEMO-0006 at the default seed) then gains an ILD progression (`_story_ild`): the CRISS and activity
inputs at baseline and at the 12-month window visit, FVC falling from 86 % to 66 % predicted, and an
`ild_progression` event between them, so CRISS step 1 applies (probability 0, not improved). About half of the
other drawn SSc patients (dcSSc, lcSSc, SSc) then have the CRISS inputs (`_criss_inputs`: FVC % predicted, both
global assessments and HAQ-DI) at baseline and at the visits nearest to 6, 12 and 24 months, following their skin.

Centres (issue 16): the registry names its centres (`Registry.centres`; `DEMO_CENTRES` by default: three of
different sizes, each with its own raters) and every patient's centre (the patients' `centre` column, a code);
`load_registry` creates the centres that do not exist yet. DEMO-0001 belongs to the first centre, DEMO-0002 to the
second, DEMO-0003 to the third; a drawn patient's centre follows the centres' shares (a golden-ratio sequence, no
draw) and its CRISS inputs come from a second generator, so every drawn value is the same as before centres existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select

from db.batch import Row, write_batch
from db.centres import add_centre, update_centre
from db.engine import write_session
from models.catalog import SITE_CODES
from models.centre import DEFAULT_CENTRE_CODE, Centre
from models.patient import Patient
from models.records import ASSESSMENT, EVENT, MEASUREMENT, MEDICATION, PATIENT, reader

# Fixed, so the registry is the same whatever day it is generated (and always in the past).
DEMO_END = date(2026, 6, 30)
# A drawn patient's rater is the draw (0-5) of the first generator taken modulo its centre's raters (six draws, as
# before centres, so that every later draw is unchanged).
RATER_DRAW = 6


@dataclass(frozen=True)
class DemoCentre:
    """A centre of a generated registry: `share` of the drawn patients, scored by its own `raters`."""

    code: str
    name: str
    country: str
    share: float
    raters: tuple[str, ...]


DEMO_CENTRES: tuple[DemoCentre, ...] = (
    DemoCentre("LON", "London Demo Hospital", "United Kingdom", 0.55, ("Dr Alvarez", "Dr Brennan", "Dr Fischer")),
    DemoCentre("LYO", "Lyon Demo Clinic", "France", 0.30, ("Dr Chen", "Dr Gallo")),
    DemoCentre("GRZ", "Graz Demo Centre", "Austria", 0.15, ("Dr Dubois", "Dr Eze")),
)
DEMO_RATERS = tuple(rater for centre in DEMO_CENTRES for rater in centre.raters)

HANDS = ("hand_r", "hand_l", "fingers_r", "fingers_l")
LEGS = ("thigh_r", "thigh_l", "leg_r", "leg_l", "foot_r", "foot_l")


FILES = (("patients", PATIENT), ("skin_scores", ASSESSMENT), ("measurements", MEASUREMENT),
         ("medications", MEDICATION), ("events", EVENT))


@dataclass
class Registry:
    """Bundle-shaped rows: each a dict with the bundle's column names."""

    patients: list[dict] = field(default_factory=list)  # each with its centre's code in "centre"
    skin_scores: list[dict] = field(default_factory=list)
    measurements: list[dict] = field(default_factory=list)
    medications: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    centres: list[dict] = field(default_factory=list)  # code, name, country: the centres the patients name

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in
                ("patients", "skin_scores", "measurements", "medications", "events")}


def _iso(day: date) -> str:
    return day.isoformat()


def _scores(pid: str, day: date, rater: str, sites: dict[str, int]) -> dict:
    return {"patient_id": pid, "visit_date": _iso(day), "rater": rater, **{c: sites[c] for c in SITE_CODES},
            "total": ""}


def _total_only(pid: str, day: date, rater: str, total: float) -> dict:
    return {"patient_id": pid, "visit_date": _iso(day), "rater": rater, **{c: "" for c in SITE_CODES},
            "total": total}


def _period(pid, drug, dose, start, end=None, reason="", frequency="daily", route="oral", unit="mg") -> dict:
    return {"patient_id": pid, "drug": drug, "dose": dose, "dose_unit": unit, "frequency": frequency,
            "route": route, "start_date": _iso(start), "end_date": _iso(end) if end else "", "reason": reason}


def _event(pid, day, kind, **values) -> dict:
    row = {"patient_id": pid, "date": _iso(day), "kind": kind, "description": "", "sites": "", "agent": "",
           "dose": "", "dose_unit": "", "grade": "", "serious": "", "end_date": "", "term": "", "suspected_drug": "",
           "relatedness": "", "action_taken": "", "outcome": ""}
    row.update({k: (_iso(v) if isinstance(v, date) else v) for k, v in values.items()})
    return row


def _measure(pid, day, measure, value, side="", rater="") -> dict:
    return {"patient_id": pid, "date": _iso(day), "measure": measure, "side": side, "value": value,
            "unit": "", "rater": rater}


# DEMO-0001's endpoint inputs by day since the first visit (fvc_pct is recorded at every visit already).
_DCSSC_ENDPOINT_INPUTS: dict[int, dict[str, float]] = {
    0: {"patient_global": 7, "physician_global": 6, "haq_di": 1.5, "crp": 1.8, "digital_ulcers": 1,
        "tendon_friction_rubs": 0, "skin_worsening": 1, "dlco_pct": 62},
    182: {"patient_global": 5, "physician_global": 4, "haq_di": 1.25, "crp": 0.9, "digital_ulcers": 0,
          "tendon_friction_rubs": 0, "skin_worsening": 0, "dlco_pct": 63},
    365: {"patient_global": 3, "physician_global": 2, "haq_di": 0.875, "crp": 0.4, "digital_ulcers": 0,
          "tendon_friction_rubs": 0, "skin_worsening": 0, "dlco_pct": 64},
}


def _story_dcssc(reg: Registry) -> None:
    pid, start = "DEMO-0001", date(2023, 1, 10)
    reg.patients.append({"patient_id": pid, "diagnosis": "dcSSc", "sex": "F", "birth_year": 1968,
                         "diagnosis_date": "2022-06-01", "name": "Ana Demo", "mrn": "D-100001", "notes": ""})
    base = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 3, 3, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1), strict=True))
    plan = [(0, 0.0), (91, 0.15), (182, 0.3), (273, 0.5), (365, 0.6), (548, 0.7)]
    for offset, gain in plan:
        day = start + timedelta(days=offset)
        sites = {c: max(0, round(v - gain * v * (1.2 if c in HANDS else 1.0))) for c, v in base.items()}
        reg.skin_scores.append(_scores(pid, day, "Dr Alvarez", sites))
        if offset == 182:  # training visit scored by two raters
            second = dict(sites, chest=min(3, sites["chest"] + 1), abdomen=min(3, sites["abdomen"] + 1))
            reg.skin_scores.append(_scores(pid, day, "Dr Brennan", second))
        reg.measurements.append(_measure(pid, day, "oral_aperture", 30 + offset // 90, rater="Dr Alvarez"))
        reg.measurements.append(_measure(pid, day, "fvc_pct", 74 + offset // 120))
    # CRISS and EUSTAR activity inputs (ENDPOINTS.md) at baseline, 6 and 12 months: skin, globals and function
    # improve on imatinib; active disease at baseline (worsening skin, mRSS > 18, an ulcer, CRP > 1, DLCO < 70).
    for offset, values in _DCSSC_ENDPOINT_INPUTS.items():
        day = start + timedelta(days=offset)
        for measure, value in values.items():
            reg.measurements.append(_measure(pid, day, measure, value, rater="Dr Alvarez"))
    reg.medications.append(_period(pid, "imatinib", 200, date(2023, 1, 20), date(2023, 6, 30)))
    reg.medications.append(_period(pid, "imatinib", 400, date(2023, 7, 1), None,
                                   reason="dose increased: partial response"))
    reg.events.append(_event(pid, date(2023, 8, 14), "adverse_event", term="Periorbital edema",
                             description="periorbital oedema", grade=1, serious="no", end_date=date(2023, 9, 20),
                             suspected_drug="imatinib", relatedness="probable", action_taken="none",
                             outcome="recovered"))


def _story_nsf(reg: Registry) -> None:
    pid, start = "DEMO-0002", date(2022, 3, 7)
    reg.patients.append({"patient_id": pid, "diagnosis": "NSF", "sex": "M", "birth_year": 1957,
                         "diagnosis_date": "2021-11-15", "name": "Bo Demo", "mrn": "D-100002",
                         "notes": "haemodialysis since 2012"})
    reg.events.append(_event(pid, date(2012, 5, 2), "gadolinium_exposure", agent="gadodiamide",
                             description="contrast MRI on haemodialysis"))
    reg.medications.append(_period(pid, "imatinib", 400, start + timedelta(days=7)))
    injections = (start + timedelta(days=280), start + timedelta(days=372))
    for day in injections:
        reg.events.append(_event(pid, day, "steroid_injection", sites=";".join(HANDS),
                                 agent="triamcinolone acetonide", dose=40, dose_unit="mg",
                                 description="intralesional, dorsal hands and fingers"))
    for offset in (0, 91, 182, 273, 330, 400, 456, 547, 640, 730):
        day = start + timedelta(days=offset)
        legs = 3 if offset < 91 else 2 if offset < 273 else 1
        arms = 2 if offset < 182 else 1
        injected = sum(1 for inj in injections if inj < day)
        hands = 3 - injected  # 3 until the first injection, then 2, then 1
        sites = {c: 0 for c in SITE_CODES}
        sites.update({c: legs for c in LEGS})
        sites.update({"forearm_r": arms, "forearm_l": arms, "upper_arm_r": 1 if offset < 273 else 0,
                      "upper_arm_l": 1 if offset < 273 else 0})
        sites.update({c: hands for c in HANDS})
        reg.skin_scores.append(_scores(pid, day, "Dr Chen", sites))
        ftp = {3: 4.5, 2: 2.5, 1: 1.0}[hands]
        reg.measurements.append(_measure(pid, day, "ftp_distance", ftp, "R", "Dr Chen"))
        reg.measurements.append(_measure(pid, day, "ftp_distance", ftp + 0.5, "L", "Dr Chen"))
        reg.measurements.append(_measure(pid, day, "ankle_dorsiflexion", 8 + (3 - legs) * 5, "R", "Dr Chen"))
    reg.events.append(_event(pid, start + timedelta(days=300), "adverse_event", term="Skin atrophy",
                             description="injection-site skin atrophy", grade=1, serious="no",
                             outcome="not recovered"))


def _story_lcssc(reg: Registry) -> None:
    pid = "DEMO-0003"
    reg.patients.append({"patient_id": pid, "diagnosis": "lcSSc", "sex": "F", "birth_year": 1975,
                         "diagnosis_date": "", "name": "", "mrn": "", "notes": ""})
    reg.skin_scores.append(_total_only(pid, date(2019, 5, 5), "", 9))
    reg.skin_scores.append(_total_only(pid, date(2019, 11, 5), "", 8.5))
    partial = {c: 1 if c in HANDS else 0 for c in SITE_CODES}
    row = _scores(pid, date(2020, 5, 12), "Dr Dubois", partial)
    row["foot_r"] = row["foot_l"] = ""  # feet not examined: incomplete
    reg.skin_scores.append(row)
    reg.skin_scores.append(_scores(pid, date(2020, 11, 20), "Dr Eze", partial))
    reg.medications.append(_period(pid, "methotrexate", 15, date(2019, 6, 1), date(2020, 2, 29),
                                   frequency="weekly", reason="", route="sc"))


ILD_FOLLOW_UP_DAYS = 365  # the 12-month window's target day (30.4375 × 12, rounded)
ILD_WINDOW_DAYS = 90  # ± the window's tolerance after 6 months


def _story_ild(reg: Registry) -> str | None:
    """The first drawn dcSSc patient with a visit in the 12-month window: an ILD progression between baseline
    and that visit (ENDPOINTS.md organ event), with the CRISS and activity inputs at both visits. Adds rows only
    for that patient, so every other patient stays as drawn."""
    visit_days: dict[str, list[date]] = {}
    for row in reg.skin_scores:
        visit_days.setdefault(row["patient_id"], []).append(date.fromisoformat(row["visit_date"]))
    for patient in reg.patients[3:]:
        pid = patient["patient_id"]
        days = sorted(set(visit_days.get(pid, [])))
        if patient["diagnosis"] != "dcSSc" or not days:
            continue
        target = days[0] + timedelta(days=ILD_FOLLOW_UP_DAYS)
        near = [d for d in days[1:] if abs((d - target).days) <= ILD_WINDOW_DAYS]
        if near:
            break
    else:
        return None
    baseline = days[0]
    follow_up = min(near, key=lambda d: (abs((d - target).days), d))
    rater = next(row["rater"] for row in reg.skin_scores if row["patient_id"] == pid and row["rater"])
    onset = follow_up - timedelta(days=max(1, min(45, (follow_up - baseline).days // 3)))
    taken = {(m["date"], m["measure"]) for m in reg.measurements if m["patient_id"] == pid}
    inputs = {
        baseline: {"fvc_pct": 86, "dlco_pct": 71, "patient_global": 5, "physician_global": 4, "haq_di": 1.0,
                   "crp": 0.6, "digital_ulcers": 0, "tendon_friction_rubs": 0, "skin_worsening": 0},
        follow_up: {"fvc_pct": 66, "dlco_pct": 52, "patient_global": 7, "physician_global": 7, "haq_di": 1.375,
                    "crp": 1.4, "digital_ulcers": 0, "tendon_friction_rubs": 1, "skin_worsening": 1},
    }
    for day, values in inputs.items():
        for measure, value in values.items():
            if (_iso(day), measure) not in taken:
                reg.measurements.append(_measure(pid, day, measure, value, rater=rater))
    for day, fvc in ((onset - timedelta(days=14), 70), (onset, 69)):  # the fall, confirmed within a month
        reg.measurements.append(_measure(pid, day, "fvc_pct", fvc, rater=rater))
    reg.events.append(_event(pid, onset, "ild_progression",
                             description="FVC 86 → 69 % predicted (−20 %), confirmed 2 weeks apart; "
                                         "fibrosis progressing on HRCT"))
    return pid


DIAGNOSIS_WEIGHTS = {"dcSSc": 0.35, "lcSSc": 0.35, "SSc": 0.1, "NSF": 0.05, "morphea": 0.1, "other": 0.05}
# Typical baseline severity per site by diagnosis (mean score); limited disease spares the trunk.
PROFILES = {
    "dcSSc": (1.2, 1.6, 1.4, 1.8, 1.8, 2.2, 2.2, 2.5, 2.5, 2.4, 2.4, 1.2, 1.2, 1.6, 1.6, 1.2, 1.2),
    "lcSSc": (0.8, 0.1, 0.1, 0.3, 0.3, 0.9, 0.9, 1.6, 1.6, 1.9, 1.9, 0.1, 0.1, 0.4, 0.4, 0.6, 0.6),
    "SSc": (1.0, 0.8, 0.6, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.0, 2.0, 0.6, 0.6, 1.0, 1.0, 0.9, 0.9),
    "NSF": (0.0, 0.2, 0.3, 0.8, 0.8, 1.8, 1.8, 2.2, 2.2, 2.0, 2.0, 2.5, 2.5, 2.8, 2.8, 2.2, 2.2),
    "morphea": (0.3, 0.8, 0.9, 0.4, 0.4, 0.3, 0.3, 0.1, 0.1, 0.1, 0.1, 0.6, 0.6, 0.4, 0.4, 0.1, 0.1),
    "other": (0.5, 0.5, 0.5, 0.6, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.6, 0.4, 0.4),
}
DRUG_CHOICES = (("imatinib", 400, "mg", "daily", "oral"), ("mycophenolate mofetil", 1000, "mg", "twice daily",
                "oral"), ("methotrexate", 15, "mg", "weekly", "sc"), ("", 0, "", "", ""))


def _random_patient(reg: Registry, rng: np.random.Generator, number: int, centre: DemoCentre) -> None:
    pid = f"DEMO-{number:04d}" if number < 10000 else f"DEMO-{number}"
    diagnoses = list(DIAGNOSIS_WEIGHTS)
    diagnosis = diagnoses[rng.choice(len(diagnoses), p=list(DIAGNOSIS_WEIGHTS.values()))]
    birth_year = int(rng.integers(1940, 2000))
    n_visits = int(np.clip(rng.poisson(19), 1, 40))
    gaps = rng.integers(60, 185, size=n_visits - 1)
    span = int(gaps.sum())
    first = DEMO_END - timedelta(days=span + int(rng.integers(0, 400)))
    first = max(first, date(birth_year + 18, 1, 1))
    days = [first] + [first + timedelta(days=int(d)) for d in np.cumsum(gaps)]
    # The adult-age floor above can push late visits past the end of the demo period: drop those (no future dates).
    days = [day for day in days if day <= DEMO_END]
    diagnosed = first - timedelta(days=int(rng.integers(30, 900)))
    reg.patients.append({"patient_id": pid, "diagnosis": diagnosis, "sex": ("F", "M")[int(rng.random() < 0.25)],
                         "birth_year": birth_year, "diagnosis_date": _iso(diagnosed),
                         "name": f"Demo Patient {number}", "mrn": f"D-{number + 100000}", "notes": "",
                         "centre": centre.code})
    drug, dose, unit, frequency, route = DRUG_CHOICES[int(rng.integers(0, len(DRUG_CHOICES)))]
    drug_start = min(days[0] + timedelta(days=int(rng.integers(3, 40))), DEMO_END)
    if drug:
        escalate = drug == "imatinib" and rng.random() < 0.4
        change = drug_start + timedelta(days=int(rng.integers(120, 250))) if escalate else None
        if change is not None and change <= DEMO_END:
            reg.medications.append(_period(pid, drug, 200, drug_start, change - timedelta(days=1),
                                           frequency=frequency, route=route, unit=unit))
            reg.medications.append(_period(pid, drug, dose, change, None, reason="dose increased",
                                           frequency=frequency, route=route, unit=unit))
        else:
            reg.medications.append(_period(pid, drug, dose, drug_start, None, frequency=frequency,
                                           route=route, unit=unit))
    profile = np.array(PROFILES[diagnosis])
    severity = np.clip(profile * rng.uniform(0.6, 1.3) + rng.normal(0, 0.35, 17), 0, 3)
    effect = rng.uniform(0.15, 0.55) if drug else rng.uniform(-0.15, 0.2)
    drawn = int(rng.integers(0, RATER_DRAW))
    rater = centre.raters[drawn % len(centre.raters)]
    noise = rng.normal(0, 0.3, size=(n_visits, 17))
    for index, day in enumerate(days):
        years = (day - days[0]).days / 365.25
        level = severity * (1 - effect * min(years, 2.0) / 2.0)
        sites = np.clip(np.rint(level + noise[index]), 0, 3).astype(int)
        row = _scores(pid, day, rater, dict(zip(SITE_CODES, sites.tolist(), strict=True)))
        roll = rng.random()
        if roll < 0.03:
            reg.skin_scores.append(_total_only(pid, day, rater, float(sites.sum())))
            continue
        if roll < 0.05:
            row[SITE_CODES[int(rng.integers(0, 17))]] = ""  # a site not examined
        reg.skin_scores.append(row)
        if roll > 0.97:
            second = centre.raters[(drawn + 1) % len(centre.raters)]
            jitter = np.clip(sites + rng.integers(-1, 2, 17), 0, 3)
            reg.skin_scores.append(_scores(pid, day, second, dict(zip(SITE_CODES, jitter.tolist(), strict=True))))
        if index % 2 == 0:
            ftp = round(float(np.clip(sites[7:11].mean() * 1.6 + rng.normal(0, 0.3), 0, 15)), 1)
            reg.measurements.append(_measure(pid, day, "ftp_distance", ftp, "R", rater))
            reg.measurements.append(_measure(pid, day, "ftp_distance", ftp, "L", rater))
            reg.measurements.append(_measure(pid, day, "haq_di", round(float(np.clip(sites.mean(), 0, 3)), 2)))
    if drug and rng.random() < 0.15:
        onset = drug_start + timedelta(days=int(rng.integers(10, 200)))
        if onset < DEMO_END:
            grade = int(rng.integers(1, 4))
            reg.events.append(_event(pid, onset, "adverse_event", term="Nausea" if grade < 3 else "Edema limbs",
                                     description="nausea" if grade < 3 else "oedema", grade=grade,
                                     serious="yes" if grade >= 3 else "no", suspected_drug=drug,
                                     relatedness="possible" if grade < 3 else "probable",
                                     action_taken="none" if grade < 3 else "dose reduced",
                                     outcome="recovered" if grade < 3 else "recovering"))
    if diagnosis in ("NSF", "morphea") and rng.random() < 0.3:
        reg.events.append(_event(pid, days[len(days) // 2], "steroid_injection", sites="hand_r;hand_l",
                                 agent="triamcinolone acetonide", dose=20, dose_unit="mg"))


CRISS_SHARE = 0.5  # of the drawn SSc patients (but the ILD story's): the CRISS inputs recorded
CRISS_MONTHS = (6, 12, 24)  # follow-up visits with the inputs: the visit nearest to each month's target day
SSC_DIAGNOSES = ("dcSSc", "lcSSc", "SSc")


def _visit_totals(reg: Registry) -> dict[str, dict[date, float]]:
    """patient id -> visit day -> the first rater's total of that day (a total-only row's total; an incomplete
    one's sum of the sites scored: only the trend is used)."""
    totals: dict[str, dict[date, float]] = {}
    for row in reg.skin_scores:
        day = date.fromisoformat(row["visit_date"])
        days = totals.setdefault(row["patient_id"], {})
        if day not in days:
            days[day] = float(row["total"]) if row["total"] != "" else float(
                sum(row[c] for c in SITE_CODES if row[c] != ""))
    return totals


def _criss_inputs(reg: Registry, side: np.random.Generator, skip: set[str]) -> None:
    """The CRISS inputs (FVC % predicted, patient and physician global, HAQ-DI) for about half of the drawn SSc
    patients, at the baseline visit and at the visits nearest to 6, 12 and 24 months (the visits the windows
    choose, ±30 days being the measures' rule): globals and HAQ-DI follow the skin, FVC drifts. A measure the
    patient has that day already (the drawn HAQ-DI of every other visit) is left as it is."""
    totals = _visit_totals(reg)
    taken = {(m["patient_id"], m["date"], m["measure"]) for m in reg.measurements if m["rater"] == ""}
    for patient in reg.patients[3:]:
        pid = patient["patient_id"]
        if patient["diagnosis"] not in SSC_DIAGNOSES or pid in skip or side.random() >= CRISS_SHARE:
            continue
        visits = totals.get(pid)
        if not visits:
            continue
        days = sorted(visits)
        chosen = [days[0]]
        for month in CRISS_MONTHS:
            target = days[0] + timedelta(days=round(30.4375 * month))
            nearest = min(days, key=lambda d, t=target: (abs((d - t).days), d))
            if abs((nearest - target).days) <= ILD_WINDOW_DAYS and nearest not in chosen:
                chosen.append(nearest)
        base_total = max(visits[days[0]], 1.0)
        patient_global, physician_global = side.uniform(3.0, 8.0), side.uniform(2.5, 7.5)
        fvc, drift = side.uniform(62.0, 102.0), side.normal(-1.0 if patient["diagnosis"] == "dcSSc" else 0.0, 2.0)
        for day in chosen:
            ratio = visits[day] / base_total
            years = (day - days[0]).days / 365.25
            values = {
                "fvc_pct": round(float(np.clip(fvc + drift * years + side.normal(0, 2.0), 30, 140))),
                "patient_global": round(float(np.clip(patient_global * ratio + side.normal(0, 0.8), 0, 10))),
                "physician_global": round(float(np.clip(physician_global * ratio + side.normal(0, 0.6), 0, 10))),
                "haq_di": round(float(np.clip(visits[day] / 17, 0, 3)), 2),
            }
            for measure, value in values.items():
                if (pid, _iso(day), measure) not in taken:
                    reg.measurements.append(_measure(pid, day, measure, value))


GOLDEN = (5 ** 0.5 - 1) / 2


def _centre_of(number: int, centres: tuple[DemoCentre, ...]) -> int:
    """The centre (index) of drawn patient `number`: the golden-ratio sequence spread over the centres' shares, so
    that every size of registry has centres in proportion to them (no draw: the seeded draws stay as they were)."""
    shares = np.cumsum([c.share for c in centres])
    where = (number * GOLDEN) % 1.0 * shares[-1]
    return min(int(np.searchsorted(shares, where, side="right")), len(centres) - 1)


def generate_registry(n_patients: int = 60, seed: int = 7,
                      centres: tuple[DemoCentre, ...] = DEMO_CENTRES) -> Registry:
    """The demo registry of `n_patients` (the three story patients first) in `centres`, the same for the same
    seed. The story patients go to the first three centres (in turn when there are fewer); the drawn patients to
    the centres in proportion to their shares."""
    if n_patients < 0:
        raise ValueError("n_patients must be 0 or more")
    if not centres or any(len(c.raters) < 2 for c in centres):
        raise ValueError("centres: one or more, each with two raters or more")
    reg = Registry(centres=[{"code": c.code, "name": c.name, "country": c.country} for c in centres])
    stories = (_story_dcssc, _story_nsf, _story_lcssc)
    for index, story in enumerate(stories[:n_patients]):
        story(reg)
        reg.patients[-1]["centre"] = centres[index % len(centres)].code
    rng = np.random.default_rng(seed)
    for number in range(len(stories) + 1, n_patients + 1):
        _random_patient(reg, rng, number, centres[_centre_of(number, centres)])
    ild = _story_ild(reg)
    side = np.random.default_rng([seed, 16])  # the CRISS inputs: the first generator's draws stay as they were
    _criss_inputs(reg, side, {ild} if ild else set())
    return reg


def load_registry(engine, registry: Registry, *, actor: str, progress=None) -> dict[str, int]:
    """Write `registry` in one transaction (all or nothing) through the batch write path (db.batch), like an
    import: every row parsed by the model layer as a bundle row would be, the rules applied, set-based inserts,
    one `import` audit row.

    The registry's centres that do not exist yet are created first (db.centres.add_centre, audited), in the same
    transaction, and each patient is written at its centre (the patient row's extra: its centre's key). A centre
    that exists already (by code) is used as it is. In a database that held no patient and only the default
    centre (MAIN, the migration's), that centre is deactivated (audited; an administrator can activate it again),
    so the demo's centres are the ones a new patient chooses from.

    `progress(done, total)` is called now and then for a progress bar. Returns the counts written (a demo record
    that is there already, the same, is left as it is and not counted). Raises the named error of the first
    refusal (every refusal in its `.problems`), e.g. for a demo patient that exists with other values; nothing is
    written then.
    """
    today = date.today()
    total = 2 * sum(registry.counts().values())
    done = 0
    batch = {}
    for name, kind in FILES:
        read = reader(kind, today)
        rows = []
        for line, record in enumerate(getattr(registry, name), start=2):
            rows.append(Row(line, *read(record)))
            done += 1
            if progress is not None and done % 5000 == 0:
                progress(done, total)
        batch[kind.name] = rows
    parsed = done

    def written(count: int) -> None:
        if progress is not None:
            progress(min(parsed + count, total), total)

    with write_session(engine) as session:
        keys = _ensure_centres(session, registry, actor=actor)
        if keys:
            batch[PATIENT.name] = [row._replace(extra=(keys[record["centre"]],)) if record.get("centre") else row
                                   for row, record in zip(batch[PATIENT.name], registry.patients, strict=True)]
        result = write_batch(session, batch, actor=actor, merge=True, bundle="demo registry", progress=written,
                             import_detail=lambda r: "demo registry: " + ", ".join(
                                 f"{r.created[kind.name]:,} {kind.label}" for _, kind in FILES))
        result.raise_first()
    if progress is not None:
        progress(total, total)
    return {name: result.created[kind.name] for name, kind in FILES}  # a record there already is not counted


def _ensure_centres(session, registry: Registry, *, actor: str) -> dict[str, int]:
    """code -> centre_key of the registry's centres, creating those that do not exist (none: a registry without
    centres, whose patients go to the database's only centre)."""
    if not registry.centres:
        return {}
    table = Centre.__table__
    existing = dict(session.execute(select(table.c.code, table.c.centre_key)).all())
    untouched_default = (set(existing) == {DEFAULT_CENTRE_CODE}
                         and session.execute(select(func.count()).select_from(Patient)).scalar_one() == 0)
    keys = {}
    for centre in registry.centres:
        code = centre["code"]
        keys[code] = existing[code] if code in existing else add_centre(session=session, data=centre,
                                                                         actor=actor).centre_key
    if untouched_default and DEFAULT_CENTRE_CODE not in keys:
        default = session.execute(select(Centre).where(Centre.code == DEFAULT_CENTRE_CODE)).scalar_one()
        if default.active:
            update_centre(session=session, code=DEFAULT_CENTRE_CODE, expected_version=default.version, active=False,
                          actor=actor)
    return keys
