"""The workbook and the statistical formats (EXCHANGE.md, "XLSX and statistical packages"): each read back with its
own reader — openpyxl, pyreadstat, pandas, pyarrow — holds the CSV export's rows, typed, labelled from the
dictionary, with value labels where the dictionary lists the allowed values; long names shortened by the
documented rule; de-identification the same in every format."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange import export_bundle, export_bytes, import_bundle
from exchange.cells import csv_header, csv_rows
from exchange.derived import FILE_KINDS, FILE_ORDER, describe_column
from exchange.exporter import SHEET_ORDER
from exchange.spec import DATE, INT, NUMBER, TEXT
from exchange.statformats import FORMATS, coding, short_names
from models.catalog import DIAGNOSES, SITE_SCORE_LABELS
from tests.exchange.conftest import ENDPOINTS_EXAMPLE, EXAMPLE

SECRET = "formats-secret"
READERS = {"sas": pyreadstat.read_xport, "spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def example(sqlite_engine, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    import_bundle(sqlite_engine, EXAMPLE, actor="t")
    import_bundle(sqlite_engine, ENDPOINTS_EXAMPLE, actor="t")
    return sqlite_engine


@pytest.fixture
def csv_export(example, tmp_path):
    export_bundle(example, tmp_path / "csv", actor="t")
    return tmp_path / "csv"


# --- the workbook --------------------------------------------------------------------------------------


def test_workbook_cells_are_typed_with_frozen_headers_and_filters(example, csv_export, tmp_path):
    export_bundle(example, tmp_path / "book.xlsx", fmt="xlsx", actor="t")
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")  # not read-only: views and filters are read too
    assert book.sheetnames == [name.removesuffix(".csv") for name in FILE_ORDER]
    for name in FILE_ORDER:
        sheet = book[name.removesuffix(".csv")]
        rows = list(sheet.iter_rows(values_only=True))
        expected = read_csv(csv_export / name)
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(rows[0]))}{len(rows)}", name
        assert list(rows[0]) == list(expected[0]) and len(rows) == len(expected) + 1, name
        kinds = FILE_KINDS[name]
        for cells, want in zip(sheet.iter_rows(min_row=2), expected, strict=True):
            for cell, column in zip(cells, rows[0], strict=True):
                text = want[column]
                if text == "":
                    assert cell.value is None, (name, column)
                elif kinds[column] == DATE:
                    assert cell.is_date and cell.number_format == "yyyy-mm-dd", (name, column)
                    assert cell.value.date() == date.fromisoformat(text)
                elif kinds[column] in (INT, NUMBER):
                    assert cell.data_type == "n" and isinstance(cell.value, int | float), (name, column)
                    assert cell.value == float(text)
                else:
                    assert cell.data_type == "s" and cell.value == text, (name, column)


# --- statistical packages --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["sas", "spss", "stata"])
def test_readstat_formats_hold_the_rows_labels_and_dates(example, csv_export, tmp_path, fmt):
    result = export_bundle(example, tmp_path / fmt, fmt=fmt, actor="t")
    folder = tmp_path / fmt
    suffix = FORMATS[fmt].suffix
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [n.removesuffix(".csv") + suffix for n in FILE_ORDER] + ["dictionary.csv"])
    dictionary = read_csv(folder / "dictionary.csv")
    assert list(dictionary[0]) == ["file", "column", "meaning", "unit", "allowed_values", "name_in_file"]
    names = {(r["file"], r["column"]): r["name_in_file"] for r in dictionary}
    for name in FILE_ORDER:
        dataset = name.removesuffix(".csv") + suffix
        data, meta = READERS[fmt](folder / dataset)
        # the dictionary dataset is the folder's dictionary.csv (files named as here, with name_in_file)
        expected = read_csv((folder if name == "dictionary.csv" else csv_export) / name)
        assert len(data) == len(expected) == result.rows[name] + (name == "dictionary.csv"), name  # + name_in_file
        columns = [names[(dataset, c)] for c in expected[0]] if expected else list(data.columns)
        assert list(data.columns) == columns, name
        if fmt == "sas":
            assert all(len(c) <= 8 for c in data.columns)
        for column, short in zip(expected[0] if expected else (), columns, strict=True):
            label = meta.column_names_to_labels[short]
            meaning = describe_column(name, column)[2]
            size = min(15, len(meaning))
            assert label and label[:size] == meaning[:size], (name, column, label)  # the meaning, cut to fit
            values = data[short].tolist()
            texts = [row[column] for row in expected]
            kind = FILE_KINDS[name].get(column, TEXT)
            if kind == DATE:
                assert [v.isoformat() if isinstance(v, date | datetime) else "" for v in values] == [
                    t for t in texts], (name, column)
                continue
            labels = meta.variable_value_labels.get(short)
            if labels:  # SPSS, Stata: the stored numbers read back through their labels as the CSV's text
                assert fmt != "sas"
                values = ["" if pd.isna(v) else labels.get(v, f"{v:g}") for v in values]
                codes = coding(describe_column(name, column)[4])
                if codes.codes is None:  # numeric codes (site scores, grades) read as their meaning
                    texts = ["" if t == "" else codes.labels[int(t)] for t in texts]
                assert values == texts, (name, column)
            elif kind in (INT, NUMBER):
                assert ["" if pd.isna(v) else float(v) for v in values] == [
                    "" if t == "" else float(t) for t in texts], (name, column)
            else:
                if fmt == "sas":  # version 5 holds 200 bytes of text (the export says how many cells it cut)
                    texts = [t.encode("utf-8")[:200].decode("utf-8", "ignore") for t in texts]
                assert ["" if pd.isna(v) else v for v in values] == texts, (name, column)


def test_value_labels_follow_the_dictionary(example, tmp_path):
    """Where the dictionary lists the allowed values (a catalogue code list) SPSS and Stata carry value labels: text
    codes numbered in the list's order and labelled with the code, yes/no as 1/0, site scores with their meaning."""
    for fmt in ("spss", "stata"):
        export_bundle(example, tmp_path / fmt, fmt=fmt, actor="t")
        suffix = FORMATS[fmt].suffix
        _, patients = READERS[fmt](tmp_path / fmt / f"patients{suffix}")
        assert patients.variable_value_labels["diagnosis"] == {i: code for i, code in enumerate(DIAGNOSES, 1)}
        _, scores = READERS[fmt](tmp_path / fmt / f"skin_scores{suffix}")
        assert scores.variable_value_labels["hand_r"] == SITE_SCORE_LABELS
        assert "rater" not in scores.variable_value_labels  # free text: no labels
        _, summary = READERS[fmt](tmp_path / fmt / f"summary{suffix}")
        assert summary.variable_value_labels["improved"] == {1: "yes", 0: "no"}
        _, response = READERS[fmt](tmp_path / fmt / f"response{suffix}")
        assert response.variable_value_labels["rcriss40"] == {1: "yes", 0: "no"}
        if fmt == "spss":
            assert scores.variable_measure["hand_r"] == "ordinal" and scores.variable_measure["total"] == "scale"
    # the packages' own readers apply them: pandas gives the codes back as text
    stata = pd.read_stata(tmp_path / "stata" / "summary.dta")
    spss = pd.read_spss(tmp_path / "spss" / "summary.sav")
    assert list(stata["diagnosis"].astype(str)) == list(spss["diagnosis"].astype(str))
    assert set(stata["improved"].astype(str)) <= {"yes", "no", "nan"}


