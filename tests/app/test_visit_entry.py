"""Visit entry in AppTest: a full 17-site visit stores exactly those values and their total; total-only mode;
a duplicate (patient, date, rater) opens the existing visit for correction, which needs a reason and leaves an
audit row with the old and new values; invalid input is refused naming the field and keeps what was typed."""

from __future__ import annotations

import json

from db.audit import load_audit
from db.engine import write_session
from db.measures import load_measurements, record_measurement
from db.patients import create_patient
from db.visits import load_assessment_rows, record_assessment
from models.catalog import SITE_CODES
from tests import factories
from tests.app.conftest import signed_in_app

PAGE = "pages/visit_entry.py"
SCORES = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 0), strict=True))  # 30


def entry(engine, role="staff", patient="P-001"):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
    at = signed_in_app(role)
    at.session_state["patient_id"] = patient
    at.switch_page(PAGE)
    return at.run()


def score_all(at, scores):
    for code, value in scores.items():
        at.segmented_control(key=f"site_{code}").set_value(value)
    return at.run()


def test_empty_database_tells_what_to_do(with_users):
    at = signed_in_app("staff", PAGE)
    assert not at.exception and "Choose the patient above" in at.info[0].value


def test_full_visit_stores_exactly_the_17_scores_and_the_total(with_users):
    at = entry(with_users)
    assert at.text_input(key="entry_rater").value == "Dr Staff"
    at = score_all(at, SCORES)
    assert at.metric[0].value == "30 / 51" and "17 of 17" in at.metric[0].label
    at.number_input(key="measure_ftp_distance_R").set_value(4.5)
    at.number_input(key="measure_oral_aperture_").set_value(31)
    at.button(key="entry_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Saved: P-001" in at.success[0].value and "mRSS 30" in at.success[0].value
    rows = load_assessment_rows(with_users, "P-001")
    assert len(rows) == 1 and rows.iloc[0]["total"] == 30 and not rows.iloc[0]["incomplete"]
    assert {code: int(rows.iloc[0][code]) for code in SITE_CODES} == SCORES
    assert rows.iloc[0]["rater"] == "Dr Staff"
    measures = load_measurements(with_users, ["P-001"]).set_index(["measure", "side"])["value"].to_dict()
    assert measures == {("ftp_distance", "R"): 4.5, ("oral_aperture", ""): 31.0}


def test_total_only_mode(with_users):
    at = entry(with_users)
    at.toggle(key="entry_total_only").set_value(True).run()
    at.number_input(key="entry_total").set_value(27.5).run()
    at.button(key="entry_save").click().run()
    rows = load_assessment_rows(with_users, "P-001")
    assert rows.iloc[0]["total"] == 27.5 and all(rows.iloc[0][c] != rows.iloc[0][c] for c in SITE_CODES)


def test_nothing_scored_is_refused_and_an_implausible_measure_names_the_field(with_users):
    at = entry(with_users)
    at.button(key="entry_save").click().run()
    assert "sites" in at.error[0].value
    at.segmented_control(key="site_face").set_value(2)
    at.number_input(key="measure_fvc_pct_").set_value(400).run()
    at.button(key="entry_save").click().run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Not saved") and "FVC, % predicted" in e and "10–160" in e for e in errors), errors
    assert load_assessment_rows(with_users, "P-001").empty  # nothing half-written
    assert at.segmented_control(key="site_face").value == 2  # what was typed survives
    assert at.number_input(key="measure_fvc_pct_").value == 400


def test_duplicate_visit_opens_it_for_correction_with_reason_and_audit(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2024-03-01", rater="Dr Staff"))
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "P-001"
    at.switch_page(PAGE).run()
    at.date_input(key="entry_date").set_value("2024-03-01").run()
    assert "already scored" in at.info[0].value
    assert at.segmented_control(key="site_hand_r").value == factories.FULL_SCORES["hand_r"]
    at.segmented_control(key="site_hand_r").set_value(1).run()
    at.button(key="entry_save").click().run()
    assert "reason" in at.error[0].value.lower()  # refused without a reason
    at.text_input(key="entry_reason").input("hand (R) was 1, typo").run()
    at.button(key="entry_save").click().run()
    assert not at.error, [e.value for e in at.error]
    rows = load_assessment_rows(with_users, "P-001")
    assert len(rows) == 1 and rows.iloc[0]["hand_r"] == 1 and rows.iloc[0]["total"] == 29
    change = load_audit(with_users, entity="assessment", action="update").iloc[0]
    assert change["reason"] == "hand (R) was 1, typo"
    assert json.loads(change["before"])["hand_r"] == 3 and json.loads(change["after"])["hand_r"] == 1


def test_warnings_for_rater_change_and_site_jump(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(rater="Dr Other"))
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "P-001"
    at.switch_page(PAGE).run()
    at = score_all(at, {**factories.FULL_SCORES, "face": 3})  # face 1 -> 3
    texts = [w.value for w in at.warning]
    assert any("rater" in t and "Dr Other" in t for t in texts)
    assert any("Face: 1 → 3" in t for t in texts)


def test_demo_patient_shows_the_previous_visit_beside_each_site(with_demo):
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "DEMO-0001"
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("Previous visit") for c in at.caption)
    last = load_assessment_rows(with_demo, "DEMO-0001").dropna(subset=["hand_r"]).iloc[-1]
    assert f"last {int(last['hand_r'])}" in at.segmented_control(key="site_hand_r").label


def test_typed_scores_survive_the_total_only_switch_but_not_a_change_of_patient(with_users):
    at = entry(with_users)
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient(patient_id="P-002"))
    at = score_all(at, {"face": 2, "hand_r": 3})
    at.toggle(key="entry_total_only").set_value(True).run()
    at.toggle(key="entry_total_only").set_value(False).run()
    assert at.segmented_control(key="site_face").value == 2 and at.segmented_control(key="site_hand_r").value == 3
    at.date_input(key="entry_date").set_value("2024-05-02").run()  # a new visit: the date changes, scores stay
    assert at.segmented_control(key="site_face").value == 2
    at.selectbox(key="entry_patient").select("P-002").run()
    assert at.session_state["patient_id"] == "P-002"
    assert at.segmented_control(key="site_face").value is None  # never carried over to another patient


def test_correction_loads_the_visit_measures_and_audits_only_what_changed(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2024-03-01", rater="Dr Staff"))
        for side, value in (("R", 4.0), ("L", 6.0)):
            record_measurement(session=session, actor="t", data=factories.measurement(
                date="2024-03-01", side=side, value=value, rater="Dr Staff"))
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "P-001"
    at.switch_page(PAGE).run()
    at.date_input(key="entry_date").set_value("2024-03-01").run()
    assert at.number_input(key="measure_ftp_distance_R").value == 4.0
    at.number_input(key="measure_ftp_distance_L").set_value(5.0)
    at.text_input(key="entry_reason").input("left measured again").run()
    at.button(key="entry_save").click().run()
    assert not at.error, [e.value for e in at.error]
    values = load_measurements(with_users, ["P-001"]).set_index("side")["value"].to_dict()
    assert values == {"R": 4.0, "L": 5.0}
    updates = load_audit(with_users, entity="measurement", action="update")
    assert len(updates) == 1 and json.loads(updates.iloc[0]["after"])["value"] == 5.0
