"""The FHIR R4 mapping (docs/FHIR.md) as pure functions: the frames of the `db/` reads -> FHIR resources.

`resource_dicts` yields each resource as a JSON-ready dict, the form the bulk export streams (building a
`fhir.resources` model per resource costs milliseconds, too much for a registry of a million resources);
`resources` gives the same resources as `fhir.resources.R4B` models. Both read the frames of
`analysis/frames.py` (the adverse-event columns term, suspected_drug, relatedness, action_taken and outcome are
mapped when the events frame has them). The frames of a de-identified export are de-identified before they
get here (`exchange.fhir.deidentify`); with `Context.deidentified` the mapping leaves out what only identified
output carries (name, MRN, birth year, free text) and names the patient's identifier as a pseudonym.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd
from fhir.resources.R4B import get_fhir_model_class

from exchange.fhir import codes
from exchange.fhir.codes import Installation
from models.catalog import (
    AGE_CAP,
    DIAGNOSES,
    EVENT_KINDS,
    MEASURES_BY_CODE,
    ORGAN_EVENT_KINDS,
    SITE_CODES,
    SITES_BY_CODE,
    split_sites,
)
from models.ctcae import CTCAE_VERSION

ADMINISTRATION_KINDS = ("steroid_injection", "gadolinium_exposure")
RESOURCE_TYPES = ("Patient", "Condition", "Observation", "MedicationStatement", "MedicationAdministration",
                  "Procedure", "AdverseEvent")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
HASHED_PREFIX = "h."


@dataclass(frozen=True)
class Frames:
    """The rows of some patients as the `db/` reads give them (analysis/frames.py)."""

    patients: pd.DataFrame
    assessments: pd.DataFrame
    measurements: pd.DataFrame
    medications: pd.DataFrame
    events: pd.DataFrame


@dataclass(frozen=True)
class Context:
    installation: Installation
    deidentified: bool = False
    # Local concepts built once per export: a registry repeats the same few hundred (17 sites per assessment).
    # The dicts are shared between resources, so the resource dicts are read-only for their users.
    concepts: dict = field(default_factory=dict, compare=False, repr=False)


# --- ids and small builders ------------------------------------------------------------------------------


def patient_resource_id(patient_id: str) -> str:
    """The Patient resource id of a patient_id: the patient_id itself when it is a valid FHIR id (letters,
    digits, `-`, `.`, at most 64) not starting with `h.`; otherwise `h.` + 20 hex digits of its SHA-256, so
    the two kinds never collide. A pseudonym (`S-` + 10 hex digits) is its own id."""
    if _FHIR_ID.match(patient_id) and not patient_id.startswith(HASHED_PREFIX):
        return patient_id
    return HASHED_PREFIX + hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:20]


def _digest(parts: Iterable[object]) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass
class _Ids:
    """Resource ids from a record's key (only values the output itself carries, so a de-identified export's ids
    are derived from de-identified values); a repeated key (events told apart only by a description that is not
    exported) gets `-2`, `-3`, ... in read order."""

    seen: set[str] = field(default_factory=set)

    def make(self, prefix: str, *parts: object) -> str:
        base = f"{prefix}-{_digest(parts)}"
        candidate, number = base, 1
        while candidate in self.seen:
            number += 1
            candidate = f"{base}-{number}"
        self.seen.add(candidate)
        return candidate


def medication_statement_id(patient_ref_id: str, drug: str, start_date: str) -> str:
    return f"med-{_digest((patient_ref_id, drug, start_date))}"


def _coding(system: str, code: str, display: str | None = None, version: str | None = None) -> dict:
    coding = {"system": system}
    if version:
        coding["version"] = version
    coding["code"] = code
    if display:
        coding["display"] = display
    return coding


def _local(ctx: Context, system: str, code: str, text: str | None = None) -> dict:
    key = (system, code, text)
    concept = ctx.concepts.get(key)
    if concept is None:
        concept = ctx.concepts[key] = _local_concept(ctx, system, code, text)
    return concept


def _local_concept(ctx: Context, system: str, code: str, text: str | None) -> dict:
    display = codes.LOCAL_DISPLAYS[system].get(code)
    concept = {"coding": [_coding(ctx.installation.code_system(system), code, display)]}
    if text or display:
        concept["text"] = text or display
    return concept


def _absent(code: str, display: str, text: str | None = None) -> dict:
    concept = {"coding": [_coding(codes.DATA_ABSENT_REASON, code, display)]}
    if text:
        concept["text"] = text
    return concept


_NOT_PERFORMED = _absent("not-performed", "Not Performed")


def _ucum(value, unit: str, ucum: str | None) -> dict:
    quantity = {"value": value, "unit": unit}
    if ucum is not None:
        quantity.update(system=codes.UCUM, code=ucum)
    return quantity


def _number(value):
    """A whole float as an int (JSON `40`, not `40.0`), other values as they are."""
    return int(value) if float(value).is_integer() else float(value)


def _records(frame: pd.DataFrame, dates: Iterable[str]) -> list[dict]:
    """The rows as dicts: dates as ISO text, every missing value None (plain Python values, not numpy's)."""
    frame = frame.copy()
    for column in dates:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True)) for row in values]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


