"""The printable patient report for the patient file (PDF, two to three A4 pages).

Header with the patient's identity — name, MRN and year of birth in the identified report (for the roles that
may see them), left out of the de-identified one —, who prepared it and when, and page numbers on every page;
then the timeline, the "what changed" summary, the site heat map at print size, the treatments and the visit
table. Pure: values, frames and chart specs in, PDF bytes out (fpdf2 lays out, vl-convert draws).

Charts are placed at their natural size, one CSS pixel to 0.75 pt, so that their 11-pixel text prints at
8.25 pt; the builders are given widths (:data:`CHART_WIDTH`) that keep them within the page.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from fpdf import FPDF

from analysis.patient_header import PatientHeader
from analysis.treatment import on_treatment
from analysis.what_changed import METHOD, TreatmentChange
from charts.export import to_png
from charts.labels import date_text, dose_label, kind_label, number, rater_name, signed, sites_display

MARGIN_MM = 15
PAGE_WIDTH_MM = 210 - 2 * MARGIN_MM
PT_PER_CSS_PX = 0.75
MM_PER_PT = 25.4 / 72
CHART_WIDTH = 520  # plot pixels of the report's charts: with their y labels, within the page at 8.25 pt text
PNG_SCALE = 2
TEXT_PT = 9


@dataclass(frozen=True)
class ReportAuthor:
    """Who prepared the report, and when."""

    name: str
    role: str
    when: datetime

    @property
    def line(self) -> str:
        return f"Prepared by {self.name} ({self.role}) on {self.when:%Y-%m-%d %H:%M}"


def _text(value) -> str:
    """fpdf2's core fonts are Latin-1: replace what they cannot draw instead of failing."""
    text = "" if value is None else str(value)
    for wide, narrow in (("–", "-"), ("—", "-"), ("−", "-"), ("→", "->"), ("±", "+/-"), ("≥", ">="),
                         ("≤", "<="), ("·", "-"), ("▼", "v"), ("’", "'")):
        text = text.replace(wide, narrow)
    return text.encode("latin-1", "replace").decode("latin-1")


def identity_lines(patient: dict, *, identified: bool) -> list[str]:
    """Who the report is about: identified, or de-identified (the registry's patient id only)."""
    patient_id = patient.get("patient_id", "")
    if not identified:
        return [f"Patient {patient_id}", "De-identified report: name, MRN and year of birth are left out."]
    born = patient.get("birth_year")
    return [f"{patient.get('name') or '(no name recorded)'}",
            f"MRN {patient.get('mrn') or '-'}    Year of birth {born if born else '-'}    Patient {patient_id}"]


def header_lines(header: PatientHeader) -> list[str]:
    """The chart header in words: diagnosis, baseline and latest mRSS, change and category."""
    def score(value, day) -> str:
        return "-" if value is None else f"{number(value)} ({day.isoformat()})"

    lines = [f"Diagnosis: {header.diagnosis_label}"
             + (f", {number(header.disease_years)} years since diagnosis" if header.disease_years is not None else ""),
             f"Baseline mRSS: {score(header.baseline_mrss, header.baseline_date)}    "
             f"Latest mRSS: {score(header.latest_mrss, header.latest_date)}    Scored visits: {header.n_visits}"]
    if header.change is not None:
        pct = f" ({signed(header.change_pct, 0)} %)" if header.change_pct is not None else ""
        lines.append(f"Change from baseline: {signed(header.change)} points{pct}: {header.category}")
    if header.rater_warning:
        lines.append(header.rater_warning)
    return lines