def test_sas_transport_is_version_5_and_readable_by_pandas(example, csv_export, tmp_path):
    export_bundle(example, tmp_path / "sas", fmt="sas", actor="t")
    data = pd.read_sas(tmp_path / "sas" / "skin_scores.xpt", format="xport", encoding="utf-8")
    expected = read_csv(csv_export / "skin_scores.csv")
    assert len(data) == len(expected)
    assert list(data["patient_"]) == [r["patient_id"] for r in expected]
    _, meta = pyreadstat.read_xport(tmp_path / "sas" / "skin_scores.xpt")
    assert meta.table_name == "SKIN_SCO"
    assert meta.original_variable_types["visit_da"].startswith("DATE")
    labels = meta.column_names_to_labels
    assert (labels["upper_01"], labels["upper_02"]) == ("site score: Upper arm (R) [score]",
                                                        "site score: Upper arm (L) [score]")
    assert all(len(label) <= 40 for label in labels.values())  # version 5 holds 40 characters
    meaning = describe_column("skin_scores.csv", "total")[2]
    assert len(meaning) > 40 and labels["total"] == meaning[:37].rstrip() + "..."


def test_parquet_keeps_types_and_labels(example, csv_export, tmp_path):
    export_bundle(example, tmp_path / "pq", fmt="parquet", actor="t")
    for name in FILE_ORDER:
        table = pq.read_table(tmp_path / "pq" / name.replace(".csv", ".parquet"))
        expected = read_csv((tmp_path / "pq" if name == "dictionary.csv" else csv_export) / name)
        assert table.num_rows == len(expected) and table.column_names == (list(expected[0]) if expected else
                                                                             table.column_names)
        for field in table.schema:
            kind = FILE_KINDS[name].get(field.name, TEXT)
            _, _, meaning, unit, _ = describe_column(name, field.name)
            assert field.metadata[b"label"].decode().startswith(meaning)
            assert field.metadata[b"unit"].decode() == unit
            allowed = describe_column(name, field.name)[4]
            if allowed == "yes, no":
                assert str(field.type) == "bool"
            else:
                assert str(field.type) == {TEXT: "string", DATE: "date32[day]", INT: "int64", NUMBER: "double",
                                           "yesno": "bool"}[kind], (name, field.name)
    frame = pd.read_parquet(tmp_path / "pq" / "summary.parquet")
    expected = read_csv(csv_export / "summary.csv")
    assert [d.isoformat() if not pd.isna(d) else "" for d in frame["baseline_date"]] == [
        r["baseline_date"] for r in expected]
    assert [("" if pd.isna(v) else ("yes" if v else "no")) for v in frame["improved"]] == [
        r["improved"] for r in expected]