# --- resources --------------------------------------------------------------------------------------------


def _patient(row: dict, ctx: Context, pid: str) -> dict:
    resource = {"resourceType": "Patient", "id": pid}
    age = row.get("age_at_baseline")
    if age is not None:
        age = int(age)
        quantity = {"value": age, "unit": "years", "system": codes.UCUM, "code": "a"}
        if age >= AGE_CAP:
            quantity = {"value": AGE_CAP, "comparator": ">=", **{k: v for k, v in quantity.items() if k != "value"}}
        resource["extension"] = [{"url": ctx.installation.extension("age-at-baseline"), "valueAge": quantity}]
    system = "pseudonym" if ctx.deidentified else "patient-id"
    identifiers = [{"use": "usual", "system": ctx.installation.identifier_system(system), "value": row["patient_id"]}]
    if not ctx.deidentified and _text(row.get("mrn")):
        identifiers.append({
            "type": {"coding": [_coding(codes.IDENTIFIER_TYPE, "MR", "Medical record number")]},
            "system": ctx.installation.identifier_system("mrn"), "value": _text(row["mrn"])})
    resource["identifier"] = identifiers
    if not ctx.deidentified and _text(row.get("name")):
        resource["name"] = [{"text": _text(row["name"])}]
    gender = codes.SEX_TO_GENDER.get(_text(row.get("sex")))
    if gender:
        resource["gender"] = gender
    if not ctx.deidentified and row.get("birth_year") is not None:
        resource["birthDate"] = f"{int(row['birth_year']):04d}"
    centre = _text(row.get("centre"))
    if centre:  # the patient's centre, by its code (kept on de-identification: a centre is not a person)
        resource["managingOrganization"] = {"identifier": {"system": ctx.installation.identifier_system("centre"),
                                                           "value": centre}}
    return resource


