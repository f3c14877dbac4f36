"""The demo registry's centres (issue 16): three centres of different sizes, each with its own raters, created by
the demo's load through db.centres and the one write path; each account of one centre sees that centre's
patients."""

from __future__ import annotations

from sqlalchemy import select

from db.centres import load_centres
from db.engine import write_session
from db.patients import create_patient, load_patients
from db.scope import scoped
from demo import DEMO_CENTRES, generate_registry, load_registry
from models import Assessment, AuditEvent, Patient
from models.centre import Centre
from models.scope import Scope
from tests import factories


def test_the_demo_loads_three_centres_each_with_its_patients_and_raters(engine):
    registry = generate_registry(12)
    load_registry(engine, registry, actor="fixture")

    centres = load_centres(engine, visible_only=False).set_index("code")
    # sizes follow the centres' shares (0.55, 0.30, 0.15); the migration's empty default centre is set aside
    assert centres["patients"].to_dict() == {"GRZ": 2, "LON": 6, "LYO": 4, "MAIN": 0}
    assert centres["active"].to_dict() == {"GRZ": True, "LON": True, "LYO": True, "MAIN": False}
    assert centres.loc["LYO", "name"] == "Lyon Demo Clinic" and centres.loc["LYO", "country"] == "France"

    with engine.connect() as connection:
        rows = connection.execute(select(Patient.patient_id, Centre.code, Assessment.rater)
                                  .join(Centre, Centre.centre_key == Patient.centre_key)
                                  .join(Assessment, Assessment.patient_key == Patient.patient_key)).all()
        created = connection.execute(select(AuditEvent.entity_id).where(AuditEvent.entity == "centre",
                                                                        AuditEvent.action == "create")).all()
    centre_of = {pid: code for pid, code, _ in rows}
    assert (centre_of["DEMO-0001"], centre_of["DEMO-0002"], centre_of["DEMO-0003"]) == ("LON", "LYO", "GRZ")
    raters = {c.code: set(c.raters) for c in DEMO_CENTRES}
    assert all(rater in raters[code] for _, code, rater in rows if rater), "a rater scores at their own centre only"
    assert len(created) == 3  # audited through db.centres.add_centre

    for code in ("LON", "LYO", "GRZ"):
        key = int(centres.loc[code, "centre_key"])
        visible = load_patients(scoped(engine, Scope(frozenset({key}), codes=(code,))))
        assert set(visible["patient_id"]) == {pid for pid, c in centre_of.items() if c == code}

    # loaded again: nothing new, no centre added, the default centre stays as it is
    assert sum(load_registry(engine, registry, actor="fixture").values()) == 0
    assert load_centres(engine, visible_only=False)["patients"].sum() == 12


def test_the_demo_beside_patients_of_the_default_centre_leaves_that_centre_active(sqlite_engine):
    with write_session(sqlite_engine) as session:
        create_patient(session=session, data=factories.patient(), actor="t")  # MAIN, the only centre
    load_registry(sqlite_engine, generate_registry(4), actor="fixture")
    centres = load_centres(sqlite_engine, visible_only=False).set_index("code")
    assert centres["patients"].to_dict() == {"GRZ": 1, "LON": 2, "LYO": 1, "MAIN": 1}
    assert centres["active"].all()
