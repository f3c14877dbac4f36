"""Where an export's files go: CSV files in a folder, or one Excel workbook (statistical formats:
`exchange.statformats`).

A sink takes each file's rows chunk by chunk as typed frames (`write(name, frame, kinds)`) and turns them
into its format; `close()` finishes the files. Every text cell is protected against formula injection
(`exchange.cells.protect_cell`) in every format.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from exchange.cells import csv_header, csv_rows, protect_cell
from exchange.spec import DATE, INT, NUMBER, TEXT, YESNO
from models.errors import InvalidValue


class CsvSink:
    """CSV files in a folder (UTF-8, CRLF), each written as its chunks arrive (the header with the first)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.handles: dict[str, io.BufferedWriter] = {}

    def write(self, name: str, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
        self.write_bytes(name, list(frame.columns), csv_rows(frame, kinds).encode("utf-8"))

    def write_bytes(self, name: str, columns: list[str], data: bytes) -> None:
        """Rows already turned into CSV (by `csv_rows`, e.g. in an export worker), UTF-8 encoded."""
        handle = self.handles.get(name)
        if handle is None:
            handle = self.handles[name] = open(self.folder / name, "wb")  # noqa: SIM115
            handle.write(csv_header(columns).encode("utf-8"))
        handle.write(data)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_MAX_ROWS = 1_048_576  # rows of a worksheet, the header included (Excel's limit)


class XlsxSink:
    """One workbook (openpyxl write-only, streamed), one sheet per file: dates are spreadsheet dates, numbers
    are numbers, text is text; each sheet has a frozen header row and filters over its columns."""

    def __init__(self, path: Path | io.BytesIO, names: tuple[str, ...], max_rows: int = XLSX_MAX_ROWS) -> None:
        from openpyxl import Workbook

        self.path = path
        self.max_rows = max_rows
        self.book = Workbook(write_only=True)
        self.sheets = {}
        for name in names:
            sheet = self.book.create_sheet(name.removesuffix(".csv"))
            sheet.freeze_panes = "A2"  # before the first row: a write-only sheet writes its views first
            self.sheets[name] = sheet
        self.rows: dict[str, int] = {}  # rows written per sheet, the header included
        self.widths: dict[str, int] = {}

    def write(self, name: str, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
        sheet = self.sheets[name]
        if name not in self.rows:
            sheet.append(list(frame.columns))
            self.rows[name] = 1
            self.widths[name] = len(frame.columns)
        self.rows[name] += len(frame)
        if self.rows[name] > self.max_rows:
            raise InvalidValue(f"{name} has more rows than an Excel sheet holds ({self.max_rows - 1:,}); export "
                               "as CSV, or choose fewer patients", field="format")
        columns = [_xlsx_values(frame[c], kinds[c]) for c in frame.columns]
        for row in zip(*columns, strict=True):
            sheet.append(row)

    def close(self) -> None:
        from openpyxl.utils import get_column_letter

        for name, sheet in self.sheets.items():
            if self.widths.get(name):
                sheet.auto_filter.ref = f"A1:{get_column_letter(self.widths[name])}{self.rows[name]}"
        self.book.save(self.path)


def _xlsx_values(values: pd.Series, kind: str) -> list:
    """One column's cells as the workbook takes them: None for blank, int or float, datetime.date, str."""
    if kind in (INT, NUMBER):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        out = numbers.astype(object)
        whole = np.isfinite(numbers) & (numbers == np.trunc(numbers))
        out[whole] = numbers[whole].astype("int64").tolist()  # 200, not 200.0
        out[np.isnan(numbers)] = None
        return out.tolist()
    if kind == DATE:
        codes, uniques = pd.factorize(pd.to_datetime(values, errors="coerce"), use_na_sentinel=True)
        days = np.array([d.date() for d in uniques] + [None], dtype=object)
        return days[codes].tolist()
    if kind == YESNO:
        flags = values.astype("boolean")
        return [None if pd.isna(f) else ("yes" if f else "no") for f in flags]
    if kind == TEXT:
        # XML 1.0 has no place for most control characters (a vertical tab from a word processor's line break):
        # the workbook gets a space where the CSV file keeps the character
        return [None if v is None or (not isinstance(v, str) and pd.isna(v)) or v == ""
                else _XML_ILLEGAL.sub(" ", protect_cell(str(v))) for v in values.astype(object)]
    raise ValueError(f"unknown column kind {kind!r}")
