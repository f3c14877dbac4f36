"""Visit entry in AppTest: a full 17-site visit stores exactly those values and their total; total-only mode; a
saved (patient, date, rater) opens that visit for correction, which needs a reason and leaves an audit row with
the old and new values; invalid input is refused naming the field by its label and keeps what was typed.

Issue 13: a typed future or impossible date is refused by name, never replaced by today; any date back to the
birth year can be entered (a 2016 visit is reachable); the rater is required, chosen from the clinic's raters and
kept for the session; changing the rater of a saved visit corrects that visit; a form never carries over to
another patient."""

from __future__ import annotations

import json
from datetime import date

from db.audit import load_audit
from db.engine import write_session
from db.measures import correct_measurement, load_measurements, record_measurement
from db.patients import create_patient
from db.visits import correct_assessment, load_assessment_rows, record_assessment
from models.catalog import SITE_CODES
from tests import factories
from tests.app.conftest import browser_sends, signed_in_app
from ui.forms import current_key, scope_key

PAGE = "pages/visit_entry.py"
SCORES = dict(zip(SITE_CODES, (1, 2, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, 1, 0), strict=True))  # 30


def field(at, name):
    """The key of widget `name` of the visit form as drawn on the screen now."""
    return current_key(at.session_state, "visit_entry", "visit", name)


def visit_choice(at):
    return current_key(at.session_state, "visit_entry", "choose_visit", "visit")


def entry(engine, role="staff", patient="P-001"):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
    return open_entry(patient, role)


def open_entry(patient="P-001", role="staff"):
    at = signed_in_app(role)
    at.session_state["patient_id"] = patient
    at.switch_page(PAGE)
    return at.run()


def score_all(at, scores, record="new", patient="P-001"):
    """What the body grid sends when the rater has typed these scores."""
    at.session_state[field(at, "sites")] = {"scores": dict(scores)}
    return at.run()


def choose_rater(at, rater, record="new", patient="P-001"):
    """Pick `rater` in the Rater list (the clinic's raters, and the signed-in user: "Dr Staff")."""
    return at.selectbox(key=field(at, "rater")).select(rater).run()


def save(at, record="new", patient="P-001"):
    return at.button(key=field(at, "submit")).click().run()


def errors(at):
    return [e.value for e in at.error]


def test_empty_database_tells_what_to_do(with_users):
    at = signed_in_app("staff", PAGE)
    assert not at.exception and "Choose the patient above" in at.info[0].value


def test_full_visit_stores_exactly_the_17_scores_and_the_total(with_users):
    at = entry(with_users)
    at = choose_rater(at, "Dr Staff")
    at = score_all(at, SCORES)
    assert at.metric[0].value == "30 / 51" and "17 of 17" in at.metric[0].label
    at.number_input(key=field(at, "measure_ftp_distance_R")).set_value(4.5)
    at.number_input(key=field(at, "measure_oral_aperture_")).set_value(31)
    at = save(at)
    assert not at.exception and not at.error, errors(at)
    assert "Saved: P-001" in at.success[0].value and "mRSS 30" in at.success[0].value
    rows = load_assessment_rows(with_users, "P-001")
    assert len(rows) == 1 and rows.iloc[0]["total"] == 30 and not rows.iloc[0]["incomplete"]
    assert {code: int(rows.iloc[0][code]) for code in SITE_CODES} == SCORES
    assert rows.iloc[0]["rater"] == "Dr Staff"
    measures = load_measurements(with_users, ["P-001"]).set_index(["measure", "side"])["value"].to_dict()
    assert measures == {("ftp_distance", "R"): 4.5, ("oral_aperture", ""): 31.0}
    saved = int(rows.iloc[0]["assessment_id"])
    assert at.session_state[visit_choice(at)] == saved  # what was saved is open for correction
    assert at.button(key=field(at, "submit")).label == "Save correction"


def test_total_only_mode(with_users):
    at = choose_rater(entry(with_users), "Dr Staff")
    at.toggle(key=field(at, "total_only")).set_value(True).run()
    at.number_input(key=field(at, "total")).set_value(27.5).run()
    save(at)
    rows = load_assessment_rows(with_users, "P-001")
    assert rows.iloc[0]["total"] == 27.5 and all(rows.iloc[0][c] != rows.iloc[0][c] for c in SITE_CODES)


