"""The printable patient report (PDF, one or two A4 pages): header, the main chart, the site heat map and the
list of treatments. Pure: a header, charts and frames in, PDF bytes out (fpdf2 lays out, vl-convert draws)."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
from fpdf import FPDF

from analysis.patient_header import PatientHeader
from charts.export import to_png
from charts.labels import dose_label, kind_label, sites_display

PAGE_WIDTH_MM = 180  # A4 portrait less 15 mm margins


def _text(value) -> str:
    """fpdf2's core fonts are Latin-1: replace what they cannot draw instead of failing."""
    text = "" if value is None else str(value)
    for wide, narrow in (("–", "-"), ("—", "-"), ("→", "->"), ("±", "+/-"), ("≥", ">="), ("≤", "<="), ("·", "-")):
        text = text.replace(wide, narrow)
    return text.encode("latin-1", "replace").decode("latin-1")


def header_lines(patient_id: str, header: PatientHeader) -> list[str]:
    def score(value, day) -> str:
        return "-" if value is None else f"{value:g} ({day.isoformat()})"

    lines = [f"Diagnosis: {header.diagnosis_label}"
             + (f", {header.disease_years:g} years since diagnosis" if header.disease_years is not None else ""),
             f"Baseline mRSS: {score(header.baseline_mrss, header.baseline_date)}    "
             f"Latest mRSS: {score(header.latest_mrss, header.latest_date)}    Visits: {header.n_visits}"]
    if header.change is not None:
        pct = f" ({header.change_pct:+.0f} %)" if header.change_pct is not None else ""
        lines.append(f"Change from baseline: {header.change:+g} points{pct} - {header.category}")
    if header.rater_warning:
        lines.append(header.rater_warning)
    return lines


def treatment_rows(medications: pd.DataFrame, events: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(dates, what, details) per medication period and per event, in date order."""
    rows: list[tuple[pd.Timestamp, str, str, str]] = []
    for period in medications.itertuples():
        end = period.end_date.date().isoformat() if pd.notna(period.end_date) else "ongoing"
        rows.append((period.start_date, f"{period.start_date.date().isoformat()} - {end}", period.drug,
                     dose_label(period.dose, period.dose_unit, period.frequency)))
    for event in events.itertuples():
        details = [str(getattr(event, name, "") or "") for name in ("agent", "description")]
        sites = getattr(event, "sites", "")
        if sites:
            details.append(f"sites: {sites_display(sites)}")
        grade = getattr(event, "grade", None)
        if grade is not None and pd.notna(grade):
            details.append(f"grade {int(grade)}")
        rows.append((event.date, event.date.date().isoformat(), kind_label(event.kind),
                     "; ".join(d for d in details if d)))
    rows.sort(key=lambda row: row[0])
    return [(when, what, details) for _, when, what, details in rows]


def patient_report_pdf(patient_id: str, header: PatientHeader, timeline: alt.TopLevelMixin | dict,
                       heatmap: alt.TopLevelMixin | dict | None, medications: pd.DataFrame, events: pd.DataFrame,
                       *, printed: date | None = None) -> bytes:
    """The report as PDF bytes; ``timeline`` and ``heatmap`` are Altair charts or the builders' dict specs."""
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _text(f"Skintrack - patient {patient_id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, _text(f"Printed {(printed or date.today()).isoformat()}. Modified Rodnan skin score "
                         "(17 sites, 0-3, total 0-51)."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    for line in header_lines(patient_id, header):
        pdf.multi_cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.image(to_png(timeline, scale=2), w=PAGE_WIDTH_MM)
    if heatmap is not None:
        pdf.ln(3)
        pdf.image(to_png(heatmap, scale=2), w=PAGE_WIDTH_MM)
    rows = treatment_rows(medications, events)
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "Treatments", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if not rows:
        pdf.cell(0, 5, "No medications or treatment events recorded.", new_x="LMARGIN", new_y="NEXT")
    else:
        with pdf.table(col_widths=(45, 45, 90), text_align="LEFT", line_height=4.5) as table:
            table.row(["Dates", "Treatment", "Details"])
            for row in rows:
                table.row([_text(cell) for cell in row])
    return bytes(pdf.output())
