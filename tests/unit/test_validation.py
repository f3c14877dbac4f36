"""The model layer rejects bad input with named errors that name the field (form, importer, CLI alike)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import (
    AssessmentCreate,
    MeasurementCreate,
    MedicationPeriodCreate,
    PatientCreate,
    PatientUpdate,
    TreatmentEventCreate,
)
from models.catalog import SITE_CODES
from models.errors import (
    ImplausibleValue,
    InvalidDate,
    InvalidScore,
    InvalidText,
    InvalidValue,
    MissingValue,
    UnknownMeasure,
    UnknownSite,
)
from models.user import sign_in_delay
from models.validation import parse
from tests import factories

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


# a float NaN is a blank cell (pandas), not a score
@pytest.mark.parametrize("value", [4, -1, 1.5, "x", "3.5", True, "inf", "nan", float("inf")])
def test_site_score_outside_0_3_is_invalid_score(value):
    with pytest.raises(InvalidScore) as caught:
        parse(AssessmentCreate, factories.assessment(hand_r=value))
    assert caught.value.field == "hand_r"
    assert "allowed 0, 1, 2, 3" in str(caught.value)


def test_scores_given_as_text_or_float_are_accepted():
    data = parse(AssessmentCreate, factories.assessment(hand_r="2", hand_l=3.0))
    assert (data.hand_r, data.hand_l) == (2, 3)


def test_all_problems_are_reported_at_once():
    with pytest.raises(InvalidScore) as caught:
        parse(AssessmentCreate, factories.assessment(face=4, chest=9, visit_date=TOMORROW))
    fields = [p.field for p in caught.value.problems]
    assert fields == ["face", "chest", "visit_date"]


@pytest.mark.parametrize("schema,data,field", [
    (AssessmentCreate, factories.assessment(visit_date=TOMORROW), "visit_date"),
    (PatientCreate, factories.patient(diagnosis_date=TOMORROW), "diagnosis_date"),
    (MedicationPeriodCreate, factories.medication(start_date=TOMORROW), "start_date"),
    (TreatmentEventCreate, factories.event(date=TOMORROW), "date"),
    (MeasurementCreate, factories.measurement(date=TOMORROW), "date"),
])
def test_future_dates_are_refused(schema, data, field):
    with pytest.raises(InvalidDate) as caught:
        parse(schema, data)
    assert caught.value.field == field and "future" in str(caught.value)


def test_impossible_date_names_the_field():
    with pytest.raises(InvalidDate) as caught:
        parse(AssessmentCreate, factories.assessment(visit_date="2019-02-30"))
    assert caught.value.field == "visit_date"


def test_total_rules():
    assert parse(AssessmentCreate, factories.total_only(total="27.5")).total == 27.5
    assert parse(AssessmentCreate, factories.assessment(total=31)).total == 31
    with pytest.raises(InvalidScore, match="not the sum"):
        parse(AssessmentCreate, factories.assessment(total=30))
    with pytest.raises(InvalidScore, match="must be blank when sites are missing"):
        parse(AssessmentCreate, factories.assessment(face="", total=30))
    with pytest.raises(InvalidScore, match="0 to 51"):
        parse(AssessmentCreate, factories.total_only(total=52))
    with pytest.raises(InvalidScore, match="enter the 17 site scores"):
        parse(AssessmentCreate, {"patient_id": "P", "visit_date": "2020-01-01"})


def test_patient_rules():
    with pytest.raises(InvalidValue) as caught:
        parse(PatientCreate, factories.patient(diagnosis="scleroderma"))
    assert caught.value.field == "diagnosis" and "dcSSc" in str(caught.value)
    with pytest.raises(InvalidValue, match="four-digit year"):
        parse(PatientCreate, factories.patient(birth_year=date.today().year + 1))
    with pytest.raises(InvalidValue, match="patient_id"):
        parse(PatientCreate, factories.patient(patient_id=" padded"))
    with pytest.raises(InvalidValue, match="patient_id"):
        parse(PatientCreate, factories.patient(patient_id="x" * 65))
    # "1-64 printable characters" (EXCHANGE.md): any script, a space inside; no control, format or other separator
    for fine in ("Zürich-01", "患者-0007", "ÉTUDE 12/3", "x" * 64):
        assert parse(PatientCreate, factories.patient(patient_id=fine)).patient_id == fine
    for bad in ("P\u202e10", "P\u00a010", "P\u200b10", "P ", "Zu\u0308rich-01"):
        with pytest.raises(InvalidValue, match="1-64 printable characters"):
            parse(PatientCreate, factories.patient(patient_id=bad))
    for bad in ("P\t10", "P\n10", "P\x0010"):  # control characters: the one text rule says it first
        with pytest.raises(InvalidText, match="patient_id: contains U\\+00"):
            parse(PatientCreate, factories.patient(patient_id=bad))
    with pytest.raises(InvalidDate, match="before the birth year"):
        parse(PatientCreate, factories.patient(birth_year=1990, diagnosis_date="1985-01-01"))


def test_birth_year_or_age_at_baseline_not_both():
    """age_at_baseline stands in for birth_year (de-identified bundles): the form, an update and the importer
    refuse both, so that no export carries both and fails its own re-import."""
    for schema in (PatientCreate, PatientUpdate):
        with pytest.raises(InvalidValue, match="not both") as caught:
            parse(schema, factories.patient(birth_year=1960, age_at_baseline=63))
        assert caught.value.field == "age_at_baseline"
        assert parse(schema, factories.patient(birth_year=None, age_at_baseline=63)).age_at_baseline == 63


def test_medication_rules():
    with pytest.raises(InvalidDate) as caught:
        parse(MedicationPeriodCreate, factories.medication(end_date="2018-01-19"))
    assert caught.value.field == "end_date"
    with pytest.raises(InvalidValue, match="greater than 0"):
        parse(MedicationPeriodCreate, factories.medication(dose=0))
    for infinite in (float("inf"), "inf", "Infinity"):
        with pytest.raises(InvalidValue, match="finite number greater than 0") as caught:
            parse(MedicationPeriodCreate, factories.medication(dose=infinite))
        assert caught.value.field == "dose"
        with pytest.raises(InvalidValue, match="finite number greater than 0"):
            parse(TreatmentEventCreate, factories.event(dose=infinite, dose_unit="mg"))
    with pytest.raises(InvalidValue, match="dose_unit"):
        parse(MedicationPeriodCreate, factories.medication(dose_unit="tablets"))
    with pytest.raises(InvalidValue, match="frequency"):
        parse(MedicationPeriodCreate, factories.medication(frequency="bid"))
    with pytest.raises(InvalidValue, match="lower case"):
        parse(MedicationPeriodCreate, factories.medication(drug="Imatinib"))
    with pytest.raises(MissingValue):
        parse(MedicationPeriodCreate, {k: v for k, v in factories.medication().items() if k != "start_date"})


def test_event_rules():
    with pytest.raises(UnknownSite) as caught:
        parse(TreatmentEventCreate, factories.event(sites="hand_r;elbow"))
    assert caught.value.field == "sites" and "'elbow'" in str(caught.value)
    with pytest.raises(UnknownSite, match="needs the injected sites"):
        parse(TreatmentEventCreate, factories.event(sites=""))
    with pytest.raises(InvalidValue, match="grade"):
        parse(TreatmentEventCreate, factories.event(kind="adverse_event", sites="", serious="no"))
    with pytest.raises(InvalidValue, match="allowed 1, 2, 3, 4, 5"):
        parse(TreatmentEventCreate, factories.event(kind="adverse_event", sites="", grade=6, serious="no"))
    ae = parse(TreatmentEventCreate, factories.adverse_event(serious="yes"))
    assert ae.serious is True and ae.grade == 2 and ae.term == "Nausea"
    with pytest.raises(InvalidValue, match="adverse events only"):
        parse(TreatmentEventCreate, factories.event(grade=2))
    assert parse(TreatmentEventCreate, factories.event(sites="fingers_l;hand_r")).sites == "hand_r;fingers_l"


def test_adverse_event_fields():
    """EXCHANGE.md events.csv: the CTCAE term (required for an adverse event a form records), the vocabularies of
    relatedness, action taken and outcome; all of them for adverse events only."""
    ae = parse(TreatmentEventCreate, factories.adverse_event(
        suspected_drug="imatinib", relatedness="probable", action_taken="dose reduced", outcome="recovering"))
    assert (ae.suspected_drug, ae.relatedness, ae.action_taken, ae.outcome) == (
        "imatinib", "probable", "dose reduced", "recovering")
    with pytest.raises(InvalidValue) as caught:
        parse(TreatmentEventCreate, factories.adverse_event(term=""))
    assert caught.value.field == "term" and "CTCAE" in caught.value.reason
    with pytest.raises(InvalidValue, match="not a CTCAE v5.0 term") as caught:
        parse(TreatmentEventCreate, factories.adverse_event(term="nausea"))  # CTCAE's spelling: "Nausea"
    for field, bad in (("relatedness", "likely"), ("action_taken", "stopped"), ("outcome", "fine")):
        with pytest.raises(InvalidValue) as caught:
            parse(TreatmentEventCreate, factories.adverse_event(**{field: bad}))
        assert caught.value.field == field and "allowed:" in caught.value.reason
    with pytest.raises(InvalidValue, match="lower case") as caught:
        parse(TreatmentEventCreate, factories.adverse_event(suspected_drug="Imatinib"))
    for field, value in (("term", "Nausea"), ("suspected_drug", "imatinib"), ("relatedness", "possible"),
                         ("action_taken", "none"), ("outcome", "unknown")):
        with pytest.raises(InvalidValue, match="adverse events only") as caught:
            parse(TreatmentEventCreate, factories.event(**{field: value}))
        assert caught.value.field == field


def test_an_adverse_event_of_a_bundle_may_lack_its_term():
    """Adverse events recorded before terms were coded have none (their free text is the description, which a
    de-identified bundle leaves out): a bundle's rows are parsed with FROM_A_BUNDLE, which lets them through."""
    from models.treatment import FROM_A_BUNDLE

    old = parse(TreatmentEventCreate, factories.adverse_event(term="", description=""),
                context={FROM_A_BUNDLE: True})
    assert old.term == "" and old.kind == "adverse_event"


