"""Rules of the patient form that belong in models/patient.py (owned by another part of the team, to be moved
there): kept out of the page so that the page only draws widgets and messages."""

from __future__ import annotations

from models.catalog import SEXES

NOT_RECORDED = ""
SEX_CHOICES: dict[str, str] = {NOT_RECORDED: "not recorded", **SEXES}  # the catalogue's sexes, or none


def patient_update(changed: dict, record: dict) -> dict:
    """The update of a patient from the edit form: every field but the (permanent) identifier. A pooled,
    de-identified patient carries an age at baseline in place of the birth year (EXCHANGE.md); once a birth
    year is known it replaces that age (the model refuses both at once)."""
    data = {name: value for name, value in changed.items() if name != "patient_id"}
    data["age_at_baseline"] = None if data.get("birth_year") else record.get("age_at_baseline")
    return data
