"""The export for statistical packages (EXCHANGE.md, "XLSX and statistical packages"): one dataset per file.

`--format sas|spss|stata|parquet` writes OUT as a folder holding each file of the export as a SAS transport
file (`.xpt`, version 5, the format regulators and every SAS release read), an SPSS `.sav`, a Stata `.dta`
(pyreadstat, a wrapper of the ReadStat C library) or a Parquet file (pyarrow), plus `dictionary.csv`:

- every variable is labelled with its dictionary meaning (cut to what the format holds: SAS 40 characters,
  Stata 80, SPSS 256; dictionary.csv keeps it whole);
- where the dictionary lists the allowed values (a code list of the catalogue: diagnoses, sexes, event
  kinds, yes/no, site scores, grades, ...), SPSS and Stata get value labels: a coded text is stored as the
  whole number of its place in the list (1, 2, ...) labelled with the code as the CSV file writes it, yes/no
  as 1/0, a numeric code (site score, grade) as itself labelled with its catalogue meaning. SAS transport
  files carry no value labels (they live in a separate format catalogue), so SAS keeps the codes as text;
  Parquet keeps them as text, yes/no as booleans;
- dates are the package's date type (SAS DATE9., SPSS DATE11, Stata %td, Parquet date32);
- names longer than the format allows (SAS transport: 8 characters; Stata 32; SPSS 64) are shortened by
  `short_names` and the name used is written to dictionary.csv's `name_in_file` column;
- SAS transport holds at most 200 bytes of text in a cell: longer text is cut there (and counted in the
  export's report); the CSV export keeps it whole.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exchange.cells import csv_header, csv_rows, protect_cell
from exchange.derived import describe_column
from exchange.spec import DATE, INT, NUMBER, TEXT, YESNO
from models.catalog import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    CTCAE_GRADES,
    DIAGNOSES,
    DOSE_UNITS,
    EVENT_KINDS,
    MEASURE_CODES,
    ROUTES,
    SEXES,
    SIDES,
    SITE_SCORE_LABELS,
)
from models.catalog import RELATEDNESS as RELATEDNESS_CODES
from models.ctcae import CTCAE_TERM_NAMES


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    name_limit: int | None  # characters of a variable (and dataset) name
    label_limit: int | None  # characters of a variable label
    text_limit: int | None  # bytes of a text cell
    value_labels: bool


FORMATS: dict[str, Format] = {
    "sas": Format("SAS transport (version 5)", ".xpt", 8, 40, 200, False),
    "spss": Format("SPSS", ".sav", 64, 256, None, True),
    "stata": Format("Stata", ".dta", 32, 80, None, True),
    "parquet": Format("Parquet", ".parquet", None, None, None, False),
}
# Each package's date format, given to every date variable: without it the writer types a date column by its values,
# and one with none (anchor_date without --anchor-drug, an empty table) would become a text variable.
DATE_FORMATS = {"sas": "DATE9", "spss": "DATE11", "stata": "%td"}
STAT_FORMATS: tuple[str, ...] = tuple(FORMATS)
NAME_COLUMN = "name_in_file"  # the dictionary's extra column in these folders

# --- value labels --------------------------------------------------------------------------------------


def _codes(values: Iterable) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


# The catalogue's code lists, as the dictionary writes them in allowed_values ("a, b, c"), with the labels of
# their values. Numeric codes keep their values and take the catalogue's meaning as label; text codes become
# 1, 2, ... labelled with the code itself (what the CSV file holds).
NUMERIC_CODE_LISTS: dict[tuple[str, ...], dict[int, str]] = {
    _codes(SITE_SCORE_LABELS): {int(k): str(v) for k, v in SITE_SCORE_LABELS.items()},
    _codes(CTCAE_GRADES): {int(k): f"grade {k}: {v}" for k, v in CTCAE_GRADES.items()},
}
TEXT_CODE_LISTS: tuple[tuple[str, ...], ...] = tuple(dict.fromkeys(_codes(codes) for codes in (
    DIAGNOSES, SEXES, EVENT_KINDS, SIDES, MEASURE_CODES, DOSE_UNITS, ROUTES, RELATEDNESS_CODES, ACTIONS_TAKEN,
    AE_OUTCOMES, CTCAE_TERM_NAMES)))
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class Coding:
    """How a labelled column is stored: `codes` maps the file's text to a number (None: the values are numbers
    already), `labels` the number to its label."""

    codes: dict[str, int] | None
    labels: dict[int, str]


def _codings() -> dict[str, Coding]:
    out = {}
    for codes in TEXT_CODE_LISTS:
        coded = Coding({code: i for i, code in enumerate(codes, 1)}, dict(enumerate(codes, 1)))
        for separator in (", ", "; "):  # a list whose codes hold commas (CTCAE terms) is joined by "; "
            out.setdefault(separator.join(codes), coded)
    for codes, labels in NUMERIC_CODE_LISTS.items():
        out[", ".join(codes)] = Coding(None, labels)
    out[", ".join(YES_NO)] = Coding({"yes": 1, "no": 0}, {1: "yes", 0: "no"})
    return out


CODINGS = _codings()


def coding(allowed_values: str) -> Coding | None:
    """The value labels of a column whose dictionary `allowed_values` is one of the catalogue's code lists
    (its codes joined by ", ", or by "; " when they hold commas), or None."""
    return CODINGS.get(allowed_values.strip()) if allowed_values else None


# --- names --------------------------------------------------------------------------------------------


def short_names(columns: Iterable[str], limit: int | None) -> dict[str, str]:
    """column -> its name in a format that holds `limit` characters: the column itself when it fits; else its
    first `limit` characters when no other name of the file is (or cuts to) the same; else its first
    `limit` − 2 characters and the lowest two-digit number (01, 02, ...) that makes it unique, in column
    order. Names are compared without regard to case (SAS and SPSS ignore it)."""
    columns = list(columns)
    if limit is None:
        return {c: c for c in columns}
    cut = {c: c[:limit] for c in columns}
    clashes: dict[str, int] = {}
    for name in cut.values():
        clashes[name.lower()] = clashes.get(name.lower(), 0) + 1
    out = {c: cut[c] for c in columns if clashes[cut[c].lower()] == 1}
    used = {name.lower() for name in out.values()}
    for column in columns:
        if column in out:
            continue
        number = 1
        while f"{column[:limit - 2]}{number:02d}".lower() in used:
            number += 1
        out[column] = f"{column[:limit - 2]}{number:02d}"
        used.add(out[column].lower())
    return {c: out[c] for c in columns}


def _label(text: str, limit: int | None, ascii_only: bool) -> str:
    if ascii_only:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if limit is not None and len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def _cut_bytes(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# --- the sink -----------------------------------------------------------------------------------------


class StatSink:
    """A folder of datasets in one statistical format. Chunks are collected per file and each dataset is
    written whole at `close()` (the writers take a complete table); dictionary.csv gets a `name_in_file`
    column and is also written as plain CSV beside the datasets."""

    def __init__(self, folder: Path, fmt: str) -> None:
        self.folder = folder
        self.format = FORMATS[fmt]
        self.key = fmt
        folder.mkdir(parents=True, exist_ok=True)
        self.parts: dict[str, list[pd.DataFrame]] = {}
        self.kinds: dict[str, dict[str, str]] = {}
        self.cut_cells: dict[str, int] = {}  # file -> text cells cut to the format's limit

    def write(self, name: str, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
        self.parts.setdefault(name, []).append(frame)
        self.kinds[name] = kinds

    def dataset_names(self) -> dict[str, str]:
        """file name (patients.csv) -> dataset file name (patients.sav)."""
        return {n: n.removesuffix(".csv") + self.format.suffix for n in self.parts}

    def member_names(self) -> dict[str, str]:
        """file name -> the dataset's name inside a SAS transport file (8 characters, `short_names`' rule)."""
        stems = short_names([n.removesuffix(".csv") for n in self.parts], self.format.name_limit)
        return {n: stems[n.removesuffix(".csv")].upper() for n in self.parts}

    def names(self, name: str) -> dict[str, str]:
        columns = list(self.parts[name][0].columns)
        if name == "dictionary.csv":
            columns.append(NAME_COLUMN)
        return short_names(columns, self.format.name_limit)

    def close(self) -> None:
        files = self.dataset_names()
        for name in self.parts:
            # one index 0..n-1: the columns are rebuilt as Series and must line up by position, not by old labels
            frame = pd.concat(self.parts[name], ignore_index=True)
            kinds = dict(self.kinds[name])
            if name == "dictionary.csv":
                frame, kinds = self._dictionary(frame, kinds, files)
                with open(self.folder / "dictionary.csv", "w", encoding="utf-8", newline="") as handle:
                    handle.write(csv_header(frame.columns) + csv_rows(frame, kinds))
            self._write(name, frame, kinds, self.folder / files[name])

    def _dictionary(self, frame: pd.DataFrame, kinds: dict[str, str], files: dict[str, str]):
        """The dictionary with each file named as in this folder and each column's name in its dataset."""
        names = {name: self.names(name) for name in self.parts}
        own = pd.DataFrame([describe_column("dictionary.csv", NAME_COLUMN)], columns=list(frame.columns))
        frame = pd.concat([frame, own], ignore_index=True)
        frame = frame.assign(**{NAME_COLUMN: [names.get(f, {}).get(c, c) for f, c in
                                              zip(frame["file"], frame["column"], strict=True)]})
        frame["file"] = [files.get(f, f) for f in frame["file"]]
        return frame, {**kinds, NAME_COLUMN: TEXT}

    def _write(self, name: str, frame: pd.DataFrame, kinds: dict[str, str], path: Path) -> None:
        fmt = self.format
        names = self.names(name)
        table = {}
        labels, value_labels, measures, formats, date_formats = {}, {}, {}, {}, {}
        for column in frame.columns:
            _, _, meaning, unit, allowed = describe_column(name, column)
            kind = kinds[column]
            values, coded = self._column(name, frame[column], kind, allowed)
            short = names[column]
            table[short] = values
            labels[short] = _label(meaning + (f" [{unit}]" if unit and unit not in ("date", "see unit") else ""),
                                   fmt.label_limit, ascii_only=self.key == "sas")
            if coded is not None:
                value_labels[short] = coded.labels
                measures[short] = "ordinal" if coded.codes is None else "nominal"
                formats[short] = "F8.0"
            elif kind in (INT, NUMBER):
                measures[short] = "scale"
                if kind == INT:
                    formats[short] = "F8.0"
            elif kind == DATE and self.key in DATE_FORMATS:
                date_formats[short] = DATE_FORMATS[self.key]
        data = pd.DataFrame(table)
        if self.key == "parquet":
            _write_parquet(data, path, labels, {names[c]: describe_column(name, c) for c in frame.columns},
                           {names[c]: kinds[c] for c in frame.columns})
            return
        import pyreadstat

        if self.key == "sas":
            pyreadstat.write_xport(data, path, file_label=name, column_labels=labels,
                                   table_name=self.member_names()[name],
                                   file_format_version=5, variable_format=date_formats)
        elif self.key == "spss":
            pyreadstat.write_sav(data, path, file_label=name, column_labels=labels, variable_value_labels=value_labels,
                                 variable_measure=measures, variable_format={**formats, **date_formats})
        else:
            pyreadstat.write_dta(data, path, file_label=name, column_labels=labels,
                                 variable_value_labels=value_labels, variable_format=date_formats)

    def _column(self, name: str, values: pd.Series, kind: str, allowed: str) -> tuple[pd.Series, Coding | None]:
        """One column as the format stores it, and its coding when it gets value labels."""
        coded = coding(allowed)
        if self.key == "parquet":
            if coded is not None and coded.codes == {"yes": 1, "no": 0}:
                return _text(values).map({"yes": True, "no": False}).astype("boolean"), None
            coded = None
        if kind == DATE:
            codes, uniques = pd.factorize(pd.to_datetime(values, errors="coerce"), use_na_sentinel=True)
            if len(uniques) == 0 and self.key in DATE_FORMATS:  # no date at all: a numeric column of blanks, which
                return pd.Series(np.full(len(values), np.nan)), None  # the date format above makes a date variable
            days = np.array([d.date() for d in uniques] + [None], dtype=object)
            return pd.Series(days[codes], dtype=object), None
        if kind == YESNO:
            flags = values.astype("boolean")
            if self.format.value_labels:
                return pd.Series(flags.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)), coding("yes, no")
            if self.key == "parquet":
                return flags, None
            return pd.Series(np.where(flags.isna(), "", np.where(flags.fillna(False), "yes", "no")), dtype=object), None
        if kind in (INT, NUMBER):
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            if self.key == "parquet" and kind == INT:
                return numbers.round().astype("Int64"), None
            return numbers, (coded if self.format.value_labels and coded is not None and coded.codes is None else None)
        text = _text(values)
        if self.format.value_labels and coded is not None and coded.codes is not None:
            numbers = text.map(coded.codes)
            if numbers.notna().sum() == (text != "").sum():  # every value in the list: store the codes
                return numbers.astype("float64"), coded
        if self.format.text_limit is not None:
            long = text.str.encode("utf-8").str.len() > self.format.text_limit
            if long.any():
                self.cut_cells[name] = self.cut_cells.get(name, 0) + int(long.sum())
                text = text.where(~long, text[long].map(lambda t: _cut_bytes(t, self.format.text_limit)))
        return text, None

    def notes(self) -> list[str]:
        if not self.cut_cells:
            return []
        cut = ", ".join(f"{n:,} in {name}" for name, n in self.cut_cells.items())
        return [f"{self.format.name} holds {self.format.text_limit} bytes of text in a cell: text cells cut to fit: "
                f"{cut} (the csv export and dictionary.csv keep them whole)"]


