"""Visit entry of the trial-endpoint measures (ENDPOINTS.md) in AppTest, on SQLite and PostgreSQL: tendon friction
rubs and skin worsening are a Yes / No choice stored as 1 / 0 (nothing chosen: not recorded, and clearing it on a
correction deletes the value); active digital ulcers take whole numbers; CRP is typed in its unit. All through the
one save path (db.visits.save_visit). And a rater's name reaches the screen as text, never as Markdown."""

from __future__ import annotations

import pytest
import streamlit as st

from db.engine import make_engine, write_session
from db.measures import load_measurements
from db.patients import create_patient
from db.visits import load_assessment_rows, record_assessment
from tests import factories
from tests.app.conftest import create_role_users
from tests.app.test_visit_entry import SCORES, choose_rater, field, open_entry, save, score_all, visit_choice
from ui.messages import as_text

HOSTILE = "![x](http://127.0.0.1:9/x)"


@pytest.fixture
def entry_engine(db_url, monkeypatch):
    """The app on a fresh SQLite file or PostgreSQL schema, with one account per role and patient P-001."""
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", db_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = make_engine(db_url)
    create_role_users(engine)
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
    yield engine
    engine.dispose()
    st.cache_data.clear()
    st.cache_resource.clear()


def endpoint_values(engine) -> dict[str, float]:
    frame = load_measurements(engine, ["P-001"])
    return dict(zip(frame["measure"], frame["value"], strict=True))


@pytest.mark.slow
def test_yes_no_and_count_measures_are_saved_as_whole_numbers(entry_engine):
    at = open_entry()
    at = choose_rater(at, "Dr Staff")
    at = score_all(at, SCORES)
    at.segmented_control(key=field(at, "measure_tendon_friction_rubs_")).set_value(1)
    at.segmented_control(key=field(at, "measure_skin_worsening_")).set_value(0)
    ulcers = at.number_input(key=field(at, "measure_digital_ulcers_"))
    assert ulcers.step == 1
    ulcers.set_value(2)
    at.number_input(key=field(at, "measure_crp_")).set_value(1.4).run()
    assert "Tendon friction rubs yes" in " ".join(c.value for c in at.caption)  # the summary before saving
    at = save(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert endpoint_values(entry_engine) == {"tendon_friction_rubs": 1.0, "skin_worsening": 0.0,
                                             "digital_ulcers": 2.0, "crp": 1.4}
    units = load_measurements(entry_engine, ["P-001"]).set_index("measure")["unit"].to_dict()
    assert units["tendon_friction_rubs"] == "1 present / 0 absent" and units["crp"] == "mg/dL"

    # the saved visit opens for correction with the choices made; clearing one deletes it
    assert at.segmented_control(key=field(at, "measure_tendon_friction_rubs_")).value == 1
    assert at.segmented_control(key=field(at, "measure_skin_worsening_")).value == 0
    assert at.number_input(key=field(at, "measure_digital_ulcers_")).value == 2
    at.segmented_control(key=field(at, "measure_tendon_friction_rubs_")).set_value(None)
    at.segmented_control(key=field(at, "measure_skin_worsening_")).set_value(1)
    at.text_input(key=field(at, "reason")).input("rubs not examined; patient reports worse skin").run()
    at = save(at)
    assert not at.error, [e.value for e in at.error]
    assert endpoint_values(entry_engine) == {"skin_worsening": 1.0, "digital_ulcers": 2.0, "crp": 1.4}


def test_a_rater_name_is_shown_as_text(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(rater=HOSTILE))
    saved = int(load_assessment_rows(with_users, "P-001").iloc[0]["assessment_id"])
    at = open_entry()
    at.selectbox(key=visit_choice(at)).select(saved).run()
    assert not at.exception
    shown = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    assert not [text for text in shown if HOSTILE in text]
    assert any(as_text(HOSTILE) in text for text in shown)  # "The visit of … by ![x](…) is open for correction"
