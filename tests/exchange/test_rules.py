"""One failing bundle per rule of EXCHANGE.md: `python cli.py import` exits 1, the report names
`file:line: column`, and the database is unchanged. The database holds the example bundle first."""

from __future__ import annotations

import io
import zipfile

import pytest

import cli
from exchange import import_bundle
from models.catalog import SITE_CODES
from tests.exchange.conftest import EXAMPLE, counts, snapshot, write_bundle

P = "patient_id,diagnosis,sex,birth_year,diagnosis_date,name,mrn,notes\n"
S = "patient_id,visit_date,rater," + ",".join(SITE_CODES) + ",total\n"
M = "patient_id,date,measure,side,value,unit,rater\n"
D = "patient_id,drug,dose,dose_unit,frequency,route,start_date,end_date,reason\n"
E = "patient_id,date,kind,description,sites,agent,dose,dose_unit,grade,serious,end_date\n"


def sites(*values, total=""):
    cells = [str(v) for v in values] + [""] * (17 - len(values))
    return ",".join(cells) + f",{total}"


ALL2 = sites(*[2] * 17)

CASES = {
    # the bundle and its header
    "unknown column": ({"patients.csv": "patient_id,diagnosis,nmae\nN1,dcSSc,x\n"}, "patients.csv:1: nmae:"),
    "missing required column": ({"skin_scores.csv": "patient_id,total\nEX-01,3\n"}, "skin_scores.csv:1: visit_date:"),
    "column twice": ({"patients.csv": "patient_id,diagnosis,diagnosis\nN1,dcSSc,dcSSc\n"},
                     "patients.csv:1: diagnosis:"),
    "no header": ({"patients.csv": ""}, "patients.csv:1: file:"),
    "unknown file": ({"notes.txt": "hello"}, "notes.txt:1: file:"),
    "not UTF-8": ({"patients.csv": b"patient_id,diagnosis\nN1,dcSSc\nN\xe9,dcSSc\n"}, "patients.csv:3: patient_id:"),
    "not UTF-8 after a quoted cell over lines (record number, not text line)": (
        {"patients.csv": b'patient_id,diagnosis,notes\nN1,dcSSc,"two\nlines"\nN2,dcSSc,caf\xe9\n'},
        "patients.csv:3: notes:"),
    "not UTF-8 in the header": ({"patients.csv": b"patient_id,diagn\xf6sis\nN1,dcSSc\n"}, "patients.csv:1: file:"),
    "blank column name (a trailing comma)": ({"patients.csv": "patient_id,diagnosis,\nN1,dcSSc,\n"},
                                             "patients.csv:1: (blank):"),
    "required column missing (patients)": ({"patients.csv": "patient_id,sex\nN1,F\n"}, "patients.csv:1: diagnosis:"),
    "too many cells": ({"patients.csv": "patient_id,diagnosis\nN1,dcSSc,extra\n"}, "patients.csv:2: diagnosis:"),
    "column name with a line break (the report stays one line per problem)": (
        {"patients.csv": 'patient_id,diagnosis,"na\nme"\nN1,dcSSc,x\n'}, "patients.csv:1: na\\nme: unknown column"),
    "a blank line is a row of the spreadsheet too": ({"patients.csv": P + "N1,dcSSc,,,,,,\n\nN2,bad,,,,,,\n"},
                                                     "patients.csv:4: diagnosis:"),
    "CRLF line ends": ({"patients.csv": (P + "N1,dcSSc,,,,,,\nN2,bad,,,,,,\n").replace("\n", "\r\n")},
                       "patients.csv:3: diagnosis:"),
    "unclosed quote": ({"patients.csv": 'patient_id,diagnosis\nN1,"dcSSc\n'}, "patients.csv:2: file:"),
    "cell count": ({"patients.csv": P + "N1,dcSSc\n"}, "patients.csv:2: diagnosis:"),
    "quoted cell over lines counts once": ({"patients.csv": P + 'N1,dcSSc,F,1970,,,,"two\nlines"\nN2,bad,F,1970,,,,\n'},
                                           "patients.csv:3: diagnosis:"),
    # dates
    "date in the future": ({"skin_scores.csv": S + f"EX-01,2999-01-01,,{ALL2}\n"}, "skin_scores.csv:2: visit_date:"),
    "date not ISO": ({"skin_scores.csv": S + f"EX-01,10/01/2018,,{ALL2}\n"}, "skin_scores.csv:2: visit_date:"),
    "visit before birth year": ({"skin_scores.csv": S + f"EX-01,1960-01-01,,{ALL2}\n"},
                                "skin_scores.csv:2: visit_date:"),
    "visit before the birth year given in the bundle": (
        {"patients.csv": P + "N1,dcSSc,F,1990,,,,\n", "skin_scores.csv": S + f"N1,1985-05-01,,{ALL2}\n"},
        "skin_scores.csv:2: visit_date:"),
    "measurement before birth year": ({"measurements.csv": M + "EX-01,1960-01-01,fvc_pct,,70,,\n"},
                                      "measurements.csv:2: date:"),
    "impossible date": ({"skin_scores.csv": S + f"EX-03,2019-02-29,,{ALL2}\n"}, "skin_scores.csv:2: visit_date:"),
    "diagnosis_date in the future": ({"patients.csv": P + "N1,dcSSc,F,1970,2999-01-01,,,\n"},
                                     "patients.csv:2: diagnosis_date:"),
    "measurement date in the future": ({"measurements.csv": M + "EX-01,2999-01-01,fvc_pct,,70,,\n"},
                                       "measurements.csv:2: date:"),
    "start_date in the future": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2999-01-01,,\n"},
                                 "medications.csv:2: start_date:"),
    "end_date in the future": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01,2999-01-01,\n"},
                               "medications.csv:2: end_date:"),
    "event date in the future": ({"events.csv": E + "EX-01,2999-01-01,other,,,,,,,,\n"}, "events.csv:2: date:"),
    "event end_date in the future": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,1,no,2999-01-01\n"},
                                     "events.csv:2: end_date:"),
    "diagnosis_date not ISO": ({"patients.csv": P + "N1,dcSSc,F,1970,01/02/2017,,,\n"},
                               "patients.csv:2: diagnosis_date:"),
    "measurement date not ISO": ({"measurements.csv": M + "EX-01,2018-1-10,fvc_pct,,70,,\n"},
                                 "measurements.csv:2: date:"),
    "start_date with a time": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01T00:00,,\n"},
                               "medications.csv:2: start_date:"),
    "event date without dashes": ({"events.csv": E + "EX-01,20180101,other,,,,,,,,\n"}, "events.csv:2: date:"),
    # patients
    "patient_id too long": ({"patients.csv": P + "X" * 65 + ",dcSSc,,,,,,\n"}, "patients.csv:2: patient_id:"),
    "patient_id blank": ({"patients.csv": P + ",dcSSc,,,,,,\n"}, "patients.csv:2: patient_id:"),
    "diagnosis": ({"patients.csv": P + "N1,scleroderma,,,,,,\n"}, "patients.csv:2: diagnosis:"),
    "sex": ({"patients.csv": P + "N1,dcSSc,female,,,,,\n"}, "patients.csv:2: sex:"),
    "birth_year in the future": ({"patients.csv": P + "N1,dcSSc,F,2999,,,,\n"}, "patients.csv:2: birth_year:"),
    "birth_year not four digits": ({"patients.csv": P + "N1,dcSSc,F,70,,,,\n"}, "patients.csv:2: birth_year:"),
    "patient_id with a control character": ({"patients.csv": P + "N\t1,dcSSc,,,,,,\n"}, "patients.csv:2: patient_id:"),
    "diagnosis blank": ({"patients.csv": P + "N1,,,,,,,\n"}, "patients.csv:2: diagnosis:"),
    "age_at_baseline beside birth_year": ({"patients.csv": "patient_id,diagnosis,birth_year,age_at_baseline\n"
                                                           "N1,dcSSc,1970,50\n"}, "patients.csv:2: age_at_baseline:"),
    "age_at_baseline not a number": ({"patients.csv": "patient_id,diagnosis,age_at_baseline\nN1,dcSSc,old\n"},
                                     "patients.csv:2: age_at_baseline:"),
    "same key, other values": ({"patients.csv": P + "N1,dcSSc,,,,,,\nN1,lcSSc,,,,,,\n"}, "patients.csv:3: diagnosis:"),
    "exists with other values": ({"patients.csv": P + "EX-03,SSc,F,1975,,,,\n"}, "patients.csv:2: diagnosis:"),
    # skin scores
    "unknown patient": ({"skin_scores.csv": S + f"NOPE,2019-01-01,,{ALL2}\n"}, "skin_scores.csv:2: patient_id:"),
    "site score 4": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(4, *[0] * 16) + "\n"},
                     "skin_scores.csv:2: face:"),
    "site score 1.5": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(1.5, *[0] * 16) + "\n"},
                       "skin_scores.csv:2: face:"),
    "total negative": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(total=-1) + "\n"},
                       "skin_scores.csv:2: total:"),
    "site score inf": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites("inf", *[0] * 16) + "\n"},
                       "skin_scores.csv:2: face:"),
    "total nan": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(total="nan") + "\n"},
                  "skin_scores.csv:2: total:"),
    "total not a number": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(total="x") + "\n"},
                           "skin_scores.csv:2: total:"),
    "same key, other values (skin scores)": ({"skin_scores.csv": S + "EX-03,2020-01-01,dr x," + sites(total=5)
                                              + "\nEX-03,2020-01-01,dr x," + sites(total=6) + "\n"},
                                             "skin_scores.csv:3: total:"),
    "site score not a number": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites("x", *[0] * 16) + "\n"},
                                "skin_scores.csv:2: face:"),
    "total not the sum": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(*[1] * 17, total=18) + "\n"},
                          "skin_scores.csv:2: total:"),
    "total with sites missing": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(*[1] * 16, total=16) + "\n"},
                                 "skin_scores.csv:2: total:"),
    "neither sites nor total": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites() + "\n"},
                                "skin_scores.csv:2: total:"),
    "total above 51": ({"skin_scores.csv": S + "EX-03,2020-01-01,," + sites(total=52) + "\n"},
                       "skin_scores.csv:2: total:"),
    "assessment exists with other values": ({"skin_scores.csv": S + "EX-03,2019-11-05,," + sites(total=5) + "\n"},
                                            "skin_scores.csv:2: total:"),
    # measurements
    "measure code": ({"measurements.csv": M + "EX-01,2018-01-10,grip,R,20,,\n"}, "measurements.csv:2: measure:"),
    "sided measure without side": ({"measurements.csv": M + "EX-01,2018-01-10,grip_strength,,20,,\n"},
                                   "measurements.csv:2: side:"),
    "unsided measure with side": ({"measurements.csv": M + "EX-01,2018-01-10,fvc_pct,R,70,,\n"},
                                  "measurements.csv:2: side:"),
    "implausible value": ({"measurements.csv": M + "EX-01,2018-01-10,fvc_pct,,400,,\n"}, "measurements.csv:2: value:"),
    "value missing": ({"measurements.csv": M + "EX-01,2018-01-10,fvc_pct,,,,\n"}, "measurements.csv:2: value:"),
    "side X": ({"measurements.csv": M + "EX-01,2018-01-10,grip_strength,X,20,,\n"}, "measurements.csv:2: side:"),
    "sided measure, side column left out": ({"measurements.csv": "patient_id,date,measure,value\n"
                                                                 "EX-01,2018-01-10,grip_strength,20\n"},
                                            "measurements.csv:2: side:"),
    "value nan": ({"measurements.csv": M + "EX-01,2018-01-10,fvc_pct,,NaN,,\n"}, "measurements.csv:2: value:"),
    "value not a number": ({"measurements.csv": M + "EX-01,2018-01-10,fvc_pct,,seventy,,\n"},
                           "measurements.csv:2: value:"),
    "same key, other values (measurements)": ({"measurements.csv": M + "EX-01,2019-01-10,fvc_pct,,70,,\n"
                                                                       "EX-01,2019-01-10,fvc_pct,,72,,\n"},
                                              "measurements.csv:3: value:"),
    "measurement exists with other values": ({"measurements.csv": M + "EX-02,2017-01-05,ftp_distance,R,5,cm,\n"},
                                             "measurements.csv:2: value:"),
    "wrong unit": ({"measurements.csv": M + "EX-01,2018-01-10,ftp_distance,R,3,mm,\n"}, "measurements.csv:2: unit:"),
    # medications
    "dose 0": ({"medications.csv": D + "EX-03,methotrexate,0,mg,weekly,,2020-01-01,,\n"}, "medications.csv:2: dose:"),
    "dose negative": ({"medications.csv": D + "EX-03,methotrexate,-5,mg,weekly,,2020-01-01,,\n"},
                      "medications.csv:2: dose:"),
    "dose infinite": ({"medications.csv": D + "EX-03,methotrexate,inf,mg,weekly,,2020-01-01,,\n"},
                      "medications.csv:2: dose:"),
    "dose not a number": ({"medications.csv": D + "EX-03,methotrexate,lots,mg,weekly,,2020-01-01,,\n"},
                          "medications.csv:2: dose:"),
    "drug blank": ({"medications.csv": D + "EX-03,,15,mg,weekly,,2020-01-01,,\n"}, "medications.csv:2: drug:"),
    "frequency 0 per day": ({"medications.csv": D + "EX-03,methotrexate,15,mg,0 per day,,2020-01-01,,\n"},
                            "medications.csv:2: frequency:"),
    "overlap with an ongoing period in the bundle": (
        {"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01,,\n"
                                "EX-03,methotrexate,20,mg,weekly,,2020-06-01,,\n"}, "medications.csv:3: start_date:"),
    "overlap with an ongoing period in the database": (
        {"medications.csv": D + "EX-02,imatinib,200,mg,daily,,2020-01-01,,\n"}, "medications.csv:2: start_date:"),
    "same key, other values (medications)": (
        {"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01,,\n"
                                "EX-03,methotrexate,20,mg,weekly,,2020-01-01,,\n"}, "medications.csv:3: dose:"),
    "period exists with other values": ({"medications.csv": D + "EX-01,imatinib,300,mg,daily,oral,2018-01-20,"
                                                                "2018-06-30,\n"}, "medications.csv:2: dose:"),
    "dose unit": ({"medications.csv": D + "EX-03,methotrexate,15,mgs,weekly,,2020-01-01,,\n"},
                  "medications.csv:2: dose_unit:"),
    "frequency": ({"medications.csv": D + "EX-03,methotrexate,15,mg,sometimes,,2020-01-01,,\n"},
                  "medications.csv:2: frequency:"),
    "route": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,mouth,2020-01-01,,\n"},
              "medications.csv:2: route:"),
    "drug not lower case": ({"medications.csv": D + "EX-03,Methotrexate,15,mg,weekly,,2020-01-01,,\n"},
                            "medications.csv:2: drug:"),
    "end before start": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01,2019-12-31,\n"},
                         "medications.csv:2: end_date:"),
    "overlap in the bundle (same day)": ({"medications.csv": D + "EX-03,methotrexate,15,mg,weekly,,2020-01-01,"
                                          "2020-02-01,\nEX-03,methotrexate,20,mg,weekly,,2020-02-01,,\n"},
                                         "medications.csv:3: start_date:"),
    "overlap with the database": ({"medications.csv": D + "EX-01,imatinib,100,mg,daily,,2018-03-01,2018-03-05,\n"},
                                  "medications.csv:2: start_date:"),
    # events
    "event kind": ({"events.csv": E + "EX-01,2018-01-01,surgery,,,,,,,,\n"}, "events.csv:2: kind:"),
    "injection without sites": ({"events.csv": E + "EX-01,2018-01-01,steroid_injection,,,,,,,,\n"},
                                "events.csv:2: sites:"),
    "unknown site code": ({"events.csv": E + "EX-01,2018-01-01,steroid_injection,,hand_r;elbow,,,,,,\n"},
                          "events.csv:2: sites:"),
    "injection, sites column left out": ({"events.csv": "patient_id,date,kind\nEX-01,2018-01-01,steroid_injection\n"},
                                         "events.csv:2: sites:"),
    "serious on a procedure": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,,,,yes,\n"}, "events.csv:2: serious:"),
    "grade 0": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,0,no,\n"}, "events.csv:2: grade:"),
    "grade not a number": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,two,no,\n"},
                           "events.csv:2: grade:"),
    "event dose infinite": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,Infinity,mg,,,\n"},
                            "events.csv:2: dose:"),
    "event dose 0": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,0,mg,,,\n"}, "events.csv:2: dose:"),
    "same key, other values (events)": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,4,mg,,,\n"
                                                           "EX-01,2018-01-01,procedure,,,,5,mg,,,\n"},
                                        "events.csv:3: dose:"),
    "event exists with other values": ({"events.csv": E + "EX-02,2017-05-15,steroid_injection,,hand_r;hand_l;"
                                                          "fingers_r;fingers_l,triamcinolone acetonide,20,mg,,,\n"},
                                       "events.csv:2: dose:"),
    "adverse event without grade": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,,no,\n"},
                                    "events.csv:2: grade:"),
    "adverse event without serious": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,2,,\n"},
                                      "events.csv:2: serious:"),
    "grade 6": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,6,no,\n"}, "events.csv:2: grade:"),
    "serious maybe": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,2,maybe,\n"}, "events.csv:2: serious:"),
    "grade on a procedure": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,,,2,,\n"}, "events.csv:2: grade:"),
    "event end before date": ({"events.csv": E + "EX-01,2018-01-01,adverse_event,,,,,,1,no,2017-01-01\n"},
                              "events.csv:2: end_date:"),
    "event dose unit": ({"events.csv": E + "EX-01,2018-01-01,procedure,,,,4,spoons,,,\n"}, "events.csv:2: dose_unit:"),
}