def test_measurement_rules():
    with pytest.raises(UnknownMeasure):
        parse(MeasurementCreate, factories.measurement(measure="grip"))
    with pytest.raises(ImplausibleValue) as caught:
        parse(MeasurementCreate, factories.measurement(value=16))
    assert caught.value.field == "value" and "0-15 cm" in str(caught.value)
    with pytest.raises(InvalidValue, match="side"):
        parse(MeasurementCreate, factories.measurement(side=""))
    with pytest.raises(InvalidValue, match="not sided"):
        parse(MeasurementCreate, factories.measurement(measure="oral_aperture", side="R", value=40))
    with pytest.raises(InvalidValue, match="unit"):
        parse(MeasurementCreate, factories.measurement(unit="mm"))
    assert parse(MeasurementCreate, factories.measurement()).unit == "cm"


@given(st.lists(st.integers(0, 3), min_size=17, max_size=17))
def test_any_seventeen_valid_scores_parse_and_sum_within_range(scores):
    data = parse(AssessmentCreate, factories.assessment(**dict(zip(SITE_CODES, scores, strict=True))))
    assert 0 <= sum(v for v in data.site_scores().values()) <= 51


@given(st.integers(min_value=4) | st.integers(max_value=-1))
def test_any_out_of_range_score_is_refused(value):
    with pytest.raises(InvalidScore):
        parse(AssessmentCreate, factories.assessment(face=value))


