"""The vocabularies of the FHIR mapping (docs/FHIR.md): the installation's URIs, its local CodeSystems, the
HL7 and external codes used, UCUM units, and the two LOINC codes checked against published LOINC entries.

Only codes whose meaning was checked are taken from an external terminology (LOINC, HL7 code systems); every
other concept is coded in a local CodeSystem of the installation, and `local_code_systems` publishes those as
CodeSystem resources so a receiver can look every local code up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from models.catalog import (
    ACTIONS_TAKEN,
    CTCAE_GRADES,
    DIAGNOSES,
    EVENT_KINDS,
    MEASURES,
    RELATEDNESS,
    ROUTES,
    SITES,
)
from models.ctcae import CTCAE_TERM_NAMES, CTCAE_VERSION
from models.errors import InvalidValue

BASE_VARIABLE = "SKINTRACK_FHIR_BASE"

# --- external systems (HL7 terminology, UCUM, LOINC) ---------------------------------------------------
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
DATA_ABSENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
# The R4 core extension for "the date the condition was first asserted": the date of diagnosis.
CONDITION_ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
# HL7's Adverse Event Clinical Research R4 Backport IG (STU1): Extension.url fixed value, value CodeableConcept.
AE_GRADE_EXTENSION = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition/ae-grade"

# LOINC codes used, each checked against published LOINC entries (docs/FHIR.md, "LOINC"): code, display.
VERIFIED_LOINC: dict[str, tuple[str, str]] = {
    "fvc_pct": ("19872-1", "FVC measured/predicted"),
    "haq_di": ("75874-8", "Total score [HAQ-DI]"),
}

# Catalogue unit -> UCUM code. Yes/no measures carry no unit (valueBoolean), counts are {count}.
UCUM_UNITS: dict[str, str] = {
    "cm": "cm", "mm": "mm", "kg": "kg", "deg": "deg", "%": "%", "ratio": "1", "score": "{score}",
    "0-10": "{score}", "g/dL": "g/dL", "mg/dL": "mg/dL", "count": "{count}",
}
DOSE_UCUM: dict[str, str] = {"mg": "mg", "g": "g", "mcg": "ug", "mg/kg": "mg/kg", "IU": "[iU]", "mL": "mL"}

SEX_TO_GENDER = {"F": "female", "M": "male", "X": "other", "U": "unknown"}

# Observation categories (HL7 observation-category) by catalogue group, with per-measure exceptions.
CATEGORY_BY_GROUP = {"hand": "exam", "joints": "exam", "face": "exam", "lungs": "procedure", "function": "survey",
                     "labs": "laboratory", "disease activity": "exam"}
CATEGORY_BY_MEASURE = {"physician_global": "exam", "weight": "exam", "skin_worsening": "survey"}
CATEGORY_DISPLAY = {"exam": "Exam", "procedure": "Procedure", "survey": "Survey", "laboratory": "Laboratory"}

# The body part a sided measure is taken on (its bodySite is this part on the measured side).
MEASURE_BODY_PART = {
    "ftp_distance": "hand", "hai": "hand", "grip_strength": "hand", "wrist_flexion": "wrist",
    "wrist_extension": "wrist", "elbow_flexion": "elbow", "elbow_extension_deficit": "elbow",
    "knee_flexion": "knee", "knee_extension_deficit": "knee", "ankle_dorsiflexion": "ankle",
    "ankle_plantarflexion": "ankle",
}
SIDE_NAMES = {"R": "right", "L": "left"}

ROUTE_NAMES = {"oral": "Oral", "iv": "Intravenous", "sc": "Subcutaneous", "im": "Intramuscular",
               "topical": "Topical", "intralesional": "Intralesional", "other": "Other route"}

AE_OUTCOMES_FHIR = {"recovered": ("resolved", "Resolved"), "recovering": ("recovering", "Recovering"),
                    "not recovered": ("ongoing", "Ongoing"),
                    "recovered with sequelae": ("resolvedWithSequelae", "Resolved with Sequelae"),
                    "fatal": ("fatal", "Fatal"), "unknown": ("unknown", "Unknown")}
# CTCAE grades 1-3 are named mild, moderate, severe; 4 (life-threatening) and 5 (death) are severe too.
GRADE_SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}

# Frequencies of the catalogue as Timing.repeat.
FIXED_TIMING = {
    "daily": {"frequency": 1, "period": 1, "periodUnit": "d"},
    "twice daily": {"frequency": 2, "period": 1, "periodUnit": "d"},
    "weekly": {"frequency": 1, "period": 1, "periodUnit": "wk"},
    "every 4 weeks": {"frequency": 1, "period": 4, "periodUnit": "wk"},
    "once": {"count": 1},
}
_PER = re.compile(r"^([1-9][0-9]?) per (day|week|month)$")
_PERIOD_UNITS = {"day": "d", "week": "wk", "month": "mo"}


def timing_repeat(frequency: str) -> dict | None:
    """Timing.repeat for a catalogue frequency (`daily`, `N per week`, ...); None for anything else."""
    fixed = FIXED_TIMING.get(frequency)
    if fixed is not None:
        return dict(fixed)
    match = _PER.match(frequency or "")
    if match is None:
        return None
    return {"frequency": int(match.group(1)), "period": 1, "periodUnit": _PERIOD_UNITS[match.group(2)]}


# --- the installation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installation:
    """The URIs of one installation: its FHIR base, under which its CodeSystems, identifier systems and
    extensions live, and against which Bundle fullUrls are formed."""

    base: str

    def code_system(self, name: str) -> str:
        return f"{self.base}/CodeSystem/{name}"

    def identifier_system(self, name: str) -> str:
        return f"{self.base}/NamingSystem/{name}"

    def extension(self, name: str) -> str:
        return f"{self.base}/StructureDefinition/{name}"

    def full_url(self, resource_type: str, resource_id: str) -> str:
        return f"{self.base}/{resource_type}/{resource_id}"


_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def installation_for(base: str | None, secret: bytes | None = None) -> Installation:
    """The Installation of `base` (an http(s) URL, trailing `/` dropped); without one, a per-installation
    address under the reserved `.invalid` domain (RFC 2606), keyed by the installation secret, so that two
    installations that never set SKINTRACK_FHIR_BASE still never share identifier systems."""
    if base:
        base = base.strip().rstrip("/")
        if not _URL.match(base):
            raise InvalidValue(f"{base!r} is not an http(s) URL such as https://skintrack.example.org/fhir",
                               field=BASE_VARIABLE)
        return Installation(base)
    if secret is None:
        raise InvalidValue("no FHIR base: set SKINTRACK_FHIR_BASE", field=BASE_VARIABLE)
    key = hmac.new(secret, b"skintrack-fhir-base", hashlib.sha256).hexdigest()[:12]
    return Installation(f"http://skintrack-{key}.invalid/fhir")


def installation(engine, *, actor: str | None = None) -> Installation:
    """This installation's URIs: SKINTRACK_FHIR_BASE, else the default derived from the installation secret
    (`actor`: the user the secret's audit row names if this call creates it)."""
    base = os.environ.get(BASE_VARIABLE, "")
    if base:
        return installation_for(base)
    from exchange.deid import INSTALLATION_ACTOR, installation_secret

    return installation_for(None, installation_secret(engine, actor=actor or INSTALLATION_ACTOR))


# --- the local CodeSystems -----------------------------------------------------------------------------

MRSS_CODE = "mrss"
MRSS_DISPLAY = "Modified Rodnan skin score, total (0-51)"
GRADE_DISPLAY = {grade: f"Grade {grade} ({label})" for grade, label in CTCAE_GRADES.items()}


def body_site_display(code: str) -> str:
    side, _, part = code.partition("-")
    return f"{side.capitalize()} {part}"


def _concepts() -> dict[str, tuple[str, str, list[tuple[str, str]]]]:
    """name -> (title, description, [(code, display)]) of every local CodeSystem."""
    body_sites = sorted({f"{SIDE_NAMES[s]}-{part}" for part in MEASURE_BODY_PART.values() for s in SIDE_NAMES})
    return {
        "mrss": ("Modified Rodnan skin score and its sites",
                 "The mRSS total and its 17 sites (Clements 1993, Khanna 2017); no LOINC or SNOMED CT code exists "
                 "for the mRSS or its sites. Each site is scored 0 (normal) to 3 (severe).",
                 [(MRSS_CODE, MRSS_DISPLAY), *((s.code, s.display) for s in SITES)]),
        "measure": ("Skintrack measures", "The measures of the clinical catalogue (CLINICAL.md, ENDPOINTS.md).",
                    [(m.code, m.label) for m in MEASURES]),
        "diagnosis": ("Sclerosing skin disease diagnoses", "The diagnoses of the clinical catalogue.",
                      list(DIAGNOSES.items())),
        "event-kind": ("Treatment and organ event kinds", "The point event kinds of the clinical catalogue.",
                       list(EVENT_KINDS.items())),
        "route": ("Routes of administration", "The routes of the clinical catalogue.",
                  [(r, ROUTE_NAMES.get(r, r)) for r in ROUTES]),
        "body-site": ("Body sites of sided measures", "The side and body part a sided measure was taken on.",
                      [(code, body_site_display(code)) for code in body_sites]),
        "ctcae-term": (f"CTCAE v{CTCAE_VERSION} adverse-event terms (subset)",
                       f"The CTCAE v{CTCAE_VERSION} terms the catalogue records, code = the term as spelled in "
                       "the NCI CTCAE spreadsheet (models/ctcae.py).", [(t, t) for t in CTCAE_TERM_NAMES]),
        "ctcae-grade": ("CTCAE grades", "CTCAE grades 1-5 of an adverse event.",
                        [(str(g), GRADE_DISPLAY[g]) for g in CTCAE_GRADES]),
        "relatedness": ("Relatedness of an adverse event to a suspected drug",
                        "The investigator's causality assessment as the catalogue records it.",
                        [(r, r.capitalize()) for r in RELATEDNESS]),
        "action-taken": ("Action taken with the suspected drug", "What was done with the suspected drug.",
                         [(a, a.capitalize()) for a in ACTIONS_TAKEN]),
    }


LOCAL_SYSTEMS = tuple(_concepts())
LOCAL_DISPLAYS: dict[str, dict[str, str]] = {name: dict(entries) for name, (_, _, entries) in _concepts().items()}


def local_code_systems(inst: Installation) -> list[dict]:
    """The installation's local CodeSystems as CodeSystem resources (JSON-ready dicts)."""
    systems = []
    for name, (title, description, entries) in _concepts().items():
        version = {"version": CTCAE_VERSION} if name == "ctcae-term" else {}
        systems.append({
            "resourceType": "CodeSystem", "id": f"skintrack-{name}", "url": inst.code_system(name), **version,
            "name": "Skintrack" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name)),
            "title": title, "status": "active", "experimental": False, "description": description,
            "caseSensitive": True, "content": "complete", "count": len(entries),
            "concept": [{"code": code, "display": display} for code, display in entries],
        })
    return systems