def treatment_rows(medications: pd.DataFrame, events: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(dates, what, details) per medication period and per event, in date order."""
    rows: list[tuple[pd.Timestamp, str, str, str]] = []
    for period in medications.itertuples():
        end = date_text(period.end_date) if pd.notna(period.end_date) else "ongoing"
        rows.append((period.start_date, f"{date_text(period.start_date)} - {end}", period.drug,
                     dose_label(period.dose, period.dose_unit, period.frequency)))
    for event in events.itertuples():
        details = [str(getattr(event, name, "") or "") for name in ("agent", "description")]
        sites = getattr(event, "sites", "")
        if sites:
            details.append(f"sites: {sites_display(sites)}")
        grade = getattr(event, "grade", None)
        if grade is not None and pd.notna(grade):
            details.append(f"grade {int(grade)}")
        rows.append((event.date, date_text(event.date), kind_label(event.kind), "; ".join(d for d in details if d)))
    rows.sort(key=lambda row: row[0])
    return [(when, what, details) for _, when, what, details in rows]


def visit_rows(visits: pd.DataFrame, assessments: pd.DataFrame, medications: pd.DataFrame
               ) -> list[tuple[str, str, str, str, str]]:
    """(date, raters with their totals, visit mRSS, change from baseline, treatment that day) per visit;
    ``visits`` with change and change_pct (analysis.baseline.change_from_baseline)."""
    if visits is None or visits.empty:
        return []
    visits = visits.sort_values("visit_date").reset_index(drop=True)
    treatment = on_treatment(visits, medications) if medications is not None and len(medications) else None
    raters = {}
    for day, group in assessments.groupby("visit_date"):
        raters[day] = ", ".join(f"{rater_name(r)} {number(t) or 'incomplete'}"
                                for r, t in zip(group["rater"], group["total"], strict=True))
    rows = []
    for index, visit in visits.iterrows():
        change = visit.get("change")
        pct = visit.get("change_pct")
        change_text = "" if change is None or pd.isna(change) else f"{signed(change)}" + (
            f" ({signed(pct, 0)} %)" if pct is not None and not pd.isna(pct) else "")
        rows.append((date_text(visit["visit_date"]), raters.get(visit["visit_date"], ""), number(visit["mrss"]),
                     change_text, treatment.iloc[index] if treatment is not None else ""))
    return rows


class _Report(FPDF):
    def __init__(self, running_head: str, foot: str):
        super().__init__(format="A4")
        self.running_head = running_head
        self.foot = foot

    def header(self):
        if self.page_no() > 1:
            self.set_font("Helvetica", "", 8)
            self.cell(0, 5, _text(self.running_head), new_x="LMARGIN", new_y="NEXT")
            self.ln(1)

    def footer(self):
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(PAGE_WIDTH_MM * 0.8, 5, _text(self.foot))
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _chart(pdf: FPDF, chart: dict) -> None:
    """A chart at its natural size (1 CSS pixel = 0.75 pt), on a new page if the rest of this one is short."""
    png = to_png(chart, scale=PNG_SCALE)
    width_px, height_px = _png_size(png)
    scale = min(1.0, PAGE_WIDTH_MM / (width_px / PNG_SCALE * PT_PER_CSS_PX * MM_PER_PT))
    width = width_px / PNG_SCALE * PT_PER_CSS_PX * MM_PER_PT * scale
    height = height_px / PNG_SCALE * PT_PER_CSS_PX * MM_PER_PT * scale
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(png), w=width, h=height)


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() + 20 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", TEXT_PT)


def patient_report_pdf(
    *,
    patient: dict,
    header: PatientHeader,
    identified: bool,
    author: ReportAuthor,
    timeline: dict,
    heatmap: dict | None,
    changes: Sequence[TreatmentChange],
    visits: pd.DataFrame,
    assessments: pd.DataFrame,
    medications: pd.DataFrame,
    events: pd.DataFrame,
) -> bytes:
    """The report as PDF bytes. ``timeline`` and ``heatmap`` are the builders' specs at CHART_WIDTH;
    ``identified`` False leaves name, MRN and year of birth out; ``visits`` carry change and change_pct."""
    patient_id = patient.get("patient_id", "")
    kind = "identified" if identified else "de-identified"
    pdf = _Report(f"Skintrack patient report - patient {patient_id} ({kind})",
                  f"{author.line} - {kind} - Skintrack")
    pdf.alias_nb_pages()
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, "Skintrack - patient report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    lines = identity_lines(patient, identified=identified)
    pdf.cell(0, 6, _text(lines[0]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in lines[1:]:
        pdf.cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", TEXT_PT)
    pdf.cell(0, 5, _text(f"{author.line}. Modified Rodnan skin score: 17 sites, 0-3 each, total 0-51."),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("Helvetica", "", 10)
    for line in header_lines(header):
        pdf.multi_cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _chart(pdf, timeline)
    _heading(pdf, "What changed after each treatment change")
    if not changes:
        pdf.multi_cell(0, 4.5, "No drug start, dose change, stop or injection recorded.", new_x="LMARGIN",
                       new_y="NEXT")
    for change in changes:
        pdf.multi_cell(0, 4.5, _text(f"- {change.sentence}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, _text(METHOD), new_x="LMARGIN", new_y="NEXT")
    if heatmap is not None:
        pdf.ln(3)
        _chart(pdf, heatmap)
    _heading(pdf, "Treatments")
    rows = treatment_rows(medications, events)
    if not rows:
        pdf.cell(0, 5, "No medications or treatment events recorded.", new_x="LMARGIN", new_y="NEXT")
    else:
        with pdf.table(col_widths=(40, 45, 95), text_align="LEFT", line_height=4.2) as table:
            table.row(["Dates", "Treatment", "Details"])
            for row in rows:
                table.row([_text(cell) for cell in row])
    _heading(pdf, "Visits")
    visits_table = visit_rows(visits, assessments, medications)
    if not visits_table:
        pdf.cell(0, 5, "No scored visit.", new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.set_font("Helvetica", "", 8)
        with pdf.table(col_widths=(20, 50, 16, 24, 70), text_align="LEFT", line_height=3.8) as table:
            table.row(["Visit", "Raters (rater total)", "mRSS", "Change from baseline", "On treatment"])
            for row in visits_table:
                table.row([_text(cell) for cell in row])
    return bytes(pdf.output())