def test_sign_in_delay_grows_after_five_failures():
    assert [sign_in_delay(n) for n in range(5)] == [0, 0, 0, 0, 0]
    assert [sign_in_delay(n) for n in (5, 6, 7)] == [2, 4, 8]
    assert sign_in_delay(40) == 15 * 60


def test_implausible_doses_are_refused_naming_the_dose():
    """imatinib 400 -> 40000 mg (a slip of two zeros) is refused with the plausible range; 900 mg only warns,
    which is the form's business, so it parses."""
    with pytest.raises(ImplausibleValue, match="plausible range of imatinib, 50-1000 mg") as caught:
        parse(MedicationPeriodCreate, factories.medication(dose=40000))
    assert caught.value.field == "dose"
    assert parse(MedicationPeriodCreate, factories.medication(dose=900)).dose == 900
    assert parse(MedicationPeriodCreate, factories.medication(dose=0.4, dose_unit="g")).dose == 0.4


@pytest.mark.parametrize(("measure", "value", "ok"), [
    ("digital_ulcers", 2, True), ("digital_ulcers", 2.5, False), ("digital_ulcers", 41, False),
    ("tendon_friction_rubs", 1, True), ("tendon_friction_rubs", 0, True), ("tendon_friction_rubs", 0.5, False),
    ("skin_worsening", 1.0, True), ("crp", 0.35, True), ("crp", 51, False),
])
def test_count_and_yes_no_measures_take_whole_numbers(measure, value, ok):
    data = factories.measurement(measure=measure, side="", value=value, unit="")
    if ok:
        assert parse(MeasurementCreate, data).value == value
    else:
        with pytest.raises(InvalidValue) as caught:
            parse(MeasurementCreate, data)
        assert caught.value.field == "value"


