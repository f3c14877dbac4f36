"""Valid inputs for the write paths, overridable per test."""

from __future__ import annotations

from models.catalog import SITE_CODES

FULL_SCORES = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1), strict=True))  # sum 31


def patient(**overrides) -> dict:
    return {"patient_id": "P-001", "diagnosis": "dcSSc", "sex": "F", "birth_year": 1968,
            "diagnosis_date": "2017-02-01", "name": "Test Person", "mrn": "000101", **overrides}


def assessment(**overrides) -> dict:
    return {"patient_id": "P-001", "visit_date": "2018-01-10", "rater": "dr a", **FULL_SCORES, **overrides}


def total_only(total=27, **overrides) -> dict:
    return {"patient_id": "P-001", "visit_date": "2018-04-12", "rater": "dr a", "total": total, **overrides}


def medication(**overrides) -> dict:
    return {"patient_id": "P-001", "drug": "imatinib", "dose": 200, "dose_unit": "mg", "frequency": "daily",
            "route": "oral", "start_date": "2018-01-20", **overrides}


def event(**overrides) -> dict:
    return {"patient_id": "P-001", "date": "2018-05-15", "kind": "steroid_injection",
            "sites": "hand_r;hand_l", "agent": "triamcinolone acetonide", "dose": 40, "dose_unit": "mg",
            **overrides}


def adverse_event(**overrides) -> dict:
    return {"patient_id": "P-001", "date": "2018-05-15", "kind": "adverse_event", "term": "Nausea", "grade": 2,
            "serious": "no", **overrides}


def measurement(**overrides) -> dict:
    return {"patient_id": "P-001", "date": "2018-01-10", "measure": "ftp_distance", "side": "R", "value": 4.0,
            **overrides}
