"""Treatment active on a visit date (EXCHANGE.md, visits.csv, `on_treatment`).

A medication period is active on a date when start_date <= date <= end_date (end dates inclusive;
NaT = ongoing). A visit's label lists every active period as `drug dose unit frequency`, the dose
without a trailing ".0", sorted by drug and joined by "; ", and is "" when none is active.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._util import join_in_groups
from analysis.formatting import format_number


def period_labels(medications: pd.DataFrame) -> pd.Series:
    """`drug dose unit frequency` for each medication period (aligned to `medications`)."""
    doses = medications["dose"].astype("float64")
    text_of = {d: format_number(d) for d in doses.dropna().unique()}
    dose_text = doses.map(text_of).fillna("")
    parts = [medications["drug"], dose_text, medications["dose_unit"], medications["frequency"]]
    labels = [
        " ".join(p for p in row if p)
        for row in zip(*(s.fillna("").astype("str").tolist() for s in parts), strict=True)
    ]
    return pd.Series(labels, index=medications.index, name="label", dtype="str")


def on_treatment(visits: pd.DataFrame, medications: pd.DataFrame) -> pd.Series:
    """For each visit (patient_id, visit_date), the medication periods active that day.

    Returns a str Series aligned to `visits` ("" when none): labels `drug dose unit frequency`, sorted
    by drug (then label), joined by "; ", e.g. "imatinib 400 mg daily; prednisone 5 mg daily".
    Vectorised: periods are merged onto visits by patient and filtered by date.
    """
    n = len(visits)
    if n == 0 or medications.empty:
        return pd.Series([""] * n, index=visits.index, name="on_treatment", dtype="str")
    # Work on integer codes: patients factorised jointly, periods ranked once by (drug, label).
    labels = period_labels(medications).to_numpy(dtype=object)
    drugs = medications["drug"].fillna("").astype("str").to_numpy(dtype=object)
    rank = np.empty(len(labels), dtype="int64")
    rank[np.lexsort((labels, drugs))] = np.arange(len(labels))
    codes, _ = pd.factorize(
        pd.concat([visits["patient_id"], medications["patient_id"]], ignore_index=True).astype("str")
    )
    left = pd.DataFrame(
        {"code": codes[:n], "visit_date": visits["visit_date"].to_numpy(), "_row": np.arange(n)}
    )
    right = pd.DataFrame(
        {
            "code": codes[n:],
            "start_date": medications["start_date"].to_numpy(),
            "end_date": medications["end_date"].to_numpy(),
            "_period": np.arange(len(medications)),
        }
    )
    pairs = left.merge(right, on="code", how="inner")
    active = (pairs["start_date"] <= pairs["visit_date"]) & (
        pairs["end_date"].isna() | (pairs["visit_date"] <= pairs["end_date"])
    )
    rows = pairs["_row"].to_numpy()[active.to_numpy()]
    periods = pairs["_period"].to_numpy()[active.to_numpy()]
    order = np.lexsort((rank[periods], rows))
    joined = join_in_groups(rows[order], labels[periods[order]], n)
    return pd.Series(joined, index=visits.index, name="on_treatment", dtype="str")