def test_the_one_text_rule():
    """check_text: control characters refused with the field, the character and where; tab and line breaks only
    in the paragraphs (notes, description, reason); printable() shows any text on one line."""
    from models.validation import check_text, printable

    assert check_text("Zürich 01 — ok", "rater") == "Zürich 01 — ok"
    assert check_text("first line\n\tsecond\r\n", "notes") == "first line\n\tsecond\r\n"
    for value, field, words in (("a\x00b", "notes", "U+0000 (NUL) at character 2"),
                                ("dr\ta", "rater", "U+0009 (TAB) at character 3; this field takes one line"),
                                ("\x1b[2J", "description", "U+001B (ESCAPE) at character 1"),
                                ("x\x85", "name", "U+0085 (a control character)"),
                                ("bad\udc80", "notes", "U+DC80 (a surrogate: not text)")):
        with pytest.raises(InvalidText) as caught:
            check_text(value, field)
        assert caught.value.field == field and words in caught.value.reason, caught.value.reason
    assert printable("a\x00b\nc") == "a\\x00b\\nc"
    with pytest.raises(InvalidText) as caught:  # every text of the input, all at once
        parse(PatientCreate, factories.patient(name="A\x00", mrn="\x07", notes="fine\nlines"))
    assert [p.field for p in caught.value.problems] == ["name", "mrn"]


@pytest.mark.parametrize(("field", "blank"), [("dose", None), ("start_date", None)])
def test_a_required_field_left_blank_is_required_not_of_the_wrong_type(field, blank):
    """A form's empty number box sends None: "Dose: is required", not "Dose: must be a number"."""
    data = {"patient_id": "P-1", "drug": "imatinib", "dose": 400, "dose_unit": "mg", "frequency": "daily",
            "route": "oral", "start_date": "2024-01-10", field: blank}
    with pytest.raises(MissingValue) as caught:
        parse(MedicationPeriodCreate, data)
    assert (caught.value.field, caught.value.reason) == (field, "is required")


def test_a_value_of_the_wrong_type_still_says_so():
    data = {"patient_id": "P-1", "drug": "imatinib", "dose": "four hundred", "dose_unit": "mg", "frequency": "daily",
            "route": "oral", "start_date": "2024-01-10"}
    with pytest.raises(InvalidValue) as caught:
        parse(MedicationPeriodCreate, data)
    assert (caught.value.field, caught.value.reason) == ("dose", "must be a number")
