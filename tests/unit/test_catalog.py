"""The catalogue is the contract (CLINICAL.md): codes, order, ranges; everything derives from it."""

import pytest

from models.assessment import SiteScores
from models.catalog import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    BODY_LAYOUT,
    DIAGNOSES,
    DOSE_RANGES,
    EVENT_KINDS,
    MEASURES,
    MEASURES_BY_CODE,
    ORGAN_EVENT_HELP,
    ORGAN_EVENT_KINDS,
    RELATEDNESS,
    SITE_CODES,
    SITES,
    dose_check,
    is_valid_frequency,
    join_sites,
    split_sites,
)
from models.ctcae import CTCAE_ORGAN_CLASS, CTCAE_TERM_NAMES


def test_seventeen_sites_in_display_order():
    assert SITE_CODES == (
        "face", "chest", "abdomen", "upper_arm_r", "upper_arm_l", "forearm_r", "forearm_l", "hand_r", "hand_l",
        "fingers_r", "fingers_l", "thigh_r", "thigh_l", "leg_r", "leg_l", "foot_r", "foot_l")
    assert [s.side for s in SITES if s.code.endswith("_r")] == ["R"] * 7
    assert [s.side for s in SITES if s.code.endswith("_l")] == ["L"] * 7


def test_body_layout_places_every_site_once():
    placed = [code for row in BODY_LAYOUT for code in row if code]
    assert sorted(placed) == sorted(SITE_CODES)
    assert BODY_LAYOUT[0] == (None, "face", None)


def test_site_score_fields_follow_the_catalogue():
    assert tuple(SiteScores.model_fields) == SITE_CODES


def test_measures_match_clinical_table():
    assert len(MEASURES) == 27
    ftp = MEASURES_BY_CODE["ftp_distance"]
    assert (ftp.unit, ftp.sided, ftp.low, ftp.high, ftp.better) == ("cm", True, 0, 15, "lower")
    assert MEASURES_BY_CODE["oral_aperture"].reference == (35, 50)
    assert MEASURES_BY_CODE["haq_di"].high == 3
    assert not MEASURES_BY_CODE["fvc_pct"].sided


def test_codes_of_the_contract():
    assert list(DIAGNOSES) == ["dcSSc", "lcSSc", "SSc", "NSF", "morphea", "other"]
    assert list(EVENT_KINDS) == ["steroid_injection", "procedure", "gadolinium_exposure", "adverse_event", "other",
                                 "renal_crisis", "ild_progression", "lv_failure", "pah"]
    assert ORGAN_EVENT_KINDS == ("renal_crisis", "ild_progression", "lv_failure", "pah")
    assert set(ORGAN_EVENT_HELP) == set(ORGAN_EVENT_KINDS)
    assert RELATEDNESS == ("unrelated", "unlikely", "possible", "probable", "definite")
    assert ACTIONS_TAKEN == ("none", "dose reduced", "interrupted", "withdrawn")
    assert AE_OUTCOMES == ("recovered", "recovering", "not recovered", "recovered with sequelae", "fatal", "unknown")


def test_endpoint_measures_of_endpoints_md():
    """ENDPOINTS.md's table: code, unit, range, direction; yes/no and counts take whole numbers."""
    expected = {"crp": ("mg/dL", 0, 50, "number"), "digital_ulcers": ("count", 0, 40, "count"),
                "tendon_friction_rubs": ("1 present / 0 absent", 0, 1, "yes_no"),
                "skin_worsening": ("1 yes / 0 no", 0, 1, "yes_no")}
    for code, (unit, low, high, kind) in expected.items():
        measure = MEASURES_BY_CODE[code]
        assert (measure.unit, measure.low, measure.high, measure.kind, measure.sided, measure.better) == \
            (unit, low, high, kind, False, "lower")
        assert measure.whole_numbers == (kind != "number")


def test_ctcae_subset_holds_the_imatinib_and_ssc_terms():
    for term in ("Edema limbs", "Nausea", "Diarrhea", "Muscle cramp", "Rash maculo-papular", "Fatigue", "Anemia",
                 "Neutrophil count decreased", "Platelet count decreased", "Hypophosphatemia"):
        assert term in CTCAE_TERM_NAMES
    assert len(set(CTCAE_TERM_NAMES)) == len(CTCAE_TERM_NAMES)
    # every organ class has its "Other, specify" term, so any event can be recorded
    for organ_class in set(CTCAE_ORGAN_CLASS.values()) - {"Endocrine disorders",
                                                          "Injury, poisoning and procedural complications",
                                                          "Immune system disorders", "Psychiatric disorders"}:
        assert f"{organ_class} - Other, specify" in CTCAE_TERM_NAMES, organ_class


@pytest.mark.parametrize(("drug", "dose", "unit", "verdict"), [
    ("imatinib", 400, "mg", None),
    ("imatinib", 100, "mg", None),  # the usual range's ends are usual
    ("imatinib", 800, "mg", None),
    ("imatinib", 900, "mg", "warn"),
    ("imatinib", 50, "mg", "warn"),
    ("imatinib", 49.9, "mg", "refuse"),
    ("imatinib", 40000, "mg", "refuse"),
    ("imatinib", 0.4, "g", None),  # 400 mg
    ("imatinib", 4, "g", "refuse"),
    ("imatinib", 5, "mg/kg", None),  # does not convert: no check
    ("methotrexate", 15, "mg", None),
    ("methotrexate", 150, "mg", "refuse"),
    ("intravenous immunoglobulin", 2000, "mg", "refuse"),  # 2 g
    ("a drug without a range", 1e6, "mg", None),
])
def test_dose_check(drug, dose, unit, verdict):
    result = dose_check(drug, dose, unit)
    assert (result[0] if result else None) == verdict
    if result:
        assert drug in result[1] and "per dose" in result[1]
    assert all(r.usual[0] >= r.plausible[0] and r.usual[1] <= r.plausible[1] for r in DOSE_RANGES.values())


def test_frequencies():
    for ok in ("daily", "twice daily", "weekly", "every 4 weeks", "once", "3 per day", "2 per week", "1 per month"):
        assert is_valid_frequency(ok)
    for bad in ("Daily", "0 per day", "3 per year", "per day", "bid"):
        assert not is_valid_frequency(bad)


def test_sites_join_in_catalogue_order_and_split_back():
    assert join_sites(["fingers_l", "hand_r"]) == "hand_r;fingers_l"
    assert split_sites("hand_r; fingers_l") == ["hand_r", "fingers_l"]
    assert split_sites("") == []
