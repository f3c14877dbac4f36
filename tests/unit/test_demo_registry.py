"""The demo generator: deterministic, and never a date after the end of the demo period (an import of the
registry would refuse a future date, and with it the whole registry)."""

from __future__ import annotations

from demo import DEMO_END, generate_registry

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
