"""Treatment active on a visit date (EXCHANGE.md, visits.csv `on_treatment`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import dose_label, format_number, on_treatment
from analysis.frames import MEDICATION_COLUMNS


def medications(*rows):
    """MEDICATION_COLUMNS from (patient_id, drug, dose, unit, frequency, start, end-or-None)."""
    out = pd.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "drug": [r[1] for r in rows],
            "dose": pd.Series([r[2] for r in rows], dtype="float64"),
            "dose_unit": [r[3] for r in rows],
            "frequency": [r[4] for r in rows],
            "route": "oral",
            "start_date": pd.to_datetime(pd.Series([r[5] for r in rows], dtype="str")),
            "end_date": pd.to_datetime(pd.Series([r[6] for r in rows], dtype="object")),
            "reason": "",
        },
        index=range(len(rows)),
    )
    return out[MEDICATION_COLUMNS]


def visits(*rows, index=None):
    return pd.DataFrame(
        {"patient_id": [r[0] for r in rows], "visit_date": pd.to_datetime([r[1] for r in rows])},
        index=index,
    )


@pytest.mark.parametrize(
    ("dose", "unit", "frequency", "text"),
    [
        (200.0, "mg", "daily", "200 mg daily"),
        (0.5, "g", "twice daily", "0.5 g twice daily"),
        (2.25, "mg/kg", "every 4 weeks", "2.25 mg/kg every 4 weeks"),
        (1000, "mg", "once", "1000 mg once"),
        (0.0001, "mg", "3 per week", "0.0001 mg 3 per week"),  # no exponent
    ],
)
def test_dose_label(dose, unit, frequency, text):
    assert dose_label(dose, unit, frequency) == text


@pytest.mark.parametrize(
    ("dose", "unit", "frequency", "text"),
    [
        (None, "mg", "daily", "daily"),  # a unit without a dose says nothing
        (float("nan"), "mg", "", ""),
        (400.0, "", "", "400"),
        (400.0, "mg", None, "400 mg"),
        (pd.NA, None, "weekly", "weekly"),
    ],
)
def test_dose_label_leaves_out_missing_parts(dose, unit, frequency, text):
    assert dose_label(dose, unit, frequency) == text


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (200.0, None, "200"),
        (25.5, None, "25.5"),
        (-0.0, None, "0"),
        (1e-05, None, "0.00001"),  # no exponent
        (123456789.0, None, "123456789"),
        (2.345, 2, "2.35"),  # halves away from zero
        (-2.345, 2, "-2.35"),
        (-0.004, 2, "0"),  # a rounded -0 is 0
        (1.0, 3, "1"),
        (None, None, ""),
        (float("nan"), 2, ""),
        (pd.NA, None, ""),
    ],
)
def test_format_number(value, decimals, text):
    assert format_number(value, decimals) == text


MEDS = medications(
    ("EX-01", "imatinib", 200, "mg", "daily", "2018-01-20", "2018-06-30"),
    ("EX-01", "imatinib", 400, "mg", "daily", "2018-07-01", None),
    ("EX-01", "prednisone", 7.5, "mg", "daily", "2018-03-01", "2018-03-31"),
    ("EX-01", "mycophenolate mofetil", 1.5, "g", "twice daily", "2018-03-15", None),
    ("EX-02", "imatinib", 400, "mg", "daily", "2016-12-20", None),
)


def test_on_treatment_dates_are_inclusive_and_open_ends_are_ongoing():
    v = visits(
        ("EX-01", "2018-01-19"),  # the day before the first start
        ("EX-01", "2018-01-20"),  # start day: active
        ("EX-01", "2018-06-30"),  # end day of the 200 mg period: still active
        ("EX-01", "2018-07-01"),  # the new period's first day
        ("EX-02", "2030-01-01"),  # ongoing
        ("EX-03", "2018-07-01"),  # no medications at all
    )
    assert on_treatment(v, MEDS).tolist() == [
        "",
        "imatinib 200 mg daily",
        "imatinib 200 mg daily; mycophenolate mofetil 1.5 g twice daily",
        "imatinib 400 mg daily; mycophenolate mofetil 1.5 g twice daily",
        "imatinib 400 mg daily",
        "",
    ]


def test_on_treatment_sorts_by_drug_and_keeps_the_visit_index():
    v = visits(("EX-01", "2018-03-20"), ("EX-01", "2018-02-01"), index=[10, 3])
    result = on_treatment(v, MEDS)
    assert result.index.tolist() == [10, 3]
    # imatinib < mycophenolate mofetil < prednisone (alphabetical), whatever the input order
    assert result.loc[10] == (
        "imatinib 200 mg daily; mycophenolate mofetil 1.5 g twice daily; prednisone 7.5 mg daily"
    )
    assert result.loc[3] == "imatinib 200 mg daily"


def test_on_treatment_without_medications_or_visits():
    assert on_treatment(visits(("A", "2020-01-01")), MEDS.iloc[0:0]).tolist() == [""]
    assert on_treatment(visits(("A", "2020-01-01")).iloc[0:0], MEDS).empty


def test_on_treatment_scales():
    """400,000 visits × 40,000 periods in well under a second (timing printed, not asserted)."""
    import time

    rng = np.random.default_rng(7)
    n_patients = 20_000
    ids = np.array([f"P{i:05d}" for i in range(n_patients)])
    visit_days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, 400_000), unit="D")
    v = pd.DataFrame({"patient_id": pd.Series(np.repeat(ids, 20), dtype="str"), "visit_date": visit_days})
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, 40_000), unit="D")
    ends = start + pd.to_timedelta(rng.integers(30, 900, 40_000), unit="D")
    meds = pd.DataFrame(
        {
            "patient_id": pd.Series(np.repeat(ids, 2), dtype="str"),
            "drug": rng.choice(["imatinib", "methotrexate", "prednisone"], 40_000),
            "dose": rng.choice([200.0, 400.0, 7.5], 40_000),
            "dose_unit": "mg",
            "frequency": "daily",
            "route": "oral",
            "start_date": start,
            "end_date": ends.where(rng.random(40_000) > 0.3),
            "reason": "",
        }
    )[MEDICATION_COLUMNS]
    t0 = time.perf_counter()
    result = on_treatment(v, meds)
    print(f"\non_treatment: 400,000 visits × 40,000 periods in {time.perf_counter() - t0:.2f} s")
    assert len(result) == len(v) and (result != "").any()
