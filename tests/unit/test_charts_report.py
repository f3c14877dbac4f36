"""The PDF report: identified or de-identified header, author, date and page numbers on a real PDF of two to three
A4 pages, the charts at print size, the "what changed" summary, the treatments and the visit table."""

from __future__ import annotations

import json
import re
import zlib
from datetime import datetime

import pytest

from analysis.patient_header import patient_header
from charts import patient, vl
from charts.export import to_png
from charts.report import (
    CHART_WIDTH,
    MARGIN_MM,
    PT_PER_CSS_PX,
    ReportAuthor,
    patient_report_pdf,
    treatment_rows,
    visit_rows,
)
from tests.unit import chart_spec_cases as cases

PATIENT = {"patient_id": "P1", "diagnosis": "NSF", "name": "Bo Demo", "mrn": "D-100002", "birth_year": 1957}
AUTHOR = ReportAuthor(name="Dr Chen", role="physician", when=datetime(2026, 5, 1, 14, 30))


def charts() -> tuple[dict, dict]:
    axis = cases.time_axis()
    timeline = patient.patient_timeline(cases.assessments(), cases.visits(), cases.medications(), cases.events(),
                                        baseline_mrss=30.0, changes=cases.changes(), time_axis=axis,
                                        width=CHART_WIDTH, printed=True)
    heatmap = patient.site_heatmap(cases.visits(), cases.events(), changes=cases.changes(), time_axis=axis,
                                   width=CHART_WIDTH, printed=True)
    return timeline, heatmap


def text_of(pdf: bytes) -> str:
    """The text drawn on the pages (fpdf2 writes it into zlib-compressed content streams)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        if len(match.group(1)) > 20_000:  # the images; pages draw their text in small streams
            continue
        try:
            out.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    shown = re.findall(r"\(((?:\\.|[^\\)])*)\) Tj", " ".join(out))
    return " ".join(" ".join(re.sub(r"\\(.)", r"\1", part) for part in shown).split())


@pytest.fixture(scope="module")
def texts(reports) -> dict[bool, str]:
    return {identified: text_of(pdf) for identified, pdf in reports.items()}


@pytest.fixture(scope="module")
def reports() -> dict[bool, bytes]:
    timeline, heatmap = charts()
    header = patient_header(PATIENT, cases.assessments())
    return {identified: patient_report_pdf(
        patient=PATIENT, header=header, identified=identified, author=AUTHOR, timeline=timeline, heatmap=heatmap,
        changes=cases.changes(), visits=cases.visits(), assessments=cases.assessments(),
        medications=cases.medications(), events=cases.events()) for identified in (True, False)}


def test_two_to_three_a4_pages_numbered_with_author_and_date(reports, texts):
    for identified, pdf in reports.items():
        assert pdf.startswith(b"%PDF")
        pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
        assert 2 <= pages <= 3, pages
        assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4
        text = texts[identified]
        assert all(f"Page {n} of {pages}" in text for n in range(1, pages + 1)), text
        assert text.count("Prepared by Dr Chen (physician) on 2026-05-01 14:30") >= pages


def test_the_identified_report_names_the_patient_and_the_other_does_not(texts):
    identified, anonymous = texts[True], texts[False]
    assert "Bo Demo" in identified and "MRN D-100002" in identified and "Year of birth 1957" in identified
    for secret in ("Bo Demo", "D-100002", "1957"):
        assert secret not in anonymous
    assert "De-identified report: name, MRN and year of birth are left out." in anonymous
    assert "Patient P1" in anonymous


def test_the_report_holds_what_changed_the_treatments_and_the_visits(texts):
    text = texts[True]
    assert "After imatinib went from 200 to 400 mg daily on 2023-07-01: mRSS 28 -> 20 (-8) from" in text
    assert "Periorbital oedema" in text and "Dorsum of hand (R), Fingers (L)" in text
    assert "Dr Lee 26, Dr Okafor 30" in text and "imatinib 200 mg daily" in text


def test_charts_print_at_eight_points_or_more():
    """Placed at their natural size (1 CSS pixel = 0.75 pt), the charts' 11-pixel text prints at 8.25 pt: they
    must fit the page width at that size."""
    assert vl.FONT_PX * PT_PER_CSS_PX >= 8
    page_pt = (210 - 2 * MARGIN_MM) / 25.4 * 72
    for chart in charts():
        png = to_png(chart, scale=1)
        width_px = int.from_bytes(png[16:20], "big")
        assert width_px * PT_PER_CSS_PX <= page_pt, width_px
        texts = [v["mark"].get("fontSize", vl.FONT_PX) for v, _ in cases.find(chart, mark="text")]
        assert min(texts) >= vl.FONT_PX
        assert "hover" not in json.dumps(chart)  # nothing to hover on paper


def test_rows_in_date_order():
    rows = treatment_rows(cases.medications(), cases.events())
    assert [r[0][:10] for r in rows] == sorted(r[0][:10] for r in rows)
    assert visit_rows(cases.visits(), cases.assessments(), cases.medications())[1] == (
        "2023-05-10", "Dr Lee 26, Dr Okafor 30", "28", "−2 (−7 %)", "imatinib 200 mg daily")
