"""The demo generator: deterministic, never a date after the end of the demo period (an import of the registry
would refuse a future date, and with it the whole registry), three centres (issue 16) and the CRISS inputs."""

from __future__ import annotations

from collections import Counter

import pytest

from demo import DEMO_CENTRES, DEMO_END, DemoCentre, generate_registry
from models.catalog import SITE_CODES

TABLES = ("patients", "skin_scores", "measurements", "medications", "events")


def test_same_seed_same_registry_and_no_date_after_the_demo_period():
    # seed 9 at 400 patients had visits past DEMO_END before the generator dropped them
    registry = generate_registry(400, seed=9)
    assert generate_registry(400, seed=9).skin_scores == registry.skin_scores
    end = DEMO_END.isoformat()
    late = [(table, row["patient_id"], column, value) for table in TABLES for row in getattr(registry, table)
            for column, value in row.items() if "date" in column and value and value > end]
    assert late == []
    periods = [row for row in registry.medications if row.get("end_date")]
    assert all(row["end_date"] >= row["start_date"] for row in periods)


@pytest.fixture(scope="module")
def registry():
    return generate_registry(400)


def test_three_centres_in_proportion_each_with_its_raters_and_the_drawn_values_as_before_centres(registry):
    centre_of = {p["patient_id"]: p["centre"] for p in registry.patients}
    assert Counter(centre_of.values()) == {"LON": 219, "LYO": 120, "GRZ": 61}
    assert [r["code"] for r in registry.centres] == [c.code for c in DEMO_CENTRES]
    raters = {c.code: set(c.raters) for c in DEMO_CENTRES}
    assert all(row["rater"] in raters[centre_of[row["patient_id"]]] for row in registry.skin_scores if row["rater"])
    # centres and the CRISS inputs draw nothing from the first generator: the skin scores and the other measurements
    # are the ones drawn before centres existed (113,463 site points and 11,341 measurements at this size)
    assert sum(row[c] for row in registry.skin_scores for c in SITE_CODES if row[c] != "") == 113_463
    assert len(registry.measurements) == 11_341 + 2_287


def test_about_half_of_the_drawn_ssc_patients_have_the_criss_inputs(registry):
    ssc = {p["patient_id"] for p in registry.patients[3:] if p["diagnosis"] in ("dcSSc", "lcSSc", "SSc")}
    inputs = {m["patient_id"] for m in registry.measurements if m["measure"] == "physician_global"}
    assert len(ssc) == 325 and len(inputs & ssc) == 168  # the ILD story's patient among them, with its story's
    assert inputs - ssc == {"DEMO-0001"}  # a story patient


def test_each_centre_needs_two_raters():
    with pytest.raises(ValueError, match="two raters"):
        generate_registry(5, centres=(DemoCentre("ONE", "One", "", 1.0, ("Dr Solo",)),))
