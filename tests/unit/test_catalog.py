"""The catalogue is the contract (CLINICAL.md): codes, order, ranges; everything derives from it."""

from models.assessment import SiteScores
from models.catalog import (
    BODY_LAYOUT,
    DIAGNOSES,
    EVENT_KINDS,
    MEASURES,
    MEASURES_BY_CODE,
    SITE_CODES,
    SITES,
    is_valid_frequency,
    join_sites,
    split_sites,
)


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
    assert len(MEASURES) == 23
    ftp = MEASURES_BY_CODE["ftp_distance"]
    assert (ftp.unit, ftp.sided, ftp.low, ftp.high, ftp.better) == ("cm", True, 0, 15, "lower")
    assert MEASURES_BY_CODE["oral_aperture"].reference == (35, 50)
    assert MEASURES_BY_CODE["haq_di"].high == 3
    assert not MEASURES_BY_CODE["fvc_pct"].sided


def test_codes_of_the_contract():
    assert list(DIAGNOSES) == ["dcSSc", "lcSSc", "SSc", "NSF", "morphea", "other"]
    assert list(EVENT_KINDS) == ["steroid_injection", "procedure", "gadolinium_exposure", "adverse_event", "other"]


def test_frequencies():
    for ok in ("daily", "twice daily", "weekly", "every 4 weeks", "once", "3 per day", "2 per week", "1 per month"):
        assert is_valid_frequency(ok)
    for bad in ("Daily", "0 per day", "3 per year", "per day", "bid"):
        assert not is_valid_frequency(bad)


def test_sites_join_in_catalogue_order_and_split_back():
    assert join_sites(["fingers_l", "hand_r"]) == "hand_r;fingers_l"
    assert split_sites("hand_r; fingers_l") == ["hand_r", "fingers_l"]
    assert split_sites("") == []