def _diagnosis(row: dict, ctx: Context, pid: str) -> dict | None:
    code = _text(row.get("diagnosis"))
    if not code:
        return None
    resource = {"resourceType": "Condition", "id": f"dx-{_digest((pid, code))}"}
    if row.get("diagnosis_date"):
        resource["extension"] = [{"url": codes.CONDITION_ASSERTED_DATE, "valueDateTime": row["diagnosis_date"]}]
    resource.update({
        "clinicalStatus": {"coding": [_coding(codes.CONDITION_CLINICAL, "active", "Active")]},
        "verificationStatus": {"coding": [_coding(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed")]},
        "category": [{"coding": [_coding(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]}],
        "code": _local(ctx, "diagnosis", code, DIAGNOSES.get(code, code)),
        "subject": {"reference": f"Patient/{pid}"},
    })
    return resource


def _category(code: str) -> list[dict]:
    return [{"coding": [_coding(codes.OBSERVATION_CATEGORY, code, codes.CATEGORY_DISPLAY.get(code))]}]


def _performer(rater) -> dict:
    rater = _text(rater)
    return {"performer": [{"display": rater}]} if rater else {}


def _mrss(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    rater = _text(row.get("rater"))
    resource = {
        "resourceType": "Observation", "id": ids.make("mrss", pid, row["visit_date"], rater), "status": "final",
        "category": _category("exam"), "code": _local(ctx, "mrss", codes.MRSS_CODE, "mRSS"),
        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": row["visit_date"], **_performer(rater),
    }
    total = row.get("total")
    unscored = [code for code in SITE_CODES if row.get(code) is None]
    if total is not None:
        resource["valueQuantity"] = _ucum(_number(total), "score", "{score}")
    else:
        resource["dataAbsentReason"] = _absent("unknown", "Unknown", "incomplete assessment: "
                                               f"{len(unscored)} of 17 sites not scored, so no total")
    components = []
    for code in SITE_CODES:
        component = {"code": _local(ctx, "mrss", code)}
        score = row.get(code)
        if score is None:
            component["dataAbsentReason"] = _NOT_PERFORMED
        else:
            component["valueInteger"] = int(score)
        components.append(component)
    resource["component"] = components
    return resource


def _measure_value(row: dict) -> dict:
    measure = MEASURES_BY_CODE.get(row["measure"])
    value = row["value"]
    if measure is not None and measure.kind == "yes_no":
        return {"valueBoolean": bool(value)}
    if measure is not None and measure.kind == "count":
        return {"valueInteger": int(value)}
    unit = measure.unit if measure is not None else _text(row.get("unit"))
    return {"valueQuantity": _ucum(_number(value), unit, codes.UCUM_UNITS.get(unit))}


def _measurement(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    code, side, rater = row["measure"], _text(row.get("side")), _text(row.get("rater"))
    measure = MEASURES_BY_CODE.get(code)
    concept = _local(ctx, "measure", code, measure.label if measure else code)
    if code in codes.VERIFIED_LOINC:
        loinc, display = codes.VERIFIED_LOINC[code]
        concept = {"coding": [*concept["coding"], _coding(codes.LOINC, loinc, display)], "text": concept["text"]}
    category = codes.CATEGORY_BY_MEASURE.get(code) or codes.CATEGORY_BY_GROUP.get(measure.group if measure else "")
    resource = {"resourceType": "Observation", "id": ids.make("obs", pid, row["date"], code, side, rater),
                "status": "final"}
    if category:
        resource["category"] = _category(category)
    resource.update({"code": concept, "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": row["date"],
                     **_performer(rater), **_measure_value(row)})
    if side in codes.SIDE_NAMES:
        part = codes.MEASURE_BODY_PART.get(code)
        if part is not None:
            resource["bodySite"] = _local(ctx, "body-site", f"{codes.SIDE_NAMES[side]}-{part}")
        else:
            resource["bodySite"] = {"text": codes.SIDE_NAMES[side]}
    return resource


def _dose_quantity(dose, unit: str) -> dict:
    unit = _text(unit)
    return _ucum(_number(dose), unit, codes.DOSE_UCUM.get(unit))


def _medication(row: dict, ctx: Context, pid: str) -> dict:
    drug, frequency, route = row["drug"], _text(row.get("frequency")), _text(row.get("route"))
    dosage = {"text": ", ".join(part for part in (f"{_number(row['dose']):g} {row['dose_unit']} {frequency}".strip(),
                                                  codes.ROUTE_NAMES.get(route, route).lower() if route else "")
                                if part)}
    repeat = codes.timing_repeat(frequency)
    if repeat is not None:
        dosage["timing"] = {"repeat": repeat}
    if route:
        dosage["route"] = _local(ctx, "route", route)
    dosage["doseAndRate"] = [{"doseQuantity": _dose_quantity(row["dose"], row["dose_unit"])}]
    period = {"start": row["start_date"]}
    if row.get("end_date"):
        period["end"] = row["end_date"]
    resource = {
        "resourceType": "MedicationStatement", "id": medication_statement_id(pid, drug, row["start_date"]),
        "status": "completed" if row.get("end_date") else "active",
        "medicationCodeableConcept": {"text": drug}, "subject": {"reference": f"Patient/{pid}"},
        "effectivePeriod": period, "dosage": [dosage],
    }
    if not ctx.deidentified and _text(row.get("reason")):
        resource["note"] = [{"text": _text(row["reason"])}]
    return resource


def _sites(ctx: Context, sites: str) -> list[str]:
    return [code for code in split_sites(sites) if code in SITES_BY_CODE]


def _site_concept(ctx: Context, site_codes: list[str]) -> dict:
    # R4 gives a dosage one site: the sites of one injection session are its codings, the text names them all
    system = ctx.installation.code_system("mrss")
    return {"coding": [_coding(system, code, SITES_BY_CODE[code].display) for code in site_codes],
            "text": "; ".join(SITES_BY_CODE[code].display for code in site_codes)}


def _note(row: dict, ctx: Context) -> dict:
    description = _text(row.get("description"))
    return {"note": [{"text": description}]} if description and not ctx.deidentified else {}


def _administration(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    kind, agent, sites = row["kind"], _text(row.get("agent")), _sites(ctx, _text(row.get("sites")))
    resource = {
        "resourceType": "MedicationAdministration",
        "id": ids.make("adm", pid, row["date"], kind, row.get("sites"), agent), "status": "completed",
        "category": _local(ctx, "event-kind", kind),
        "medicationCodeableConcept": {"text": agent or EVENT_KINDS[kind]},
        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": row["date"], **_note(row, ctx),
    }
    dosage = {}
    if sites:
        dosage["site"] = _site_concept(ctx, sites)
    if kind == "steroid_injection":
        dosage["route"] = _local(ctx, "route", "intralesional")
    if row.get("dose") is not None:
        dosage["dose"] = _dose_quantity(row["dose"], row.get("dose_unit"))
    elif dosage:
        # a dosage needs a dose (invariant mad-1): a site without a recorded dose says the dose is unknown
        dosage["dose"] = {"extension": [{"url": codes.DATA_ABSENT_EXTENSION, "valueCode": "unknown"}]}
    if dosage:
        resource["dosage"] = dosage
    return resource


def _procedure(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    agent, sites = _text(row.get("agent")), _sites(ctx, _text(row.get("sites")))
    description = "" if ctx.deidentified else _text(row.get("description"))
    resource = {
        "resourceType": "Procedure", "id": ids.make("proc", pid, row["date"], row.get("sites"), agent),
        "status": "completed", "code": _local(ctx, "event-kind", "procedure", description or None),
        "subject": {"reference": f"Patient/{pid}"},
    }
    if row.get("end_date"):
        resource["performedPeriod"] = {"start": row["date"], "end": row["end_date"]}
    else:
        resource["performedDateTime"] = row["date"]
    if sites:
        system = ctx.installation.code_system("mrss")
        resource["bodySite"] = [{"coding": [_coding(system, code, SITES_BY_CODE[code].display)]} for code in sites]
    if agent:
        resource["usedCode"] = [{"text": agent}]
    return resource


def _suspect_statement(periods: list[dict], day: str) -> dict | None:
    """The suspected drug's period on the event's day; else the last one started before it; else the first."""
    if not periods:
        return None
    for period in periods:
        if period["start_date"] <= day and (not period.get("end_date") or day <= period["end_date"]):
            return period
    started = [p for p in periods if p["start_date"] <= day]
    return started[-1] if started else periods[0]


def _adverse_event(row: dict, ctx: Context, pid: str, ids: _Ids, periods: dict[str, list[dict]]) -> dict:
    term, drug = _text(row.get("term")), _text(row.get("suspected_drug"))
    relatedness, action, outcome = (_text(row.get(c)) for c in ("relatedness", "action_taken", "outcome"))
    extensions = []
    if row.get("grade") is not None:
        grade = int(row["grade"])
        extensions.append({"url": codes.AE_GRADE_EXTENSION, "valueCodeableConcept": _local(
            ctx, "ctcae-grade", str(grade), f"CTCAE grade {grade}")})
    if row.get("end_date"):
        extensions.append({"url": ctx.installation.extension("adverse-event-resolution-date"),
                           "valueDate": row["end_date"]})
    if action:
        extensions.append({"url": ctx.installation.extension("adverse-event-action-taken"),
                           "valueCodeableConcept": _local(ctx, "action-taken", action)})
    statement = _suspect_statement(periods.get(drug, []), row["date"]) if drug else None
    if relatedness and not drug:
        extensions.append({"url": ctx.installation.extension("adverse-event-relatedness"),
                           "valueCodeableConcept": _local(ctx, "relatedness", relatedness)})
    resource = {"resourceType": "AdverseEvent",
                "id": ids.make("ae", pid, row["date"], row.get("sites"), row.get("agent"), term)}
    if extensions:
        resource["extension"] = extensions
    resource["actuality"] = "actual"
    description = "" if ctx.deidentified else _text(row.get("description"))
    if term:
        resource["event"] = {"coding": [_coding(ctx.installation.code_system("ctcae-term"), term, term,
                                                CTCAE_VERSION)], "text": term}
    elif description:
        resource["event"] = {"text": description}
    resource.update({"subject": {"reference": f"Patient/{pid}"}, "date": row["date"]})
    if row.get("serious") is not None:
        code = "Serious" if row["serious"] else "Non-serious"
        resource["seriousness"] = {"coding": [_coding(codes.AE_SERIOUSNESS, code, code)]}
    if row.get("grade") is not None and int(row["grade"]) in codes.GRADE_SEVERITY:
        severity = codes.GRADE_SEVERITY[int(row["grade"])]
        resource["severity"] = {"coding": [_coding(codes.AE_SEVERITY, severity, severity.capitalize())]}
    if outcome in codes.AE_OUTCOMES_FHIR:
        code, display = codes.AE_OUTCOMES_FHIR[outcome]
        resource["outcome"] = {"coding": [_coding(codes.AE_OUTCOME, code, display)], "text": outcome}
    if drug:
        if statement is not None:
            statement_id = medication_statement_id(pid, drug, statement["start_date"])
            instance = {"reference": f"MedicationStatement/{statement_id}", "display": drug}
        else:
            instance = {"display": drug}  # a drug the patient has no recorded period of
        suspect = {"instance": instance}
        if relatedness:
            suspect["causality"] = [{"assessment": _local(ctx, "relatedness", relatedness)}]
        resource["suspectEntity"] = [suspect]
    return resource


def _organ_event(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    kind = row["kind"]
    ended = bool(row.get("end_date"))
    status = ("resolved", "Resolved") if ended else ("active", "Active")
    resource = {
        "resourceType": "Condition", "id": ids.make("organ", pid, row["date"], kind),
        "clinicalStatus": {"coding": [_coding(codes.CONDITION_CLINICAL, *status)]},
        "verificationStatus": {"coding": [_coding(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed")]},
        "category": [{"coding": [_coding(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]}],
        "code": _local(ctx, "event-kind", kind), "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": row["date"],
    }
    if ended:
        resource["abatementDateTime"] = row["end_date"]
    resource.update(_note(row, ctx))
    return resource


def _other_event(row: dict, ctx: Context, pid: str, ids: _Ids) -> dict:
    kind, agent = row["kind"], _text(row.get("agent"))
    code = kind if kind in EVENT_KINDS else "other"
    resource = {"resourceType": "Observation", "id": ids.make("event", pid, row["date"], kind, row.get("sites"), agent),
                "status": "final", "code": _local(ctx, "event-kind", code),
                "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": row["date"]}
    if agent:
        resource["valueString"] = agent
    resource.update(_note(row, ctx))
    return resource


# --- frames -> resources ----------------------------------------------------------------------------------


def _by_patient(frame: pd.DataFrame, dates: Iterable[str]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in _records(frame, dates):
        grouped.setdefault(row["patient_id"], []).append(row)
    return grouped


def _event(row: dict, ctx: Context, pid: str, ids: _Ids, periods: dict[str, list[dict]]) -> dict:
    kind = row["kind"]
    if kind in ADMINISTRATION_KINDS:
        return _administration(row, ctx, pid, ids)
    if kind == "procedure":
        return _procedure(row, ctx, pid, ids)
    if kind == "adverse_event":
        return _adverse_event(row, ctx, pid, ids, periods)
    if kind in ORGAN_EVENT_KINDS:
        return _organ_event(row, ctx, pid, ids)
    return _other_event(row, ctx, pid, ids)


def resource_dicts(frames: Frames, ctx: Context) -> Iterator[dict]:
    """Every resource of the frames' patients as a JSON-ready dict, patient by patient in the order of
    `frames.patients`: the Patient and its diagnosis Condition, one Observation per assessment (mRSS) and per
    measurement, a MedicationStatement per medication period, and per event a MedicationAdministration,
    Procedure, AdverseEvent, Condition (organ events) or Observation (other). References are relative
    (`Patient/<id>`); ids are stable across exports. Made one at a time (a consumer that writes each away holds
    one resource); grouped by patient, so a chunked export is the same whatever the chunk size."""
    assessments = _by_patient(frames.assessments, ("visit_date",))
    measurements = _by_patient(frames.measurements, ("date",))
    medications = _by_patient(frames.medications, ("start_date", "end_date"))
    events = _by_patient(frames.events, ("date", "end_date"))
    ids = _Ids()
    for row in _records(frames.patients, ("diagnosis_date",)):
        patient_id = row["patient_id"]
        pid = patient_resource_id(patient_id)
        yield _patient(row, ctx, pid)
        diagnosis = _diagnosis(row, ctx, pid)
        if diagnosis is not None:
            yield diagnosis
        for assessment in assessments.pop(patient_id, ()):
            yield _mrss(assessment, ctx, pid, ids)
        for measurement in measurements.pop(patient_id, ()):
            yield _measurement(measurement, ctx, pid, ids)
        periods: dict[str, list[dict]] = {}
        for period in medications.pop(patient_id, ()):
            periods.setdefault(period["drug"], []).append(period)
            yield _medication(period, ctx, pid)
        for rows in periods.values():
            rows.sort(key=lambda r: r["start_date"])
        for event in events.pop(patient_id, ()):
            yield _event(event, ctx, pid, ids, periods)


def as_model(resource: dict):
    """A JSON-ready resource dict as its `fhir.resources.R4B` model (validated)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def resources(frames: Frames, ctx: Context) -> list:
    """`resource_dicts` as `fhir.resources.R4B` models: Patient, Condition, Observation, MedicationStatement,
    MedicationAdministration, Procedure, AdverseEvent."""
    return [as_model(resource) for resource in resource_dicts(frames, ctx)]