def _text(values: pd.Series) -> pd.Series:
    """Text cells protected against formula injection, blank for missing (as in the CSV files)."""
    plain = values.astype(object).where(values.notna(), "")
    codes, uniques = pd.factorize(plain)
    protected = np.array([protect_cell(str(u)) for u in uniques] + [""], dtype=object)
    return pd.Series(protected[codes], index=values.index, dtype=object)


def _write_parquet(data: pd.DataFrame, path: Path, labels: dict[str, str], rows: dict[str, tuple],
                   kinds: dict[str, str]) -> None:
    """A Parquet file with the column types fixed by their kinds (so an all-blank column keeps its type) and each
    field's dictionary label, unit and allowed values in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {TEXT: pa.string(), DATE: pa.date32(), INT: pa.int64(), NUMBER: pa.float64(), YESNO: pa.bool_()}
    fields = []
    for column in data.columns:
        _, _, _, unit, allowed = rows[column]
        kind = YESNO if isinstance(data[column].dtype, pd.BooleanDtype) else kinds[column]
        fields.append(pa.field(column, arrow[kind], metadata={"label": labels[column], "unit": unit,
                                                               "allowed_values": allowed}))
    schema = pa.schema(fields)
    pq.write_table(pa.Table.from_pandas(data, schema=schema, preserve_index=False), path)
