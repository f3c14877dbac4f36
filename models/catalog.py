"""The clinical catalogue as code: the single source of every code, label, unit and range.

Forms, validators, column lists, the data dictionary and the charts all derive from this module
(shared spec CLINICAL.md). Sources are named beside each definition.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# --- modified Rodnan skin score ------------------------------------------------------------------
# Clements et al., J Rheumatol 1993;20:1892 and 1995;22:1281; Khanna et al., JSRD 2017;2:11.

SITE_MIN = 0
SITE_MAX = 3
MRSS_MAX = 51
SITE_SCORE_LABELS = {
    0: "normal",
    1: "mild thickening",
    2: "moderate thickening",
    3: "severe (cannot pinch)",
}


@dataclass(frozen=True)
class Site:
    code: str
    label: str
    side: str  # "R", "L" or "" for midline sites
    region: str  # head, trunk, arm, hand, leg — used to lay sites out like a body

    @property
    def display(self) -> str:
        return f"{self.label} ({self.side})" if self.side else self.label


# Display order: head to toe, right before left (CLINICAL.md).
SITES: tuple[Site, ...] = (
    Site("face", "Face", "", "head"),
    Site("chest", "Anterior chest", "", "trunk"),
    Site("abdomen", "Abdomen", "", "trunk"),
    Site("upper_arm_r", "Upper arm", "R", "arm"),
    Site("upper_arm_l", "Upper arm", "L", "arm"),
    Site("forearm_r", "Forearm", "R", "arm"),
    Site("forearm_l", "Forearm", "L", "arm"),
    Site("hand_r", "Dorsum of hand", "R", "hand"),
    Site("hand_l", "Dorsum of hand", "L", "hand"),
    Site("fingers_r", "Fingers", "R", "hand"),
    Site("fingers_l", "Fingers", "L", "hand"),
    Site("thigh_r", "Thigh", "R", "leg"),
    Site("thigh_l", "Thigh", "L", "leg"),
    Site("leg_r", "Lower leg", "R", "leg"),
    Site("leg_l", "Lower leg", "L", "leg"),
    Site("foot_r", "Dorsum of foot", "R", "leg"),
    Site("foot_l", "Dorsum of foot", "L", "leg"),
)
SITE_CODES: tuple[str, ...] = tuple(s.code for s in SITES)
SITES_BY_CODE: dict[str, Site] = {s.code: s for s in SITES}

# Body layout for the entry form and the body map: rows of (right-side column, centre, left-side
# column). The patient's right is on the viewer's left, as when facing the patient.
BODY_LAYOUT: tuple[tuple[str | None, str | None, str | None], ...] = (
    (None, "face", None),
    ("upper_arm_r", "chest", "upper_arm_l"),
    ("forearm_r", "abdomen", "forearm_l"),
    ("hand_r", None, "hand_l"),
    ("fingers_r", None, "fingers_l"),
    ("thigh_r", None, "thigh_l"),
    ("leg_r", None, "leg_l"),
    ("foot_r", None, "foot_l"),
)

# Sites that change most with treatment (CLINICAL.md, "Responsive sites").
RESPONSIVE_SITES = ("hand_r", "hand_l", "forearm_r", "forearm_l", "chest")

# Measurement noise of the total (Clements 1993, 1995): between observers SD ~4.6-5.4 points,
# same observer ~2.5. The chart's noise band uses the between-rater figure.
NOISE_BETWEEN_RATERS = 5.0

# Responder definitions: improved (EUSTAR, Dobrota et al., Ann Rheum Dis 2016) and progressed
# (Wu et al., Ann Rheum Dis 2019): a change of more than 5 points and at least 25%.
RESPONSE_POINTS = 5.0
RESPONSE_PERCENT = 25.0

# Anchored baseline: latest visit from this many days before the drug's first start up to it.
ANCHOR_LOOKBACK_DAYS = 90

# Data-quality flag: a site moving by this much between consecutive visits.
SITE_JUMP = 2

# --- measures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    unit: str
    sided: bool
    low: float
    high: float
    better: str  # "lower", "higher" or "" when neither direction is better
    group: str
    reference: tuple[float, float] | None = None  # normal value (a point when both ends equal)
    kind: str = "number"  # "number", "count" (whole numbers) or "yes_no" (1 yes / 0 no)

    @property
    def display(self) -> str:
        return f"{self.label} ({self.unit})"

    @property
    def whole_numbers(self) -> bool:
        """Counts and yes/no measures take whole numbers only (ENDPOINTS.md: yes/no as the integer 0 or 1)."""
        return self.kind in ("count", "yes_no")


MEASURES: tuple[Measure, ...] = (
    Measure("ftp_distance", "Finger-to-palm distance in flexion", "cm", True, 0, 15, "lower", "hand", (0, 0)),
    Measure("hai", "Hand Anatomic Index", "ratio", True, 0, 10, "higher", "hand"),
    Measure("grip_strength", "Grip strength", "kg", True, 0, 90, "higher", "hand"),
    Measure("oral_aperture", "Oral aperture, inter-incisal", "mm", False, 0, 80, "higher", "face", (35, 50)),
    Measure("wrist_flexion", "Wrist flexion", "deg", True, 0, 100, "higher", "joints", (80, 80)),
    Measure("wrist_extension", "Wrist extension", "deg", True, 0, 100, "higher", "joints", (70, 70)),
    Measure("elbow_flexion", "Elbow flexion", "deg", True, 0, 160, "higher", "joints", (150, 150)),
    Measure("elbow_extension_deficit", "Elbow extension deficit", "deg", True, 0, 120, "lower", "joints", (0, 0)),
    Measure("knee_flexion", "Knee flexion", "deg", True, 0, 160, "higher", "joints"),
    Measure("knee_extension_deficit", "Knee extension deficit", "deg", True, 0, 120, "lower", "joints", (0, 0)),
    Measure("ankle_dorsiflexion", "Ankle dorsiflexion", "deg", True, 0, 40, "higher", "joints"),
    Measure("ankle_plantarflexion", "Ankle plantarflexion", "deg", True, 0, 70, "higher", "joints"),
    Measure("fvc_pct", "FVC, % predicted", "%", False, 10, 160, "higher", "lungs"),
    Measure("dlco_pct", "DLCO, % predicted", "%", False, 5, 160, "higher", "lungs"),
    Measure("haq_di", "HAQ disability index", "score", False, 0, 3, "lower", "function"),
    Measure("patient_global", "Patient global assessment", "0-10", False, 0, 10, "lower", "function"),
    Measure("physician_global", "Physician global assessment", "0-10", False, 0, 10, "lower", "function"),
    Measure("pain_vas", "Pain, visual analogue scale", "mm", False, 0, 100, "lower", "function"),
    Measure("albumin", "Serum albumin", "g/dL", False, 0.5, 6.5, "higher", "labs"),
    Measure("calcium", "Serum calcium", "mg/dL", False, 4, 16, "", "labs"),
    Measure("phosphate", "Serum phosphate", "mg/dL", False, 0.5, 15, "", "labs"),
    Measure("creatinine", "Serum creatinine", "mg/dL", False, 0.1, 25, "", "labs"),
    Measure("weight", "Body weight", "kg", False, 20, 350, "", "labs"),
    # Trial endpoint inputs (ENDPOINTS.md): CRISS and the EUSTAR activity index.
    Measure("crp", "C-reactive protein", "mg/dL", False, 0, 50, "lower", "labs"),
    Measure("digital_ulcers", "Active digital ulcers, count", "count", False, 0, 40, "lower", "disease activity",
            kind="count"),
    Measure("tendon_friction_rubs", "Tendon friction rubs", "1 present / 0 absent", False, 0, 1, "lower",
            "disease activity", kind="yes_no"),
    Measure("skin_worsening", "Patient-reported worsening of the skin in the previous month (Δ-skin)",
            "1 yes / 0 no", False, 0, 1, "lower", "disease activity", kind="yes_no"),
)
MEASURE_CODES: tuple[str, ...] = tuple(m.code for m in MEASURES)
MEASURES_BY_CODE: dict[str, Measure] = {m.code: m for m in MEASURES}
SIDES = ("R", "L")

# --- patients -------------------------------------------------------------------------------------

DIAGNOSES: dict[str, str] = {
    "dcSSc": "Diffuse cutaneous systemic sclerosis",
    "lcSSc": "Limited cutaneous systemic sclerosis",
    "SSc": "Systemic sclerosis, subtype not stated",
    "NSF": "Nephrogenic systemic fibrosis",
    "morphea": "Morphea (localised scleroderma)",
    "other": "Other sclerosing skin disease",
}
SEXES: dict[str, str] = {"F": "female", "M": "male", "X": "other", "U": "unknown"}
PATIENT_ID_MAX = 64
PATIENT_ID_RULE = "1-64 printable characters (Unicode NFC), no leading or trailing space"


def is_valid_patient_id(value: str) -> bool:
    """EXCHANGE.md: 1-64 printable characters (any script: `Zürich-01` is one), no leading or trailing space.
    Printable in Python's sense: no control, format (e.g. a right-to-left override) or separator character
    but the plain space, which may only sit inside. In NFC, the composed form keyboards type: the same
    `ü` decomposed would otherwise be another, identical-looking patient."""
    return (0 < len(value) <= PATIENT_ID_MAX and value.isprintable() and value == value.strip()
            and unicodedata.is_normalized("NFC", value))
AGE_CAP = 90  # de-identified ages at or above this are written as 90

# --- treatments -----------------------------------------------------------------------------------

COMMON_DRUGS: tuple[str, ...] = (
    "imatinib",
    "mycophenolate mofetil",
    "methotrexate",
    "cyclophosphamide",
    "rituximab",
    "tocilizumab",
    "nintedanib",
    "prednisone",
    "intravenous immunoglobulin",
)
DOSE_UNITS: tuple[str, ...] = ("mg", "g", "mcg", "mg/kg", "IU", "mL")
_MILLIGRAMS = {"mg": 1.0, "g": 1000.0, "mcg": 0.001}  # units a dose in mg converts from


@dataclass(frozen=True)
class DoseRange:
    """The usual and the plausible dose of one administration of a drug, in `unit`.

    Outside the usual range the forms warn before saving; outside the plausible range every writer refuses
    (a typing slip such as imatinib 40000 mg). Ranges are per administration, so they hold whatever the
    frequency (imatinib 400 mg twice daily is 400 mg a dose). Sources: the drugs' labels and the SSc regimens
    of CLINICAL.md (imatinib 200-600 mg/day in SSc trials, 800 mg/day in CML)."""

    drug: str
    unit: str
    usual: tuple[float, float]
    plausible: tuple[float, float]


DOSE_RANGES: dict[str, DoseRange] = {r.drug: r for r in (
    DoseRange("imatinib", "mg", (100, 800), (50, 1000)),
    DoseRange("mycophenolate mofetil", "mg", (250, 1500), (125, 3000)),
    DoseRange("methotrexate", "mg", (7.5, 25), (2.5, 50)),
    DoseRange("cyclophosphamide", "mg", (50, 1500), (25, 2500)),
    DoseRange("rituximab", "mg", (375, 1000), (100, 2000)),
    DoseRange("tocilizumab", "mg", (162, 800), (80, 1000)),
    DoseRange("nintedanib", "mg", (100, 150), (50, 300)),
    DoseRange("prednisone", "mg", (1, 60), (0.5, 200)),
    DoseRange("intravenous immunoglobulin", "g", (20, 140), (5, 200)),
)}


def dose_in_unit(dose: float, unit: str, wanted: str) -> float | None:
    """`dose` `unit` expressed in `wanted` (mg, g or mcg); None when the units do not convert (mg/kg, IU, mL)."""
    if unit == wanted:
        return dose
    if unit in _MILLIGRAMS and wanted in _MILLIGRAMS:
        return dose * _MILLIGRAMS[unit] / _MILLIGRAMS[wanted]
    return None


def dose_check(drug: str, dose: float | None, unit: str) -> tuple[str, str] | None:
    """("refuse" | "warn", message) when a drug's dose lies outside its plausible or usual range; None when it
    lies inside, or when the catalogue has no range for the drug or the unit does not convert."""
    limits = DOSE_RANGES.get(drug)
    if limits is None or dose is None:
        return None
    amount = dose_in_unit(dose, unit, limits.unit)
    if amount is None:
        return None
    for verdict, (low, high), what in (("refuse", limits.plausible, "plausible"), ("warn", limits.usual, "usual")):
        if not low <= amount <= high:
            shown = f"{dose:g} {unit}" + ("" if unit == limits.unit else f" ({amount:g} {limits.unit})")
            return verdict, (f"{shown} is outside the {what} range of {drug}, {low:g}-{high:g} {limits.unit} "
                             "per dose")
    return None
FIXED_FREQUENCIES: tuple[str, ...] = ("daily", "twice daily", "weekly", "every 4 weeks", "once")
FREQUENCY_PATTERN = re.compile(r"^([1-9][0-9]?) per (day|week|month)$")
FREQUENCY_RULE = "daily, twice daily, weekly, every 4 weeks, once, or 'N per day/week/month'"
ROUTES: tuple[str, ...] = ("oral", "iv", "sc", "im", "topical", "intralesional", "other")

EVENT_KINDS: dict[str, str] = {
    "steroid_injection": "Intralesional steroid injection",
    "procedure": "Procedure",
    "gadolinium_exposure": "Gadolinium exposure",
    "adverse_event": "Adverse event",
    "other": "Other event",
    # Organ events (ENDPOINTS.md, Khanna 2016 Table 4): new or worsening involvement attributable to SSc,
    # recorded by a physician. They are step 1 of the ACR CRISS and the revised CRISS.
    "renal_crisis": "Scleroderma renal crisis",
    "ild_progression": "Interstitial lung disease progression",
    "lv_failure": "Left-ventricular failure",
    "pah": "Pulmonary arterial hypertension",
}
ORGAN_EVENT_KINDS: tuple[str, ...] = ("renal_crisis", "ild_progression", "lv_failure", "pah")
ORGAN_EVENT_HELP: dict[str, str] = {
    "renal_crisis": "new scleroderma renal crisis",
    "ild_progression": "FVC % predicted fell by 15 % or more (relative), confirmed by another FVC within a month, "
                       "ILD confirmed on HRCT, and FVC below 80 % predicted",
    "lv_failure": "new left-ventricular failure (LVEF 45 % or less) requiring treatment",
    "pah": "new pulmonary arterial hypertension on right-heart catheterisation (mean PAP 25 mmHg or more, wedge "
           "15 mmHg or less, PVR above 3 Wood units) requiring treatment",
}
CTCAE_GRADES: dict[int, str] = {
    1: "mild",
    2: "moderate",
    3: "severe",
    4: "life-threatening",
    5: "death",
}
# Adverse events (EXCHANGE.md events.csv): what the clinic records beside the CTCAE term and grade.
RELATEDNESS: tuple[str, ...] = ("unrelated", "unlikely", "possible", "probable", "definite")
ACTIONS_TAKEN: tuple[str, ...] = ("none", "dose reduced", "interrupted", "withdrawn")
AE_OUTCOMES: tuple[str, ...] = ("recovered", "recovering", "not recovered", "recovered with sequelae", "fatal",
                                "unknown")

# --- accounts -------------------------------------------------------------------------------------

ROLES: dict[str, str] = {
    "staff": "Clinic staff",
    "physician": "Physician",
    "coordinator": "Trial coordinator",
    "admin": "Administrator",
}


def is_valid_frequency(value: str) -> bool:
    """True for a fixed frequency or one of the form 'N per day/week/month'."""
    return value in FIXED_FREQUENCIES or bool(FREQUENCY_PATTERN.match(value))


def join_sites(codes) -> str:
    """Site codes in catalogue order, joined by ';' (the bundle's `sites` cell)."""
    chosen = set(codes)
    return ";".join(c for c in SITE_CODES if c in chosen)


def split_sites(value: str | None) -> list[str]:
    """The codes of a ';'-joined `sites` cell (blank gives none), whitespace trimmed."""
    if not value:
        return []
    return [part.strip() for part in value.split(";") if part.strip()]
