"""De-identified export: keyed pseudonyms, per-patient date shifts keeping intervals, identifying text
removed, raters renamed, age at baseline capped at 90, a generated key kept when SKINTRACK_SECRET is unset."""

from __future__ import annotations

import csv
import hashlib
import hmac
from datetime import date

from demo import generate_registry, load_registry
from exchange import export_bundle, import_bundle
from exchange.deid import date_offset, installation_secret
from tests.exchange.conftest import EXAMPLE, write_bundle


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def all_text(folder) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.iterdir()))


def test_no_identifying_input_survives_and_intervals_are_kept(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", "test-secret")
    registry = generate_registry(8)
    load_registry(sqlite_engine, registry, actor="t")
    import_bundle(sqlite_engine, EXAMPLE, actor="t")
    export_bundle(sqlite_engine, tmp_path / "plain", actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    text = all_text(tmp_path / "deid")
    identifying = {p["patient_id"] for p in registry.patients} | {"EX-01", "EX-02", "EX-03", "Example One",
                                                                   "000101", "haemodialysis", "periorbital", "dr a"}
    identifying |= {p[c] for p in registry.patients for c in ("name", "mrn", "notes") if p[c]}
    identifying |= {e["description"] for e in registry.events if e["description"]}
    identifying |= {s["rater"] for s in registry.skin_scores if s["rater"]}
    identifying |= {m["rater"] for m in registry.measurements if m["rater"]}
    for value in identifying:
        assert value not in text, value
    header = (tmp_path / "deid" / "patients.csv").read_text().splitlines()[0].split(",")
    assert header == ["patient_id", "diagnosis", "sex", "age_at_baseline", "diagnosis_date"]
    assert "description" not in (tmp_path / "deid" / "events.csv").read_text().splitlines()[0]
    raters = {r["rater"] for r in read(tmp_path / "deid" / "skin_scores.csv")}
    assert raters <= {""} | {f"rater-{i}" for i in range(1, 20)} and "rater-1" in raters

    expected = {pid: "S-" + hmac.new(b"test-secret", pid.encode(), hashlib.sha256).digest()[:5].hex()
                for pid in {r["patient_id"] for r in read(tmp_path / "plain" / "patients.csv")}}
    assert {r["patient_id"] for r in read(tmp_path / "deid" / "patients.csv")} == set(expected.values())
    plain = read(tmp_path / "plain" / "skin_scores.csv")
    shifted = {(r["patient_id"], r["total"], i) for i, r in enumerate([])}  # noqa: F841 (readability)
    by_patient_plain, by_patient_deid = {}, {}
    for row in plain:
        by_patient_plain.setdefault(expected[row["patient_id"]], []).append(date.fromisoformat(row["visit_date"]))
    for row in read(tmp_path / "deid" / "skin_scores.csv"):
        by_patient_deid.setdefault(row["patient_id"], []).append(date.fromisoformat(row["visit_date"]))
    for pid, days in by_patient_plain.items():
        other = sorted(by_patient_deid[pid])
        offsets = {(b - a).days for a, b in zip(sorted(days), other, strict=True)}
        assert len(offsets) == 1 and 1 <= abs(offsets.pop()) <= 180
    # the summary keeps every interval-derived number
    plain_summary = {expected[r["patient_id"]]: r for r in read(tmp_path / "plain" / "summary.csv")}
    for row in read(tmp_path / "deid" / "summary.csv"):
        twin = plain_summary[row["patient_id"]]
        assert (row["change"], row["n_visits"], row["improved"]) == (twin["change"], twin["n_visits"],
                                                                     twin["improved"])
    # stable across exports
    export_bundle(sqlite_engine, tmp_path / "deid2", deidentify=True, actor="t")
    assert all_text(tmp_path / "deid") == all_text(tmp_path / "deid2")


def test_age_at_baseline_capped_and_anchored(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", "k")
    folder = write_bundle(tmp_path / "b", {
        "patients.csv": "patient_id,diagnosis,birth_year\nOLD,SSc,1920\nYOUNG,SSc,1990\nNONE,SSc,\n",
        "skin_scores.csv": "patient_id,visit_date,total\nOLD,2020-05-01,10\nYOUNG,2015-06-01,8\nYOUNG,2021-01-01,7\n",
        "medications.csv": "patient_id,drug,dose,dose_unit,frequency,start_date\nYOUNG,imatinib,400,mg,daily,"
                           "2021-02-01\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "d", deidentify=True, anchor_drug="imatinib", actor="t")
    ages = {r["patient_id"]: r["age_at_baseline"] for r in read(tmp_path / "d" / "patients.csv")}
    from exchange.deid import pseudonym
    assert ages[pseudonym(b"k", "OLD")] == ""  # anchored: OLD never took imatinib, so no baseline
    assert ages[pseudonym(b"k", "YOUNG")] == "31"  # anchored baseline 2021-01-01
    export_bundle(sqlite_engine, tmp_path / "p", deidentify=True, actor="t")
    ages = {r["patient_id"]: r["age_at_baseline"] for r in read(tmp_path / "p" / "patients.csv")}
    assert ages[pseudonym(b"k", "OLD")] == "90" and ages[pseudonym(b"k", "YOUNG")] == "25"
    assert ages[pseudonym(b"k", "NONE")] == ""


def test_generated_secret_is_kept(sqlite_engine, monkeypatch):
    monkeypatch.delenv("SKINTRACK_SECRET", raising=False)
    first = installation_secret(sqlite_engine)
    assert len(first) == 64 and installation_secret(sqlite_engine) == first
    monkeypatch.setenv("SKINTRACK_SECRET", "other")
    assert installation_secret(sqlite_engine) == b"other"


def test_offsets_never_zero_and_never_into_the_future():
    offsets = [date_offset(b"s", f"P{i}") for i in range(2000)]
    assert 0 not in offsets and min(offsets) >= -180 and max(offsets) <= 180
    assert any(o > 0 for o in offsets) and any(o < 0 for o in offsets)
    today = date(2026, 1, 1)
    for i in range(200):
        assert date_offset(b"s", f"P{i}", latest=today, today=today) < 0