@pytest.fixture
def example_db(sqlite_url, monkeypatch):
    from db.engine import make_engine

    monkeypatch.setenv("SKINTRACK_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    import_bundle(engine, EXAMPLE, actor="fixture")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_rejects_with_exit_1(example_db, tmp_path, capsys, case):
    files, expected = CASES[case]
    folder = write_bundle(tmp_path / "bad", files)
    before = snapshot(example_db)
    assert cli.main(["import", str(folder)]) == 1
    err = capsys.readouterr().err
    assert expected in err, err
    assert "nothing was written" in err
    assert snapshot(example_db) == before


def test_a_bad_row_among_good_ones_writes_nothing_and_every_problem_is_listed(example_db, tmp_path, capsys):
    folder = write_bundle(tmp_path / "mixed", {
        "patients.csv": P + "N1,dcSSc,F,1970,,,,\nN2,bogus,F,1970,,,,\nN3,lcSSc,Q,1970,,,,\n",
        "skin_scores.csv": S + f"N1,2020-01-01,,{ALL2}\n"})
    before = counts(example_db)
    assert cli.main(["import", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "patients.csv:3: diagnosis:" in err and "patients.csv:4: sex:" in err
    assert counts(example_db) == before


def test_unreadable_zip_is_a_rejection(example_db, tmp_path, capsys):
    bad = tmp_path / "bundle.zip"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert cli.main(["import", str(bad)]) == 1
    assert "bundle.zip:1: file: not a readable zip archive" in capsys.readouterr().err


def test_usage_errors_exit_2(example_db, tmp_path, capsys):
    assert cli.main(["import", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["import"]) == 2
    assert cli.main(["export", str(tmp_path / "o"), "--format", "pdf"]) == 2
    assert cli.main(["export", str(tmp_path / "o"), "--months", "3,x"]) == 2
    assert cli.main(["export", str(tmp_path / "o"), "--patients", "NOPE"]) == 2
    assert not (tmp_path / "o" / "patients.csv").exists()


def test_zip_import_export_and_dry_run_exit_0(example_db, tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "out"), "--patients", "EX-01,EX-02", "--anchor-drug", "imatinib",
                     "--months", "3,12"]) == 0
    assert "exported 2 patients" in capsys.readouterr().out
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bundle/patients.csv", P + "Z1,dcSSc,F,1970,,,,\n")
    (tmp_path / "b.zip").write_bytes(buffer.getvalue())
    before = counts(example_db)
    assert cli.main(["import", str(tmp_path / "b.zip"), "--dry-run"]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert counts(example_db) == before
    assert cli.main(["import", str(tmp_path / "b.zip")]) == 0
    assert counts(example_db)["patient"] == before["patient"] + 1
    assert cli.main(["export", str(tmp_path / "book.xlsx"), "--format", "xlsx", "--deidentify"]) == 0