def test_nothing_scored_is_refused_and_an_implausible_measure_names_the_field(with_users):
    at = choose_rater(entry(with_users), "Dr Staff")
    at = save(at)
    assert "**Skin score (mRSS)**" in at.error[0].value
    at = score_all(at, {"face": 2})
    at.number_input(key=field(at, "measure_fvc_pct_")).set_value(400).run()
    save(at)
    messages = errors(at)
    assert any(e.startswith("Not saved") and "FVC, % predicted" in e and "10–160" in e for e in messages), messages
    assert load_assessment_rows(with_users, "P-001").empty  # nothing half-written
    assert at.session_state[field(at, "sites")]["scores"]["face"] == 2  # what was typed survives
    assert at.number_input(key=field(at, "measure_fvc_pct_")).value == 400


def test_a_saved_date_and_rater_open_that_visit_for_correction_with_reason_and_audit(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        saved = record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2024-03-01", rater="Dr Staff")).assessment_id
    at = choose_rater(open_entry(), "Dr Staff")
    at.text_input(key=field(at, "date")).input("2024-03-01").run()
    assert at.session_state[visit_choice(at)] == saved
    assert "open for correction" in at.info[0].value
    assert at.session_state[field(at, "sites")]["scores"]["hand_r"] == factories.FULL_SCORES["hand_r"]
    at = score_all(at, {**factories.FULL_SCORES, "hand_r": 1})
    save(at)
    assert "**Reason for the correction (required)**" in at.error[0].value  # refused without a reason
    at.text_input(key=field(at, "reason")).input("hand (R) was 1, typo").run()
    save(at)
    assert not at.error, errors(at)
    rows = load_assessment_rows(with_users, "P-001")
    assert len(rows) == 1 and rows.iloc[0]["hand_r"] == 1 and rows.iloc[0]["total"] == 29
    change = load_audit(with_users, entity="assessment", action="update").iloc[0]
    assert change["reason"] == "hand (R) was 1, typo"
    assert json.loads(change["before"])["hand_r"] == 3 and json.loads(change["after"])["hand_r"] == 1


def test_warnings_for_rater_change_and_site_jump(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(rater="Dr Other"))
    at = choose_rater(open_entry(), "Dr Staff")
    at = score_all(at, {**factories.FULL_SCORES, "face": 3})  # face 1 -> 3
    texts = [w.value for w in at.warning]
    assert any("**Rater**" in t and "Dr Other" in t for t in texts)
    assert any(t.startswith("Face") and "1 → 3" in t for t in texts)


def test_demo_patient_shows_the_previous_visit_beside_each_site(with_demo):
    at = open_entry("DEMO-0001")
    assert not at.exception and not at.error
    assert any(c.value.startswith("Previous visit") for c in at.caption)
    last = load_assessment_rows(with_demo, "DEMO-0001").dropna(subset=["hand_r"]).iloc[-1]
    grid = json.loads(at.get("bidi_component")[0].proto.json)
    shown = {site["code"]: site["before"] for site in grid["sites"]}
    assert shown["hand_r"] == int(last["hand_r"]) and len(shown) == 17
    assert [site["code"] for site in grid["sites"]] == list(SITE_CODES)  # Tab order: the catalogue's


def test_typed_scores_survive_the_total_only_switch_but_not_a_change_of_patient(with_users):
    at = entry(with_users)
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient(patient_id="P-002"))
    at = score_all(at, {"face": 2, "hand_r": 3})
    at.toggle(key=field(at, "total_only")).set_value(True).run()
    at.toggle(key=field(at, "total_only")).set_value(False).run()
    assert at.session_state[field(at, "sites")]["scores"] == {"face": 2, "hand_r": 3}
    at.text_input(key=field(at, "date")).input("2024-05-02").run()  # a new visit: the date changes, scores stay
    assert at.session_state[field(at, "sites")]["scores"]["face"] == 2
    at.selectbox(key="entry_patient").select("P-002").run()
    assert at.session_state["patient_id"] == "P-002"
    assert set(at.session_state[field(at, "sites")]["scores"].values()) == {None}  # never carried
    old = scope_key("visit_entry", "visit", "P-001", "new")
    assert not any(str(k).startswith(old) for k in at.session_state)  # the other patient's form is dropped