def test_every_format_is_deidentified_alike(example, tmp_path):
    """De-identification is one module for every file and format: no identifier, name or free text in any dataset,
    the same pseudonyms and shifted dates as the CSV export."""
    export_bundle(example, tmp_path / "csv", deidentify=True, actor="t")
    plain = read_csv(tmp_path / "csv" / "visits.csv")
    for fmt in ("sas", "spss", "stata", "parquet"):
        export_bundle(example, tmp_path / fmt, fmt=fmt, deidentify=True, actor="t")
        blob = b"".join(p.read_bytes() for p in (tmp_path / fmt).iterdir())
        for secret in (b"EX-01", b"X02", b"Example One", b"000101", b"periorbital", b"dr a", b"dose raised"):
            assert secret not in blob, (fmt, secret)
    data, _ = pyreadstat.read_sav(tmp_path / "spss" / "visits.sav")
    assert list(data["patient_id"]) == [r["patient_id"] for r in plain]
    assert [d.isoformat() for d in data["visit_date"]] == [r["visit_date"] for r in plain]
    _, meds = pyreadstat.read_dta(tmp_path / "stata" / "medications.dta")
    assert "reason" not in meds.column_names


def test_downloads_zip_the_datasets(example):
    data = export_bytes(example, fmt="spss", actor="t")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    assert names[:len(SHEET_ORDER)] == [n.replace(".csv", ".sav") for n in SHEET_ORDER]
    assert names[-1] == "dictionary.csv"


def test_an_empty_registry_gives_empty_datasets(sqlite_engine, tmp_path):
    for fmt in ("sas", "spss", "stata", "parquet"):
        result = export_bundle(sqlite_engine, tmp_path / fmt, fmt=fmt, actor="t")
        assert result.patients == 0
    data, _ = pyreadstat.read_dta(tmp_path / "stata" / "patients.dta")
    assert len(data) == 0 and "patient_id" in data.columns
    assert pq.read_table(tmp_path / "parquet" / "windows.parquet").num_rows == 4  # one row per month, always


def test_long_text_is_cut_only_for_sas_and_said_so(sqlite_engine, tmp_path):
    from db.engine import write_session
    from db.patients import create_patient

    with write_session(sqlite_engine) as session:
        create_patient(session=session, data={"patient_id": "P1", "diagnosis": "SSc", "notes": "é" * 300},
                       actor="t")
    sas = export_bundle(sqlite_engine, tmp_path / "sas", fmt="sas", actor="t")
    assert any("200 bytes of text in a cell: text cells cut to fit: 1 in patients.csv" in line for line in sas.lines())
    data, _ = pyreadstat.read_xport(tmp_path / "sas" / "patients.xpt")
    assert data["notes"][0] == "é" * 100  # 200 bytes, never half a character
    stata = export_bundle(sqlite_engine, tmp_path / "stata", fmt="stata", actor="t")
    assert not stata.notes
    data, _ = pyreadstat.read_dta(tmp_path / "stata" / "patients.dta")
    assert data["notes"][0] == "é" * 300


# --- the rules, on their own ---------------------------------------------------------------------------------


