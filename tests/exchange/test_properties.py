"""Properties: any valid generated bundle round-trips; arbitrary bytes in a CSV never crash the importer."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from exchange import BundleRejected, export_bundle, import_bundle
from exchange.exporter import SHEET_ORDER
from exchange.spec import FILES_BY_NAME
from models.catalog import (
    DIAGNOSES,
    DOSE_UNITS,
    EVENT_KINDS,
    MEASURES,
    ROUTES,
    SITE_CODES,
    dose_check,
    join_sites,
    split_sites,
)

FIRST = "=+-@'AZaz09"
ID_CHARS = st.text(alphabet=st.sampled_from("ABCxyz019-_.'=+@ "), min_size=0, max_size=10)
NOTES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    ",\"\n'=+-@"), max_size=30).map(str.strip)


@st.composite
def bundles(draw):
    n = draw(st.integers(1, 4))
    ids = draw(st.lists(st.tuples(st.sampled_from(FIRST), ID_CHARS).map(lambda t: (t[0] + t[1]).rstrip()),
                        min_size=n, max_size=n, unique=True))
    patients, scores = [], []
    for pid in ids:
        patients.append({"patient_id": pid, "diagnosis": draw(st.sampled_from(list(DIAGNOSES))),
                         "birth_year": draw(st.integers(1930, 2000)), "notes": draw(NOTES)})
        days = draw(st.lists(st.integers(0, 3000), max_size=4, unique=True))
        for day in days:
            visit = (date(2010, 1, 1) + timedelta(days=day)).isoformat()
            rater = draw(st.sampled_from(["", "dr a", "=dr b"]))
            if draw(st.booleans()):
                row = {c: draw(st.integers(0, 3)) for c in SITE_CODES}
                row["total"] = ""
            else:
                row = {c: "" for c in SITE_CODES}
                row["total"] = draw(st.integers(0, 102)) / 2
            scores.append({"patient_id": pid, "visit_date": visit, "rater": rater, **row})
    return patients, scores


def _risky(value: str) -> bool:
    """The contract's rule: starts with = + - @, or with ' followed by one of them."""
    return bool(value) and (value[0] in "=+-@" or (value[0] == "'" and value[1:2] != "" and value[1] in "=+-@"))


def to_csv(rows, columns) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (("'" + v) if isinstance(v, str) and _risky(v) else v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bundle=bundles())
def test_valid_bundles_round_trip(fresh_sqlite, tmp_path_factory, bundle):
    patients, scores = bundle
    files = {"patients.csv": to_csv(patients, ["patient_id", "diagnosis", "birth_year", "notes"]),
             "skin_scores.csv": to_csv(scores, ["patient_id", "visit_date", "rater", *SITE_CODES, "total"])}
    first, second = fresh_sqlite("a"), fresh_sqlite("b")
    report = import_bundle(first, files, actor="t")
    assert report.created["patients.csv"] == len(patients)
    out = tmp_path_factory.mktemp("out")
    export_bundle(first, out / "one", actor="t")
    import_bundle(second, out / "one", actor="t")
    export_bundle(second, out / "two", actor="t")
    for name in ("patients.csv", "skin_scores.csv", "visits.csv", "summary.csv", "windows.csv"):
        assert (out / "one" / name).read_bytes() == (out / "two" / name).read_bytes()
    with open(out / "one" / "patients.csv", newline="", encoding="utf-8") as handle:
        exported = sorted((r["patient_id"], r["notes"]) for r in csv.DictReader(handle))
    protect = {p: ("'" + p if _risky(p) else p) for p in
               [x["patient_id"] for x in patients] + [x["notes"] for x in patients]}
    assert exported == sorted((protect[p["patient_id"]], protect[p["notes"]]) for p in patients)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), name=st.sampled_from(["patients.csv", "skin_scores.csv", "events.csv"]))
def test_arbitrary_bytes_never_crash(sqlite_engine, data, name):
    try:
        import_bundle(sqlite_engine, {name: data}, actor="t", dry_run=True)
    except BundleRejected as rejected:
        assert rejected.problems and all(p.startswith(f"{name}:") for p in rejected.problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=200))
def test_arbitrary_text_after_a_valid_header_never_crashes(sqlite_engine, body):
    data = ("patient_id,diagnosis,sex,birth_year,notes\n" + body).encode("utf-8", "surrogatepass")
    try:
        import_bundle(sqlite_engine, {"patients.csv": data}, actor="t", dry_run=True)
    except BundleRejected as rejected:
        assert all(p.count(":") >= 3 for p in rejected.problems)


# --- all five files --------------------------------------------------------------------------------

DRUGS = ("imatinib", "methotrexate", "=odd drug")
FREQUENCIES = ("daily", "twice daily", "weekly", "every 4 weeks", "once", "3 per week")
TEXTS = NOTES | st.sampled_from(["-5 mg", "@home", "+x", "'=y"])
ONE_LINE = TEXTS.map(lambda text: text.replace("\n", " "))  # a name takes one line (models.validation.MULTILINE)


def _day(offset: int) -> str:
    return (date(2010, 1, 1) + timedelta(days=offset)).isoformat()


@st.composite
def full_bundles(draw):
    """A valid bundle holding every file: per-site, incomplete and total-only scores, sided and unsided measures,
    consecutive dose periods, every kind of event; free text everywhere it is allowed."""
    n = draw(st.integers(1, 3))
    ids = draw(st.lists(st.tuples(st.sampled_from(FIRST), ID_CHARS).map(lambda t: (t[0] + t[1]).rstrip()),
                        min_size=n, max_size=n, unique=True))
    files = {"patients.csv": [], "skin_scores.csv": [], "measurements.csv": [], "medications.csv": [],
             "events.csv": []}
    for pid in ids:
        files["patients.csv"].append({
            "patient_id": pid, "diagnosis": draw(st.sampled_from(list(DIAGNOSES))),
            "sex": draw(st.sampled_from(["", "F", "M", "X", "U"])), "birth_year": draw(st.integers(1930, 2000)),
            "diagnosis_date": draw(st.sampled_from(["", _day(draw(st.integers(0, 3000)))])),
            "name": draw(ONE_LINE), "mrn": draw(st.sampled_from(["", "000123", "-7"])), "notes": draw(TEXTS)})
        for day in draw(st.lists(st.integers(0, 3000), max_size=3, unique=True)):
            for rater in draw(st.lists(st.sampled_from(["", "dr a", "=dr b"]), min_size=1, max_size=2, unique=True)):
                shape = draw(st.sampled_from(["complete", "incomplete", "total"]))
                row = {c: draw(st.integers(0, 3)) for c in SITE_CODES}
                row["total"] = ""
                if shape == "incomplete":
                    for code in draw(st.lists(st.sampled_from(SITE_CODES), min_size=1, max_size=16, unique=True)):
                        row[code] = ""
                elif shape == "total":
                    row = {**dict.fromkeys(SITE_CODES, ""), "total": draw(st.integers(0, 204)) / 4}
                files["skin_scores.csv"].append({"patient_id": pid, "visit_date": _day(day), "rater": rater, **row})
        for day, measure, rater in draw(st.lists(st.tuples(st.integers(0, 3000), st.sampled_from(MEASURES),
                                                           st.sampled_from(["", "dr a"])),
                                                 max_size=3, unique_by=lambda t: (t[0], t[1].code, t[2]))):
            value = draw(st.integers(int(measure.low * 100), int(measure.high * 100))) / 100
            if measure.whole_numbers:
                value = float(int(value))
            for side in (["R", "L"] if measure.sided else [""]):
                files["measurements.csv"].append({"patient_id": pid, "date": _day(day), "measure": measure.code,
                                                  "side": side, "value": value, "unit": draw(st.sampled_from(
                                                      ["", measure.unit])), "rater": rater})
        for drug in draw(st.lists(st.sampled_from(DRUGS), max_size=2, unique=True)):
            starts = sorted(draw(st.lists(st.integers(0, 3000), min_size=1, max_size=3, unique=True)))
            for i, start in enumerate(starts):
                last = i == len(starts) - 1
                end = "" if last and draw(st.booleans()) else _day(
                    (starts[i + 1] - 1) if not last else start + draw(st.integers(0, 100)))
                dose, unit = draw(st.sampled_from([0.5, 7.5, 200, 400, 1000])), draw(st.sampled_from(DOSE_UNITS))
                if (dose_check(drug, dose, unit) or ("",))[0] == "refuse":  # valid bundles: plausible doses
                    dose, unit = 5, "mg/kg"
                files["medications.csv"].append({
                    "patient_id": pid, "drug": drug, "dose": dose,
                    "dose_unit": unit, "frequency": draw(st.sampled_from(FREQUENCIES)),
                    "route": draw(st.sampled_from(["", *ROUTES])), "start_date": _day(start), "end_date": end,
                    "reason": draw(TEXTS)})
        for day in draw(st.lists(st.integers(0, 3000), max_size=3, unique=True)):
            kind = draw(st.sampled_from(list(EVENT_KINDS)))
            event = {"patient_id": pid, "date": _day(day), "kind": kind, "description": draw(TEXTS),
                     "sites": "", "agent": draw(st.sampled_from(["", "gadodiamide"])), "dose": "", "dose_unit": "",
                     "grade": "", "serious": "", "end_date": ""}
            if kind == "steroid_injection":
                event["sites"] = ";".join(draw(st.lists(st.sampled_from(SITE_CODES), min_size=1, max_size=3,
                                                        unique=True)))
                event["dose"], event["dose_unit"] = 40, "mg"
            if kind == "adverse_event":
                event["grade"], event["serious"] = draw(st.integers(1, 5)), draw(st.sampled_from(["yes", "no"]))
                event["end_date"] = draw(st.sampled_from(["", _day(day + 30)]))
            files["events.csv"].append(event)
    return files


def _as_exported(column: str, value) -> str:
    """A generated key cell as the export writes it: sites in catalogue order, risky text behind a `'`."""
    if column == "sites":
        return join_sites(split_sites(value))
    return "'" + value if _risky(value) else value


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(bundle=full_bundles())
def test_valid_bundles_of_all_five_files_round_trip(fresh_sqlite, tmp_path_factory, bundle):
    """Any valid bundle imports with one record per row, and export -> import into an empty database -> export
    gives identical files (derived files included)."""
    files = {name: to_csv(rows, list(spec.columns)) for name, rows in bundle.items()
             for spec in [FILES_BY_NAME[name]]}
    first, second = fresh_sqlite("a"), fresh_sqlite("b")
    report = import_bundle(first, files, actor="t")
    assert report.created == {name: len(rows) for name, rows in bundle.items()}
    out = tmp_path_factory.mktemp("out")
    export_bundle(first, out / "one", actor="t")
    for name, rows in bundle.items():  # the same records come out, text protected as the contract says
        key = FILES_BY_NAME[name].key
        with open(out / "one" / name, newline="", encoding="utf-8") as handle:
            exported = sorted(tuple(r[c] for c in key) for r in csv.DictReader(handle))
        assert exported == sorted(tuple(_as_exported(c, r[c]) for c in key) for r in rows), name
    assert import_bundle(second, out / "one", actor="t").created == report.created
    export_bundle(second, out / "two", actor="t")
    for name in SHEET_ORDER:
        assert (out / "one" / name).read_bytes() == (out / "two" / name).read_bytes(), name


# --- arbitrary input through the command line --------------------------------------------------------

REPORT_LINE = re.compile(r"^[^:\n]+:\d+: .+?: .")  # a column name may hold a colon


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), name=st.sampled_from([*FILES_BY_NAME, "bundle.zip"]))
def test_arbitrary_bytes_through_the_cli_give_a_report_and_exit_1(sqlite_url, monkeypatch, capsys, data, name):
    """"arbitrary bytes in a CSV never crash the importer (a report, exit 1)": `python cli.py import` of a folder
    holding one file of random bytes (or of a random .zip) exits 1 with `file:line: column: reason` lines, or 0 if
    the bytes happen to be a valid bundle."""
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / name
        if name.endswith(".zip"):
            target.write_bytes(data)
        else:
            target = Path(folder) / "bundle"
            target.mkdir()
            (target / name).write_bytes(data)
        code = cli.main(["import", str(target), "--dry-run"])
    err = capsys.readouterr().err.splitlines()
    assert code in (0, 1)
    if code == 1:
        assert err[-1].endswith("nothing was written") and err[:-1]
        assert all(REPORT_LINE.match(line) for line in err[:-1]), err


CELLS = st.sampled_from(["", "P1", "NOPE", "2020-01-01", "2999-01-01", "2020-02-30", "1", "3", "4", "-1", "0.5", "51",
                         "1e9", "nan", "inf", "R", "L", "X", "daily", "mg", "imatinib", "haq_di", "grip_strength",
                         "adverse_event", "steroid_injection", "hand_r;hand_l", "yes", "'=x", '"', "\n", " 2 ", "２",
                         "dcSSc"]) | st.text(max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(list(FILES_BY_NAME)), data=st.data())
def test_arbitrary_cells_under_a_valid_header_never_crash(sqlite_engine, name, data):
    """Random cells (raw, so quoting may break too) under the full header of each file, beside a valid patient: a
    report of `file:line: column: reason` problems or an import, never an exception (fast paths included)."""
    columns = FILES_BY_NAME[name].columns
    rows = data.draw(st.lists(st.lists(CELLS, min_size=len(columns) - 1, max_size=len(columns) + 1), max_size=5))
    body = "".join(",".join(row) + "\n" for row in rows)
    files = {name: ",".join(columns) + "\n" + body}
    if name != "patients.csv":
        files["patients.csv"] = "patient_id,diagnosis\nP1,dcSSc\n"
    try:
        import_bundle(sqlite_engine, {k: v.encode("utf-8", "surrogatepass") for k, v in files.items()}, actor="t",
                      dry_run=True)
    except BundleRejected as rejected:
        assert rejected.problems and all(REPORT_LINE.match(p) and p.file in files for p in rejected.problems)
