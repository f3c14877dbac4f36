"""Properties: any valid generated bundle round-trips; arbitrary bytes in a CSV never crash the importer."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import BundleRejected, export_bundle, import_bundle
from models.catalog import DIAGNOSES, SITE_CODES

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
