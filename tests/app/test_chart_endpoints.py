"""The patient chart's composite endpoints in AppTest (ENDPOINTS.md): the ACR CRISS card of an improver (DEMO-0001 on
imatinib), of a step-1 patient (DEMO-0006, ILD progression) and of a patient whose CRISS is not computable
(DEMO-0002, no FVC or globals); the follow-up month; the EUSTAR activity chart; user text shown as text; and every
download of the chart audited with the user who drew the button (the download runs later, in a server thread)."""

from __future__ import annotations

import re

import pytest

from db.audit import load_audit
from db.engine import write_session
from db.patients import create_patient
from db.treatments import record_event
from db.visits import record_assessment
from tests import factories
from tests.app.conftest import signed_in_app
from tests.app.test_export_audit import (
    assert_no_anonymous_row,
    click_in_a_server_thread,
    deferred_downloads,  # noqa: F401  (a fixture)
)
from ui.messages import as_text

PAGE = "pages/chart.py"
HOSTILE = "![x](http://127.0.0.1:9/x)"


def chart_for(role: str, patient_id: str):
    at = signed_in_app(role)
    at.session_state["patient_id"] = patient_id
    at.switch_page(PAGE)
    return at.run()


def shown(at) -> str:
    """Every Markdown text of the screen, as written (escapes included)."""
    return "\n".join(e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
                     for e in getattr(at, kind))


def read(at) -> str:
    """What the user reads: the Markdown escapes of `as_text` taken away."""
    return re.sub(r"\\(.)", r"\1", shown(at))


def probability(at) -> str | None:
    return next((m.value for m in at.metric if m.label == "CRISS probability"), None)


def items(at) -> dict[str, list[str]]:
    table = next(t.value for t in at.table if "Follow-up" in t.value.columns)
    return {item: list(row) for item, row in table.iterrows()}


@pytest.mark.slow
def test_an_improver_on_imatinib(with_demo):
    at = chart_for("physician", "DEMO-0001")
    assert not at.exception
    words = read(at)
    assert "Improved (probability ≥ 0.60)" in words
    assert "Baseline 2023-01-10 → follow-up 2024-01-10" in words
    assert probability(at) == "1.000"
    assert items(at) == {"mRSS (0–51)": ["33", "12", "−21"], "FVC, % predicted": ["74", "77", "+3"],
                         "Patient global (0–10)": ["7", "3", "−4"], "Physician global (0–10)": ["6", "2", "−4"],
                         "HAQ-DI (0–3)": ["1.5", "0.875", "−0.625"]}
    assert "Revised CRISS: responder at 20 %, 25 %, 40 %; not at 60 %." in words
    # the activity index over time (its points: tests/unit/test_charts_endpoints.py)
    assert [c for c in at.get("vega_lite_chart") if "activity_points" in c.proto.spec]
    assert "Known at 3 of 6 visits with an mRSS" in words
    at.number_input(key="chart_criss_month").set_value(6).run()  # the follow-up month is chosen on the card
    assert not at.exception
    assert "Baseline 2023-01-10 → follow-up 2023-07-11" in read(at)
    assert items(at)["Patient global (0–10)"] == ["7", "5", "−2"]


def test_an_organ_event_decides_step_1(with_demo):
    at = chart_for("physician", "DEMO-0006")
    assert not at.exception
    words = read(at)
    assert "Not improved (step 1: Interstitial lung disease progression)" in words
    assert probability(at) == "0.000"
    (step1,) = [e.value for e in at.warning if "Step 1" in e.value]
    assert "Interstitial lung disease progression on 2021-05-09" in step1
    assert items(at)["FVC, % predicted"] == ["86", "66", "−20"]
    assert "Revised CRISS: not a responder at 20 %, 25 %, 40 %, 60 %." in words


def test_not_computable_names_what_is_missing_and_why(with_demo):
    at = chart_for("physician", "DEMO-0002")
    assert not at.exception
    words = read(at)
    assert ("Not computable: FVC, % predicted, Patient global (0–10), Physician global (0–10), HAQ-DI (0–3) missing"
            in words)
    assert ("FVC, % predicted: no value within ±30 days of either visit (baseline 2022-03-07, follow-up 2023-01-31)"
            in words)
    assert probability(at) is None
    assert items(at)["mRSS (0–51)"] == ["36", "16", "−20"]
    assert "The EUSTAR activity index needs" in " ".join(i.value for i in at.info)
    at.number_input(key="chart_criss_month").set_value(48).run()
    assert "Not computable: no visit with an mRSS in the 48-month window" in read(at)
    assert "days 1371–1551 after baseline" in read(at)


def test_user_text_on_the_chart_is_shown_as_text(with_users):
    with write_session(with_users) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data=factories.assessment(rater=HOSTILE))
        record_assessment(session=session, actor="t", data=factories.assessment(visit_date="2019-01-08",
                                                                                rater="dr b"))
        record_event(session=session, actor="t", data={"patient_id": "P-001", "date": "2018-09-01",
                                                       "kind": "ild_progression", "description": HOSTILE})
        record_event(session=session, actor="t", data={"patient_id": "P-001", "date": "2010-01-01",
                                                       "kind": "other", "description": HOSTILE})
    at = chart_for("physician", "P-001")
    assert not at.exception
    text = shown(at)
    assert HOSTILE not in text  # never as Markdown: no image fetched from that address
    assert text.count(as_text(HOSTILE)) >= 3  # the raters' warning, the step-1 event, the event before the chart
    assert "Not improved (step 1: Interstitial lung disease progression)" in read(at)


@pytest.mark.slow
def test_every_chart_download_is_audited_with_the_user(with_demo, deferred_downloads):  # noqa: F811
    at = chart_for("physician", "DEMO-0001")
    assert not at.exception
    names = [d.file_name for d in deferred_downloads]
    assert {"DEMO-0001-timeline.png", "DEMO-0001-timeline.svg", "DEMO-0001-report.pdf"} <= set(names)
    before = len(load_audit(with_demo, action="export"))
    for name in ("DEMO-0001-timeline.svg", "DEMO-0001-report.pdf"):
        download = next(d for d in reversed(deferred_downloads) if d.file_name == name)
        data = click_in_a_server_thread(download)
        assert (data.encode() if isinstance(data, str) else data)[:4] in (b"<svg", b"%PDF"), name
    trail = load_audit(with_demo, action="export")
    assert len(trail) == before + 2
    assert set(trail["actor"].iloc[:2]) == {"physician"}
    details = sorted(trail["detail"].iloc[:2])
    assert details[0].startswith("identified pdf export of 1 patients (selected), patient chart report")
    assert details[0].endswith("to DEMO-0001-report.pdf")
    assert details[1].startswith("identified svg export of 1 patients (selected), patient chart timeline")
    assert_no_anonymous_row(with_demo)


@pytest.mark.slow
def test_a_deidentified_report_is_audited_as_such(with_demo, deferred_downloads):  # noqa: F811
    chart_for("staff", "DEMO-0001")
    download = next(d for d in reversed(deferred_downloads) if d.file_name == "DEMO-0001-report-deidentified.pdf")
    click_in_a_server_thread(download)
    row = load_audit(with_demo, action="export").iloc[0]
    assert (row["actor"], row["detail"].split(" export")[0]) == ("staff", "de-identified pdf")