def test_short_names_of_the_sas_export():
    names = short_names(FILE_KINDS["skin_scores.csv"], 8)
    assert (names["patient_id"], names["face"], names["upper_arm_r"], names["upper_arm_l"], names["forearm_r"],
            names["fingers_l"]) == ("patient_", "face", "upper_01", "upper_02", "forear01", "finger02")
    summary = short_names(FILE_KINDS["summary.csv"], 8)
    assert (summary["baseline_date"], summary["baseline_mrss"], summary["latest_date"]) == (
        "baseli01", "baseli02", "latest_d")
    assert short_names(["a_long_name"], None) == {"a_long_name": "a_long_name"}


@settings(max_examples=300, deadline=None)
@given(columns=st.lists(st.text(alphabet="abc_01", min_size=1, max_size=12), unique=True, max_size=30),
       limit=st.integers(min_value=3, max_value=10))
def test_short_names_are_collision_free_and_fit(columns, limit):
    names = short_names(columns, limit)
    assert list(names) == columns
    assert len({n.lower() for n in names.values()}) == len(columns)  # case-insensitively unique
    assert all(len(n) <= limit for n in names.values())
    assert all(names[c] == c for c in columns if len(c) <= limit
               and sum(other[:limit].lower() == c.lower() for other in columns) == 1)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.text(max_size=6), st.text(alphabet='a,"\r\n =\'', max_size=6)), max_size=8))
def test_csv_rows_write_what_the_csv_module_writes(rows):
    frame = pd.DataFrame(rows, columns=["a", "b"], dtype=object)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["a", "b"])
    from exchange.cells import protect_cell
    writer.writerows([[protect_cell(a), protect_cell(b)] for a, b in rows])
    assert csv_header(["a", "b"]) + csv_rows(frame, {"a": TEXT, "b": TEXT}) == buffer.getvalue()


def test_codings_are_the_catalogues_code_lists():
    from models.catalog import RELATEDNESS
    from models.ctcae import CTCAE_TERM_NAMES

    assert coding("yes, no").labels == {1: "yes", 0: "no"}
    assert coding(", ".join(RELATEDNESS)).codes == {code: i for i, code in enumerate(RELATEDNESS, 1)}
    assert coding("; ".join(CTCAE_TERM_NAMES)).labels[1] == CTCAE_TERM_NAMES[0]  # terms hold commas: "; "
    assert coding("0, 1, 2, 3").codes is None and coding("0, 1, 2, 3").labels == SITE_SCORE_LABELS
    for free in ("free text", "YYYY-MM-DD", "0-3", "four digits, not in the future", ""):
        assert coding(free) is None


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(-1e15, 1e15)), max_size=30))
def test_whole_numbers_are_written_as_each_value_alone(values):
    """The small-range shortcut for whole numbers writes what formatting each value on its own writes."""
    from exchange.cells import format_cells

    column = pd.Series([float("nan") if v is None else float(v) for v in values], dtype="float64")
    expected = ["" if v is None else str(int(float(v))) for v in values]
    assert format_cells(column, INT) == expected


@pytest.mark.parametrize("fmt", ["sas", "spss", "stata"])
def test_a_date_variable_is_a_date_even_when_every_value_is_blank(engine, tmp_path, fmt, monkeypatch):
    """A date column is the package's date type whatever its values: summary.anchor_date without --anchor-drug is
    blank for every patient, and an empty table has no value at all; both were written as a text variable (SPSS A1,
    Stata %-9s, SAS $1), so a statistician's script got a string where the other exports give a date."""
    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    import_bundle(engine, EXAMPLE, actor="t")
    export_bundle(engine, tmp_path / fmt, fmt=fmt, actor="t")
    suffix = FORMATS[fmt].suffix
    names = {(r["file"], r["column"]): r["name_in_file"] for r in read_csv(tmp_path / fmt / "dictionary.csv")}
    date_format = {"sas": "DATE9", "spss": "DATE11", "stata": "%td"}[fmt]
    for name in FILE_ORDER:
        dataset = name.removesuffix(".csv") + suffix
        data, meta = READERS[fmt](tmp_path / fmt / dataset)
        for column, kind in FILE_KINDS[name].items():
            if kind == DATE and (dataset, column) in names:
                short = names[(dataset, column)]
                assert meta.original_variable_types[short] == date_format, (name, column)
                assert meta.readstat_variable_types[short] == "double", (name, column)
    summary, _ = READERS[fmt](tmp_path / fmt / ("summary" + suffix))
    assert summary[names[("summary" + suffix, "anchor_date")]].isna().all()
    assert summary[names[("summary" + suffix, "baseline_date")]].map(lambda v: isinstance(v, date)).all()
