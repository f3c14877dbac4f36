"""The FHIR mapping of docs/FHIR.md as pure functions: hand-written expected JSON for one small patient, each
rule of the mapping on hand-made frames, and every resource parsing with the `fhir.resources` R4B models and
round-tripping (model -> JSON -> model equal)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class

from analysis.frames import ASSESSMENT_COLUMNS, EVENT_COLUMNS, MEASUREMENT_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS
from exchange.fhir import Context, Frames, Installation, as_model, local_code_systems, patient_resource_id, resources
from exchange.fhir.codes import (
    CATEGORY_BY_GROUP,
    DOSE_UCUM,
    MEASURE_BODY_PART,
    UCUM_UNITS,
    VERIFIED_LOINC,
    installation_for,
    timing_repeat,
)
from exchange.fhir.mapping import resource_dicts
from models.catalog import DOSE_UNITS, FIXED_FREQUENCIES, MEASURES, ROUTES, SITE_CODES
from models.errors import InvalidValue

BASE = "https://skintrack.example.org/fhir"
INST = Installation(BASE)
CS = f"{BASE}/CodeSystem"
UCUM = "http://unitsofmeasure.org"
SCORES = (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1)  # sum 31
AE_COLUMNS = ["term", "suspected_drug", "relatedness", "action_taken", "outcome"]


def frame(rows, columns, dates=(), ints=()) -> pd.DataFrame:
    """A frame shaped like the `db/` reads (analysis/frames.py): dates as datetime64, blank text "", Int64."""
    data = pd.DataFrame(rows, columns=columns)
    for column in dates:
        data[column] = pd.to_datetime(data[column])
    for column in ints:
        data[column] = data[column].astype("Int64")
    return data


def patients(*rows) -> pd.DataFrame:
    return frame(rows, PATIENT_COLUMNS, ["diagnosis_date"], ["birth_year", "age_at_baseline"])


def assessments(*rows) -> pd.DataFrame:
    return frame(rows, ASSESSMENT_COLUMNS, ["visit_date"])


def measurements(*rows) -> pd.DataFrame:
    return frame(rows, MEASUREMENT_COLUMNS, ["date"])


def medications(*rows) -> pd.DataFrame:
    return frame(rows, MEDICATION_COLUMNS, ["start_date", "end_date"])


def events(*rows, columns=EVENT_COLUMNS) -> pd.DataFrame:
    data = frame(rows, columns, ["date", "end_date"], ["grade"])
    data["serious"] = data["serious"].astype("boolean")
    return data


def event(kind, day, *, description="", sites="", agent="", dose=None, unit="", grade=None, serious=None, end=None,
          **ae):
    row = ["P-001", day, kind, description, sites, agent, dose, unit, grade, serious, end]
    return row + [ae.get(c, "") for c in AE_COLUMNS] if ae else row


SMALL = Frames(
    patients=patients(["P-001", "dcSSc", "F", 1968, None, "2017-02-01", "Test Person", "000101", ""]),
    assessments=assessments(["P-001", "2018-01-10", "dr a", *map(float, SCORES), 31.0, False]),
    measurements=measurements(["P-001", "2018-01-10", "ftp_distance", "R", 4.5, "cm", "dr a"],
                              ["P-001", "2018-01-10", "fvc_pct", "", 74.0, "%", ""]),
    medications=medications(["P-001", "imatinib", 200.0, "mg", "daily", "oral", "2018-01-20", None, "started"]),
    events=events(),
)


def site(code: str, display: str, score: int) -> dict:
    return {"code": {"coding": [{"system": f"{CS}/mrss", "code": code, "display": display}], "text": display},
            "valueInteger": score}


EXPECTED_SMALL = [
    {"resourceType": "Patient", "id": "P-001",
     "identifier": [
         {"use": "usual", "system": f"{BASE}/NamingSystem/patient-id", "value": "P-001"},
         {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR",
                               "display": "Medical record number"}]},
          "system": f"{BASE}/NamingSystem/mrn", "value": "000101"}],
     "name": [{"text": "Test Person"}], "gender": "female", "birthDate": "1968"},
    {"resourceType": "Condition", "id": "dx-c2186a3fd7b295097141",
     "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate",
                    "valueDateTime": "2017-02-01"}],
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    "code": "active", "display": "Active"}]},
     "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                        "code": "confirmed", "display": "Confirmed"}]},
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                               "code": "problem-list-item", "display": "Problem List Item"}]}],
     "code": {"coding": [{"system": f"{CS}/diagnosis", "code": "dcSSc",
                          "display": "Diffuse cutaneous systemic sclerosis"}],
              "text": "Diffuse cutaneous systemic sclerosis"},
     "subject": {"reference": "Patient/P-001"}},
    {"resourceType": "Observation", "id": "mrss-f01ce9051364b47bed4b", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                               "code": "exam", "display": "Exam"}]}],
     "code": {"coding": [{"system": f"{CS}/mrss", "code": "mrss",
                          "display": "Modified Rodnan skin score, total (0-51)"}], "text": "mRSS"},
     "subject": {"reference": "Patient/P-001"}, "effectiveDateTime": "2018-01-10",
     "performer": [{"display": "dr a"}],
     "valueQuantity": {"value": 31, "unit": "score", "system": UCUM, "code": "{score}"},
     "component": [
         site("face", "Face", 1), site("chest", "Anterior chest", 2), site("abdomen", "Abdomen", 2),
         site("upper_arm_r", "Upper arm (R)", 2), site("upper_arm_l", "Upper arm (L)", 2),
         site("forearm_r", "Forearm (R)", 2), site("forearm_l", "Forearm (L)", 2),
         site("hand_r", "Dorsum of hand (R)", 3), site("hand_l", "Dorsum of hand (L)", 3),
         site("fingers_r", "Fingers (R)", 2), site("fingers_l", "Fingers (L)", 2),
         site("thigh_r", "Thigh (R)", 1), site("thigh_l", "Thigh (L)", 1),
         site("leg_r", "Lower leg (R)", 2), site("leg_l", "Lower leg (L)", 2),
         site("foot_r", "Dorsum of foot (R)", 1), site("foot_l", "Dorsum of foot (L)", 1)]},
    {"resourceType": "Observation", "id": "obs-c2c89d0313dc6d33f8e7", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                               "code": "exam", "display": "Exam"}]}],
     "code": {"coding": [{"system": f"{CS}/measure", "code": "ftp_distance",
                          "display": "Finger-to-palm distance in flexion"}],
              "text": "Finger-to-palm distance in flexion"},
     "subject": {"reference": "Patient/P-001"}, "effectiveDateTime": "2018-01-10",
     "performer": [{"display": "dr a"}],
     "valueQuantity": {"value": 4.5, "unit": "cm", "system": UCUM, "code": "cm"},
     "bodySite": {"coding": [{"system": f"{CS}/body-site", "code": "right-hand", "display": "Right hand"}],
                  "text": "Right hand"}},
    {"resourceType": "Observation", "id": "obs-1aa750dba55edf9fc00f", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                               "code": "procedure", "display": "Procedure"}]}],
     "code": {"coding": [{"system": f"{CS}/measure", "code": "fvc_pct", "display": "FVC, % predicted"},
                         {"system": "http://loinc.org", "code": "19872-1", "display": "FVC measured/predicted"}],
              "text": "FVC, % predicted"},
     "subject": {"reference": "Patient/P-001"}, "effectiveDateTime": "2018-01-10",
     "valueQuantity": {"value": 74, "unit": "%", "system": UCUM, "code": "%"}},
    {"resourceType": "MedicationStatement", "id": "med-fd22f4737a12909065f6", "status": "active",
     "medicationCodeableConcept": {"text": "imatinib"}, "subject": {"reference": "Patient/P-001"},
     "effectivePeriod": {"start": "2018-01-20"},
     "dosage": [{"text": "200 mg daily, oral", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                 "route": {"coding": [{"system": f"{CS}/route", "code": "oral", "display": "Oral"}], "text": "Oral"},
                 "doseAndRate": [{"doseQuantity": {"value": 200, "unit": "mg", "system": UCUM, "code": "mg"}}]}],
     "note": [{"text": "started"}]},
]


def check_model(resource: dict):
    """The resource parses with its R4B model, keeps every element (JSON of the model = the dict), and
    round-trips: model -> JSON -> model equal."""
    model = as_model(resource)
    text = model.model_dump_json()
    assert json.loads(text) == resource
    assert get_fhir_model_class(resource["resourceType"]).model_validate_json(text) == model
    return model


def test_one_small_patient_gives_the_hand_written_resources():
    produced = list(resource_dicts(SMALL, Context(INST)))
    assert produced == EXPECTED_SMALL
    for resource in produced:
        check_model(resource)
    assert [type(r).__name__ for r in resources(SMALL, Context(INST))] == [
        "Patient", "Condition", "Observation", "Observation", "Observation", "MedicationStatement"]


def test_ids_and_references_are_stable_and_fhir_ids():
    assert patient_resource_id("DEMO-0001") == "DEMO-0001"
    hashed = patient_resource_id("Zürich 01")
    assert hashed.startswith("h.") and len(hashed) == 22 and hashed == patient_resource_id("Zürich 01")
    assert patient_resource_id("h.abc") != "h.abc"  # the hashed form's prefix is never taken verbatim
    assert patient_resource_id("x" * 65).startswith("h.")
    first = list(resource_dicts(SMALL, Context(INST)))
    again = list(resource_dicts(SMALL, Context(INST)))
    assert [r["id"] for r in first] == [r["id"] for r in again]


def test_incomplete_assessment_keeps_every_site_as_a_component_without_total():
    scores = [float(s) for s in SCORES]
    scores[15] = scores[16] = float("nan")  # feet not examined
    frames = Frames(patients(["P-001", "lcSSc", "", None, None, None, "", "", ""]),
                    assessments(["P-001", "2020-05-12", "", *scores, float("nan"), True]),
                    measurements(), medications(), events())
    observation = [r for r in resource_dicts(frames, Context(INST)) if r["resourceType"] == "Observation"][0]
    assert "valueQuantity" not in observation and "performer" not in observation
    assert observation["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert "2 of 17 sites not scored" in observation["dataAbsentReason"]["text"]
    components = {c["code"]["coding"][0]["code"]: c for c in observation["component"]}
    assert list(components) == list(SITE_CODES)
    assert components["foot_r"]["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueInteger" not in components["foot_l"] and components["hand_r"]["valueInteger"] == 3
    check_model(observation)


def test_total_only_assessment_has_its_total_and_seventeen_absent_sites():
    frames = Frames(patients(["P-001", "lcSSc", "", None, None, None, "", "", ""]),
                    assessments(["P-001", "2019-11-05", "", *[float("nan")] * 17, 8.5, False]),
                    measurements(), medications(), events())
    observation = [r for r in resource_dicts(frames, Context(INST)) if r["resourceType"] == "Observation"][0]
    assert observation["valueQuantity"]["value"] == 8.5
    assert all(c["dataAbsentReason"]["coding"][0]["code"] == "not-performed" for c in observation["component"])
    check_model(observation)


def test_measures_count_yes_no_unit_less_ratio_and_sides():
    frames = Frames(
        patients(["P-001", "SSc", "M", 1950, None, None, "", "", ""]), assessments(),
        measurements(["P-001", "2021-01-01", "digital_ulcers", "", 3.0, "count", ""],
                     ["P-001", "2021-01-01", "tendon_friction_rubs", "", 1.0, "", ""],
                     ["P-001", "2021-01-01", "skin_worsening", "", 0.0, "", ""],
                     ["P-001", "2021-01-01", "hai", "L", 2.25, "ratio", ""],
                     ["P-001", "2021-01-01", "haq_di", "", 1.375, "score", ""],
                     ["P-001", "2021-01-01", "knee_flexion", "L", 120.0, "deg", ""]),
        medications(), events())
    produced = {r["code"]["coding"][0]["code"]: r for r in resource_dicts(frames, Context(INST))
                if r["resourceType"] == "Observation"}
    assert produced["digital_ulcers"]["valueInteger"] == 3
    assert produced["tendon_friction_rubs"]["valueBoolean"] is True
    assert produced["skin_worsening"]["valueBoolean"] is False
    assert produced["hai"]["valueQuantity"] == {"value": 2.25, "unit": "ratio", "system": UCUM, "code": "1"}
    assert produced["hai"]["bodySite"]["coding"][0]["code"] == "left-hand"
    assert produced["knee_flexion"]["bodySite"]["text"] == "Left knee"
    assert produced["haq_di"]["code"]["coding"][1] == {"system": "http://loinc.org", "code": "75874-8",
                                                       "display": "Total score [HAQ-DI]"}
    assert produced["haq_di"]["valueQuantity"]["code"] == "{score}"
    assert produced["skin_worsening"]["category"][0]["coding"][0]["code"] == "survey"
    assert "bodySite" not in produced["haq_di"]
    for resource in produced.values():
        check_model(resource)


def test_only_the_two_verified_loinc_codes_are_used():
    assert VERIFIED_LOINC == {"fvc_pct": ("19872-1", "FVC measured/predicted"),
                              "haq_di": ("75874-8", "Total score [HAQ-DI]")}
    rows = [["P-001", "2021-01-01", m.code, "R" if m.sided else "", m.low, m.unit, ""] for m in MEASURES]
    frames = Frames(patients(["P-001", "SSc", "", None, None, None, "", "", ""]), assessments(),
                    measurements(*rows), medications(), events())
    loinc = {r["code"]["coding"][0]["code"]: c["code"] for r in resource_dicts(frames, Context(INST))
             if r["resourceType"] == "Observation" for c in r["code"]["coding"] if c["system"] == "http://loinc.org"}
    assert loinc == {"fvc_pct": "19872-1", "haq_di": "75874-8"}


def test_the_catalogue_is_covered_units_parts_groups_doses_frequencies():
    """Every catalogue unit maps to UCUM (yes/no measures carry none), every sided measure has its body part,
    every group its category, every dose unit its UCUM code, every fixed frequency a Timing."""
    for measure in MEASURES:
        if measure.kind != "yes_no":
            assert measure.unit in UCUM_UNITS, measure.code
        if measure.sided:
            assert measure.code in MEASURE_BODY_PART, measure.code
        assert measure.group in CATEGORY_BY_GROUP, measure.group
    assert set(DOSE_UNITS) <= set(DOSE_UCUM)
    assert all(timing_repeat(f) for f in FIXED_FREQUENCIES)
    assert timing_repeat("3 per week") == {"frequency": 3, "period": 1, "periodUnit": "wk"}
    assert timing_repeat("2 per month") == {"frequency": 2, "period": 1, "periodUnit": "mo"}
    assert timing_repeat("every 4 weeks") == {"frequency": 1, "period": 4, "periodUnit": "wk"}
    assert timing_repeat("once") == {"count": 1}
    assert timing_repeat("whenever") is None


@pytest.mark.parametrize("route", ROUTES)
def test_medication_periods_status_period_route_and_timing(route):
    frames = Frames(patients(["P-001", "SSc", "", None, None, None, "", "", ""]), assessments(), measurements(),
                    medications(["P-001", "methotrexate", 15.0, "mg", "weekly", route, "2019-06-01", "2020-02-29", ""],
                                ["P-001", "intravenous immunoglobulin", 2.5, "g", "every 4 weeks", "", "2020-01-01",
                                 None, ""]),
                    events())
    first, second = (r for r in resource_dicts(frames, Context(INST)) if r["resourceType"] == "MedicationStatement")
    assert first["status"] == "completed"
    assert first["effectivePeriod"] == {"start": "2019-06-01", "end": "2020-02-29"}
    assert first["dosage"][0]["route"]["coding"][0]["code"] == route
    assert first["dosage"][0]["timing"]["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "wk"}
    assert "note" not in first
    assert second["status"] == "active" and "route" not in second["dosage"][0]
    assert second["dosage"][0]["doseAndRate"][0]["doseQuantity"] == {"value": 2.5, "unit": "g", "system": UCUM,
                                                                     "code": "g"}
    check_model(first)
    check_model(second)


def all_kinds_frames(columns=EVENT_COLUMNS + AE_COLUMNS) -> Frames:
    ae_columns = columns != EVENT_COLUMNS
    ae = dict(term="Edema limbs", suspected_drug="imatinib", relatedness="probable", action_taken="dose reduced",
              outcome="recovered with sequelae") if ae_columns else {}
    rows = [
        event("steroid_injection", "2022-12-12", description="dorsal hands", sites="hand_r;hand_l;fingers_r",
              agent="triamcinolone acetonide", dose=40.0, unit="mg", **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("steroid_injection", "2022-12-20", sites="face", agent="triamcinolone acetonide",
              **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("gadolinium_exposure", "2012-05-02", agent="gadodiamide", **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("procedure", "2021-03-01", description="skin biopsy", sites="forearm_l",
              **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("adverse_event", "2023-08-14", description="ankle swelling", grade=3, serious=True, end="2023-09-20",
              **ae),
        event("renal_crisis", "2023-10-01", description="admitted", **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("pah", "2022-02-02", end="2023-01-01", **({k: "" for k in AE_COLUMNS} if ae else {})),
        event("other", "2021-06-06", description="note", agent="cream", **({k: "" for k in AE_COLUMNS} if ae else {})),
    ]
    return Frames(patients(["P-001", "NSF", "M", 1957, None, "2021-11-15", "Bo Demo", "D-100002", "dialysis"]),
                  assessments(), measurements(),
                  medications(["P-001", "imatinib", 400.0, "mg", "daily", "oral", "2023-01-01", "2023-06-30", ""],
                              ["P-001", "imatinib", 200.0, "mg", "daily", "oral", "2023-07-01", None,
                               "lowered: oedema"]),
                  events(*rows, columns=columns))


def test_every_event_kind_maps_to_its_resource():
    produced = list(resource_dicts(all_kinds_frames(), Context(INST)))
    kinds = [(r["resourceType"], r["category"]["coding"][0]["code"] if r["resourceType"] == "MedicationAdministration"
              else None) for r in produced if r["resourceType"] not in ("Patient", "MedicationStatement")]
    assert kinds == [("Condition", None), ("MedicationAdministration", "steroid_injection"),
                     ("MedicationAdministration", "steroid_injection"),
                     ("MedicationAdministration", "gadolinium_exposure"), ("Procedure", None), ("AdverseEvent", None),
                     ("Condition", None), ("Condition", None), ("Observation", None)]
    by_id = {r["id"]: r for r in produced}
    assert len(by_id) == len(produced)
    injection, face, gadolinium = (r for r in produced if r["resourceType"] == "MedicationAdministration")
    assert [c["code"] for c in injection["dosage"]["site"]["coding"]] == ["hand_r", "hand_l", "fingers_r"]
    assert injection["dosage"]["site"]["coding"][0]["system"] == f"{CS}/mrss"
    assert injection["dosage"]["site"]["text"] == "Dorsum of hand (R); Dorsum of hand (L); Fingers (R)"
    assert injection["dosage"]["route"]["coding"][0]["code"] == "intralesional"
    assert injection["dosage"]["dose"] == {"value": 40, "unit": "mg", "system": UCUM, "code": "mg"}
    assert injection["medicationCodeableConcept"] == {"text": "triamcinolone acetonide"}
    assert injection["note"] == [{"text": "dorsal hands"}]
    # a dosage needs a dose (mad-1): a site without a recorded dose carries a data-absent dose
    assert face["dosage"]["dose"]["extension"][0]["valueCode"] == "unknown"
    assert "dosage" not in gadolinium and gadolinium["medicationCodeableConcept"]["text"] == "gadodiamide"
    procedure = next(r for r in produced if r["resourceType"] == "Procedure")
    assert procedure["code"]["text"] == "skin biopsy" and procedure["performedDateTime"] == "2021-03-01"
    assert procedure["bodySite"][0]["coding"][0]["code"] == "forearm_l"
    renal, pah = (r for r in produced if r["resourceType"] == "Condition" and r["id"].startswith("organ-"))
    assert renal["code"]["coding"][0]["code"] == "renal_crisis" and renal["onsetDateTime"] == "2023-10-01"
    assert renal["clinicalStatus"]["coding"][0]["code"] == "active" and renal["note"] == [{"text": "admitted"}]
    assert pah["clinicalStatus"]["coding"][0]["code"] == "resolved" and pah["abatementDateTime"] == "2023-01-01"
    other = next(r for r in produced if r["resourceType"] == "Observation")
    assert other["code"]["coding"][0]["code"] == "other" and other["valueString"] == "cream"
    for resource in produced:
        check_model(resource)


def test_adverse_event_seriousness_outcome_grade_term_and_suspect_statement():
    produced = list(resource_dicts(all_kinds_frames(), Context(INST)))
    event_ = next(r for r in produced if r["resourceType"] == "AdverseEvent")
    statements = {r["effectivePeriod"]["start"]: r["id"] for r in produced
                  if r["resourceType"] == "MedicationStatement"}
    assert event_["event"] == {"coding": [{"system": f"{CS}/ctcae-term", "version": "5.0", "code": "Edema limbs",
                                           "display": "Edema limbs"}], "text": "Edema limbs"}
    assert event_["seriousness"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness", "code": "Serious",
        "display": "Serious"}
    assert event_["severity"]["coding"][0]["code"] == "severe"
    assert event_["outcome"]["coding"][0] == {"system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                                              "code": "resolvedWithSequelae", "display": "Resolved with Sequelae"}
    # the suspected drug's period on the event's day: the 200 mg period started 2023-07-01
    assert event_["suspectEntity"] == [{
        "instance": {"reference": f"MedicationStatement/{statements['2023-07-01']}", "display": "imatinib"},
        "causality": [{"assessment": {"coding": [{"system": f"{CS}/relatedness", "code": "probable",
                                                  "display": "Probable"}], "text": "Probable"}}]}]
    extensions = {e["url"]: e for e in event_["extension"]}
    grade = extensions["http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition/ae-grade"]
    assert grade["valueCodeableConcept"]["coding"][0] == {"system": f"{CS}/ctcae-grade", "code": "3",
                                                           "display": "Grade 3 (severe)"}
    assert extensions[f"{BASE}/StructureDefinition/adverse-event-resolution-date"]["valueDate"] == "2023-09-20"
    action = extensions[f"{BASE}/StructureDefinition/adverse-event-action-taken"]["valueCodeableConcept"]
    assert action["coding"][0]["code"] == "dose reduced"
    check_model(event_)


def test_adverse_event_without_the_newer_columns_uses_the_description():
    produced = list(resource_dicts(all_kinds_frames(columns=EVENT_COLUMNS), Context(INST)))
    event_ = next(r for r in produced if r["resourceType"] == "AdverseEvent")
    assert event_["event"] == {"text": "ankle swelling"}
    assert "suspectEntity" not in event_ and "outcome" not in event_
    check_model(event_)


def test_suspected_drug_without_a_period_is_named_not_referenced():
    frames = all_kinds_frames()
    frames.events.loc[frames.events["kind"] == "adverse_event", "suspected_drug"] = "rituximab"
    event_ = next(r for r in resource_dicts(frames, Context(INST)) if r["resourceType"] == "AdverseEvent")
    assert event_["suspectEntity"][0]["instance"] == {"display": "rituximab"}
    check_model(event_)


def test_deidentified_context_leaves_out_name_mrn_birth_year_and_free_text():
    frames = all_kinds_frames()
    people = frames.patients.assign(birth_year=pd.array([None], dtype="Int64"),
                                    age_at_baseline=pd.array([93], dtype="Int64"))
    produced = list(resource_dicts(Frames(people, frames.assessments, frames.measurements, frames.medications,
                                          frames.events), Context(INST, deidentified=True)))
    text = json.dumps(produced)
    for value in ("Bo Demo", "D-100002", "dialysis", "lowered", "dorsal hands", "skin biopsy", "admitted",
                  "ankle swelling", "patient-id", "birthDate", "/mrn"):
        assert value not in text, value
    patient = produced[0]
    assert patient["identifier"] == [{"use": "usual", "system": f"{BASE}/NamingSystem/pseudonym", "value": "P-001"}]
    assert patient["extension"][0]["valueAge"] == {"value": 90, "comparator": ">=", "unit": "years", "system": UCUM,
                                                   "code": "a"}
    for resource in produced:
        check_model(resource)


def test_local_code_systems_define_every_local_code_used():
    systems = {s["url"]: {c["code"] for c in s["concept"]} for s in local_code_systems(INST)}
    for resource in [*resource_dicts(all_kinds_frames(), Context(INST)), *resource_dicts(SMALL, Context(INST))]:
        for coding in _codings(resource):
            if coding["system"].startswith(BASE):
                assert coding["code"] in systems[coding["system"]], coding
    for system in local_code_systems(INST):
        check_model(system)


def _codings(value):
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def test_installation_base_is_an_http_url_or_a_per_installation_default():
    assert installation_for("https://skintrack.example.org/fhir/").base == BASE
    with pytest.raises(InvalidValue):
        installation_for("skintrack.example.org")
    one, two = installation_for(None, b"secret-one"), installation_for(None, b"secret-two")
    assert one.base != two.base and one.base.endswith(".invalid/fhir") and one == installation_for(None, b"secret-one")


def test_the_documentation_names_every_code_and_local_system_used():
    """docs/FHIR.md keeps the evidence of each LOINC code and names every local CodeSystem."""
    from pathlib import Path

    from exchange.fhir.codes import LOCAL_SYSTEMS

    text = (Path(__file__).resolve().parents[2] / "docs" / "FHIR.md").read_text(encoding="utf-8")
    for code, display in VERIFIED_LOINC.values():
        assert code in text and display in text, code
    for name in LOCAL_SYSTEMS:
        assert f"`{name}`" in text, name
