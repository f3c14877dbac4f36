"""The PDF report: a real PDF of one or two pages holding the header, and a treatments list in date order."""

from __future__ import annotations

import re

from analysis.patient_header import patient_header
from analysis.scores import visit_scores
from charts.patient import patient_timeline, site_heatmap
from charts.report import header_lines, patient_report_pdf, treatment_rows
from db.chart_data import load_chart_data
from db.demo import generate_registry, load_registry


def test_report_is_a_one_or_two_page_pdf_with_the_treatments_in_date_order(sqlite_engine):
    load_registry(sqlite_engine, generate_registry(3), actor="t")
    data = load_chart_data(sqlite_engine, "DEMO-0002")
    assessments, meds, events = data.assessments, data.medications, data.events
    visits = visit_scores(assessments)
    header = patient_header({"diagnosis": "NSF"}, assessments)
    timeline = patient_timeline(assessments, visits, meds, events, baseline_mrss=header.baseline_mrss)
    pdf = patient_report_pdf("DEMO-0002", header, timeline, site_heatmap(visits, events), meds, events)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert 1 <= pages <= 2, pages
    rows = treatment_rows(meds, events)
    assert [r[0][:10] for r in rows] == sorted(r[0][:10] for r in rows)
    assert any(r[1] == "imatinib" and "mg" in r[2] for r in rows)
    assert any("Dorsum of hand" in r[2] for r in rows)  # the injected sites are named
    assert header_lines("DEMO-0002", header)[0].startswith("Diagnosis: Nephrogenic systemic fibrosis")