def test_correction_loads_the_visit_measures_and_audits_only_what_changed(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        saved = record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2024-03-01", rater="Dr Staff")).assessment_id
        for side, value in (("R", 4.0), ("L", 6.0)):
            record_measurement(session=session, actor="t", data=factories.measurement(
                date="2024-03-01", side=side, value=value, rater="Dr Staff"))
    at = open_entry()
    at.selectbox(key=visit_choice(at)).select(saved).run()
    assert at.number_input(key=field(at, "measure_ftp_distance_R")).value == 4.0
    at.number_input(key=field(at, "measure_ftp_distance_L")).set_value(5.0)
    at.text_input(key=field(at, "reason")).input("left measured again").run()
    save(at)
    assert not at.error, errors(at)
    values = load_measurements(with_users, ["P-001"]).set_index("side")["value"].to_dict()
    assert values == {"R": 4.0, "L": 5.0}
    updates = load_audit(with_users, entity="measurement", action="update")
    assert len(updates) == 1 and json.loads(updates.iloc[0]["after"])["value"] == 5.0


def test_a_typed_future_or_impossible_date_is_refused_by_name_never_saved_as_today(with_users):
    """Defect 3: a typed 2027-11-01 turned the field red, and Save stored the visit under today's date."""
    at = choose_rater(entry(with_users), "Dr Staff")
    at = score_all(at, SCORES)
    for typed, words in (("2099-11-01", "is in the future"), ("2024-02-30", "is not a date"),
                         ("1-11-2024", "is not a date"), ("", "enter the date")):
        at.text_input(key=field(at, "date")).input(typed).run()
        save(at)
        assert "**Visit date**" in at.error[0].value and words in at.error[0].value, (typed, errors(at))
        assert load_assessment_rows(with_users, "P-001").empty
        assert at.text_input(key=field(at, "date")).value == typed  # kept as typed, never replaced
    at.text_input(key=field(at, "date")).input("1967-05-05").run()  # before the birth year 1968
    save(at)
    assert "**Visit date**" in at.error[0].value and "birth year 1968" in at.error[0].value


def test_old_visits_are_reachable_and_historical_totals_can_be_entered(with_users):
    """Defect 4: dates more than ten years back could not be entered; the demo's 2016 visit was unreachable."""
    at, old = open_saved_visit(with_users, "2016-11-08", "Dr Brennan")
    assert "2016-11-08 · Dr Brennan · mRSS 31" in at.selectbox(key=visit_choice(at)).options
    assert at.text_input(key=field(at, "date")).value == "2016-11-08"
    at.selectbox(key=visit_choice(at)).select("new").run()
    at = choose_rater(at, "Dr Brennan")
    at.text_input(key=field(at, "date")).input("12.03.2009").run()  # as clinicians write it
    at.toggle(key=field(at, "total_only")).set_value(True).run()
    at.number_input(key=field(at, "total")).set_value(31.0).run()
    save(at)
    assert not at.error, errors(at)
    rows = load_assessment_rows(with_users, "P-001")
    totals = dict(zip(rows["visit_date"].dt.date, rows["total"], strict=True))
    assert totals[date(2009, 3, 12)] == 31.0


def test_a_blank_rater_is_refused_naming_rater(with_users):
    """Defect 5: a blank rater was accepted ("unnamed rater")."""
    at = score_all(entry(with_users), SCORES)
    assert at.selectbox(key=field(at, "rater")).value is None  # no one is assumed to have scored
    save(at)
    assert "**Rater**" in at.error[0].value
    assert load_assessment_rows(with_users, "P-001").empty


def test_the_rater_is_chosen_from_the_clinic_most_recent_first_and_kept_for_the_session(with_users):
    with write_session(with_users) as session:
        for patient in ("P-001", "P-002"):
            create_patient(session=session, actor="t", data=factories.patient(patient_id=patient))
        for day, rater in (("2020-01-01", "Dr Old"), ("2024-01-01", "Dr New")):
            record_assessment(session=session, actor="t", data=factories.assessment(visit_date=day, rater=rater))
    at = open_entry()
    assert at.selectbox(key=field(at, "rater")).options == ["Dr New", "Dr Old", "Dr Staff"]  # and you, last
    at.selectbox(key=field(at, "rater")).select("Dr Old").run()
    at.selectbox(key="entry_patient").select("P-002").run()
    assert at.selectbox(key=field(at, "rater")).value == "Dr Old"  # kept across patients


def test_changing_the_rater_of_a_saved_visit_corrects_that_visit_and_keeps_the_scores(with_users):
    """Defect 5: changing the rater during a correction silently opened a new visit and dropped the scores."""
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        saved = record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date="2024-03-01", rater="Dr A")).assessment_id
        record_measurement(session=session, actor="t", data=factories.measurement(
            date="2024-03-01", side="R", value=4.0, rater="Dr A"))
    at = open_entry()
    at.selectbox(key=visit_choice(at)).select(saved).run()
    at = score_all(at, {**factories.FULL_SCORES, "face": 2})
    at = choose_rater(at, "Dr Staff")
    assert at.session_state[visit_choice(at)] == saved  # still that visit
    assert at.session_state[field(at, "sites")]["scores"]["face"] == 2  # the typed scores stay
    save(at)
    assert "**Reason for the correction (required)**" in at.error[0].value
    at.text_input(key=field(at, "reason")).input("scored by Dr Staff, not Dr A").run()
    save(at)
    assert not at.error, errors(at)
    rows = load_assessment_rows(with_users, "P-001")
    assert len(rows) == 1 and int(rows.iloc[0]["assessment_id"]) == saved
    assert rows.iloc[0]["rater"] == "Dr Staff" and rows.iloc[0]["face"] == 2
    measures = load_measurements(with_users, ["P-001"])
    assert measures["rater"].tolist() == ["Dr Staff"] and len(measures) == 1  # the measures moved with it
    assert load_audit(with_users, entity="assessment", action="update").iloc[0]["reason"] == (
        "scored by Dr Staff, not Dr A")


