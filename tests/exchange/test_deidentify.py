"""De-identified export: keyed pseudonyms, per-patient date shifts keeping intervals, identifying text
removed (the medication reason too; the adverse-event term kept), raters renamed in order of appearance, age at
baseline capped at 90, a generated key kept when SKINTRACK_SECRET is unset, the endpoint files treated alike."""

from __future__ import annotations

import csv
import hashlib
import hmac
from datetime import date, timedelta

from demo import DEMO_CENTRES, generate_registry, load_registry
from exchange import export_bundle, import_bundle
from exchange.deid import Deidentifier, date_offset, installation_secret, must_deidentify
from tests.exchange.conftest import ENDPOINTS_EXAMPLE, EXAMPLE, write_bundle


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def all_text(folder) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.iterdir()))


def test_no_identifying_input_survives_and_intervals_are_kept(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", "test-secret")
    registry = generate_registry(8, centres=DEMO_CENTRES[:1])  # one centre: the example bundle names none
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
    assert header == ["patient_id", "centre", "diagnosis", "sex", "age_at_baseline", "diagnosis_date"]
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


def _by_patient(rows):
    grouped = {}
    for row in rows:
        grouped.setdefault(row["patient_id"], []).append(row)
    return grouped


def test_the_endpoint_files_are_deidentified_like_every_other(sqlite_engine, tmp_path, monkeypatch):
    """window_values, response and activity (and summary) carry pseudonyms and every date moved by the patient's
    own offset, the same as in skin_scores.csv; every other cell is the identified export's."""
    monkeypatch.setenv("SKINTRACK_SECRET", "k")
    import_bundle(sqlite_engine, ENDPOINTS_EXAMPLE, actor="t")
    export_bundle(sqlite_engine, tmp_path / "plain", actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    from exchange.deid import pseudonym

    names = {pid: pseudonym(b"k", pid) for pid in ("X01", "X02", "X03")}
    plain_scores = _by_patient(read(tmp_path / "plain" / "skin_scores.csv"))
    deid_scores = _by_patient(read(tmp_path / "deid" / "skin_scores.csv"))
    offsets = {pid: (date.fromisoformat(deid_scores[names[pid]][0]["visit_date"])
                     - date.fromisoformat(plain_scores[pid][0]["visit_date"])).days for pid in names}
    assert all(1 <= abs(o) <= 180 for o in offsets.values())
    dates = {"window_values.csv": ("visit_date",), "response.csv": ("baseline_date", "followup_date"),
             "activity.csv": ("visit_date",), "summary.csv": ("anchor_date", "baseline_date", "latest_date")}
    for name, columns in dates.items():
        plain = _by_patient(read(tmp_path / "plain" / name))
        deid = _by_patient(read(tmp_path / "deid" / name))
        assert set(deid) == {names[p] for p in plain}, name
        for pid, rows in plain.items():
            for before, after in zip(rows, deid[names[pid]], strict=True):
                for column, value in before.items():
                    if column == "patient_id":
                        assert after[column] == names[pid]
                    elif column in columns and value:
                        shifted = date.fromisoformat(value) + timedelta(days=offsets[pid])
                        assert after[column] == shifted.isoformat(), (name, column)
                    else:
                        assert after[column] == value, (name, column)
    # the follow-up of X02 comes after its organ event in both: CRISS is decided the same way
    assert {r["step1_event"] for r in read(tmp_path / "deid" / "response.csv")} == {"", "ild_progression"}


def test_medication_reason_removed_and_adverse_event_term_kept(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", "k")
    import_bundle(sqlite_engine, ENDPOINTS_EXAMPLE, actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    header = (tmp_path / "deid" / "medications.csv").read_text().splitlines()[0].split(",")
    assert header == ["patient_id", "drug", "dose", "dose_unit", "frequency", "route", "start_date", "end_date"]
    assert "dose raised" not in all_text(tmp_path / "deid")
    keys = Deidentifier(secret=b"k", names={})
    # the CTCAE term is a catalogue term, not free text: it stays (EXCHANGE.md); the description goes
    columns = ["patient_id", "date", "kind", "description", "term", "suspected_drug", "relatedness"]
    assert keys.columns("events.csv", columns) == ["patient_id", "date", "kind", "term", "suspected_drug",
                                                   "relatedness"]
    assert keys.columns("patients.csv", ["patient_id", "birth_year", "age_at_baseline", "name", "mrn", "notes"]) \
        == ["patient_id", "age_at_baseline"]


def test_raters_are_numbered_by_their_first_appearance(sqlite_engine, tmp_path, monkeypatch):
    """rater-N follows the de-identified export: patients in pseudonym order, within a patient skin scores before
    measurements, then by date — decided before the export starts, so every chunk numbers alike."""
    monkeypatch.setenv("SKINTRACK_SECRET", "k")
    from exchange.deid import pseudonym

    first, second = sorted(["R1", "R2"], key=lambda p: pseudonym(b"k", p))
    folder = write_bundle(tmp_path / "b", {
        "patients.csv": f"patient_id,diagnosis\n{first},SSc\n{second},SSc\n",
        "skin_scores.csv": f"patient_id,visit_date,rater,total\n{first},2020-02-01,Amy,10\n{first},2020-01-01,Zed,11\n"
                           f"{second},2019-01-01,Cat,12\n{second},2019-02-01,Amy,13\n",
        "measurements.csv": f"patient_id,date,measure,value,rater\n{first},2019-06-01,haq_di,1,Bob\n"
                            f"{second},2019-01-01,haq_di,1,Dan\n"})
    import_bundle(sqlite_engine, folder, actor="t")
    export_bundle(sqlite_engine, tmp_path / "deid", deidentify=True, actor="t")
    scores = [(r["patient_id"], r["visit_date"], r["total"], r["rater"]) for r in
              read(tmp_path / "deid" / "skin_scores.csv")]
    by_total = {(p, t): rater for p, _, t, rater in scores}
    a, b = pseudonym(b"k", first), pseudonym(b"k", second)
    assert by_total[(a, "11")] == "rater-1"  # Zed: the first patient's first visit
    assert by_total[(a, "10")] == "rater-2"  # Amy
    assert {r["rater"] for r in read(tmp_path / "deid" / "measurements.csv") if r["patient_id"] == a} == {"rater-3"}
    assert (by_total[(b, "12")], by_total[(b, "13")]) == ("rater-4", "rater-2")  # Cat is new, Amy is known
    assert {r["rater"] for r in read(tmp_path / "deid" / "measurements.csv") if r["patient_id"] == b} == {"rater-5"}


def test_a_widget_cannot_lift_the_deidentification():
    assert must_deidentify(False, may_identify=False) is True
    assert must_deidentify(True, may_identify=True) is True
    assert must_deidentify(False, may_identify=True) is False


def test_a_registry_without_raters_is_deidentified_without_a_pandas_warning(engine, tmp_path, monkeypatch):
    """Raters all blank: the rater numbers mapped to float64 NaN, filled with text, which pandas 3 warns about
    (Pandas4Warning) and pandas 4 refuses: the de-identified export would fail. Blank stays blank, quietly."""
    import warnings

    monkeypatch.setenv("SKINTRACK_SECRET", "no-raters")
    bundle = write_bundle(tmp_path / "b", {
        "patients.csv": "patient_id,diagnosis\nNR-1,dcSSc\n",
        "skin_scores.csv": "patient_id,visit_date,total\nNR-1,2024-01-05,12\nNR-1,2024-07-05,10\n",
        "measurements.csv": "patient_id,date,measure,value\nNR-1,2024-01-05,fvc_pct,80\n"})
    import_bundle(engine, bundle, actor="t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_bundle(engine, tmp_path / "d", deidentify=True, actor="t")
    for name in ("skin_scores.csv", "measurements.csv"):
        rows = list(csv.DictReader((tmp_path / "d" / name).read_text(encoding="utf-8").splitlines()))
        assert rows and {row["rater"] for row in rows} == {""}, name