def open_saved_visit(engine, visit_date: str = "2024-03-01", rater: str = "Dr Staff"):
    """Visit entry open on a saved visit of a new patient: (the app, the visit's id)."""
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        saved = record_assessment(session=session, actor="t", data=factories.assessment(
            visit_date=visit_date, rater=rater)).assessment_id
    at = open_entry()
    at.selectbox(key=visit_choice(at)).select(saved).run()
    return at, saved


def changed_meanwhile(at) -> list[str]:
    return [w.value for w in at.warning if "changed since this form was opened" in w.value]


def test_a_correction_redrawn_after_a_write_elsewhere_says_that_what_was_typed_was_dropped(with_users):
    """Two tabs on one visit: B saves a correction; A, which had typed another change, types its reason. That rerun
    draws A's form afresh from the database (B's values): it must say so, not silently drop A's change and leave
    A to save a 'correction' without it. A's own save afterwards says nothing of the kind."""
    at, saved = open_saved_visit(with_users)
    at = score_all(at, {**factories.FULL_SCORES, "chest": 0})  # tab A: a change typed, not saved yet
    assert not changed_meanwhile(at)
    with write_session(with_users) as session:  # tab B saves its correction of the same visit
        correct_assessment(session=session, assessment_id=saved, expected_version=1, actor="other",
                           reason="face was 0", data={**factories.assessment(visit_date="2024-03-01",
                                                                              rater="Dr Staff"), "face": 0})
    at.text_input(key=field(at, "reason")).input("chest was 0").run()
    assert changed_meanwhile(at), [w.value for w in at.warning]
    assert at.session_state[field(at, "sites")]["scores"]["face"] == 0  # the current values, B's
    assert at.session_state[field(at, "sites")]["scores"]["chest"] == factories.FULL_SCORES["chest"]
    assert at.text_input(key=field(at, "reason")).value == ""
    at = score_all(at, {**factories.FULL_SCORES, "face": 0, "chest": 0})  # entered again
    at.text_input(key=field(at, "reason")).input("chest was 0").run()
    save(at)
    assert not at.error and not changed_meanwhile(at), (errors(at), changed_meanwhile(at))
    assert any("Corrected" in s.value for s in at.success)
    row = load_assessment_rows(with_users, "P-001").iloc[0]
    assert (row["face"], row["chest"]) == (0, 0)
    at.run()
    assert not changed_meanwhile(at)


def test_a_new_visit_never_silently_replaces_a_measure_saved_for_its_date_and_rater(with_users):
    """Tab A enters a new visit; meanwhile tab B saves finger-to-palm R = 6 cm for the same date and rater. A's
    typed 4 cm used to replace B's 6 cm at A's save without A ever seeing it. Now the first save names the measure
    and the saved value and writes nothing; saving again confirms."""
    at = choose_rater(entry(with_users), "Dr Staff")
    at.text_input(key=field(at, "date")).input("2024-03-01").run()
    at = score_all(at, SCORES)
    at.number_input(key=field(at, "measure_ftp_distance_R")).set_value(4.0).run()
    with write_session(with_users) as session:  # tab B, a measures-only save of the same date and rater
        record_measurement(session=session, actor="other", data=factories.measurement(
            date="2024-03-01", side="R", value=6.0, rater="Dr Staff"))
    save(at)
    warned = [w.value for w in at.warning if "already saved" in w.value]
    assert warned and "Finger-to-palm distance in flexion R" in warned[0] and "6 cm" in warned[0], warned
    assert load_assessment_rows(with_users, "P-001").empty  # nothing written, not even the scores
    assert load_measurements(with_users, ["P-001"])["value"].tolist() == [6.0]
    assert at.number_input(key=field(at, "measure_ftp_distance_R")).value == 4.0  # what was typed stays
    save(at)  # seen: saved again to confirm
    assert not at.error, errors(at)
    assert load_measurements(with_users, ["P-001"])["value"].tolist() == [4.0]
    assert len(load_assessment_rows(with_users, "P-001")) == 1
    change = load_audit(with_users, entity="measurement", action="update").iloc[0]
    assert json.loads(change["before"])["value"] == 6.0 and json.loads(change["after"])["value"] == 4.0


def test_a_confirmed_replacement_asks_again_when_the_saved_value_changed_meanwhile(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        saved = record_measurement(session=session, actor="t", data=factories.measurement(
            date="2024-03-01", side="R", value=6.0, rater="Dr Staff")).measurement_id
    at = choose_rater(open_entry(), "Dr Staff")
    at.text_input(key=field(at, "date")).input("2024-03-01").run()
    at.number_input(key=field(at, "measure_ftp_distance_R")).set_value(4.0).run()
    assert any("replaces the saved 6 cm" in c.value for c in at.caption)
    save(at)
    assert any("already saved" in w.value for w in at.warning)
    with write_session(with_users) as session:  # someone corrects the saved value before A confirms
        correct_measurement(session=session, measurement_id=saved, expected_version=1, actor="other",
                            reason="re-measured", data=factories.measurement(date="2024-03-01", side="R",
                                                                             value=7.0, rater="Dr Staff"))
    save(at)
    warned = [w.value for w in at.warning if "already saved" in w.value]
    assert warned and "7 cm" in warned[0], warned
    assert load_measurements(with_users, ["P-001"])["value"].tolist() == [7.0]


def test_the_visit_open_for_correction_stays_open_when_the_browser_sends_back_its_label(with_users, monkeypatch):
    """The browser sends a select box's choice back as the label it showed: after another tab corrected the open
    visit's total, that label names no option, and the page fell back to *New visit* at the next click (Save
    correction included), with today's date and an empty form."""
    at, saved = open_saved_visit(with_users)
    for label in (at.selectbox(key=visit_choice(at)).options[1],  # the current label
                  "2024-03-01 · Dr Staff · mRSS 99"):  # the label shown before another tab's correction
        with monkeypatch.context() as patch:
            browser_sends(patch, at.selectbox(key=visit_choice(at)), label)
            at.run()
        assert at.session_state[visit_choice(at)] == saved, label
        assert "open for correction" in at.info[0].value
        assert at.text_input(key=field(at, "date")).value == "2024-03-01"
