"""Frozen inputs and cases for the patient-chart spec equivalence test (test_charts_spec_equivalence.py).

``tests/data/chart_specs/inputs.json`` holds, per patient, the frames the chart screen gets (assessments,
visits, medications, events, measurements, dtypes kept) and the baseline mRSS. They were read through
``db.chart_data.load_chart_data`` from a SQLite file holding the demo registry (``generate_registry(12)``),
the 60-visit benchmark patient (``bench.run.add_bench_patient``) and three hand-made patients
(:func:`write_inputs`). ``expected.json.gz`` holds, per case, the finished Vega-Lite spec (gzipped: about
2.4 MB as text), written by the Altair builders of commit 7c7bfa5 (``chart.to_dict()``), before the
builders wrote dicts (:func:`write_expected`).

Regenerate only for an intended change to a chart, and say so in the commit::

    python -m tests.unit.chart_spec_cases inputs    # reads through db/ and analysis/
    python -m tests.unit.chart_spec_cases expected  # with the builders as they are now
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "chart_specs"
INPUTS = DATA / "inputs.json"
EXPECTED = DATA / "expected.json.gz"
TODAY = pd.Timestamp("2026-07-15")  # after every date of the demo registry (DEMO_END 2026-06-30)
WIDTH = 740  # the chart screen's width
EARLY_EVENT_DAYS = 365  # as pages/chart.py
FRAMES = ("assessments", "visits", "medications", "events", "measurements")


# --- frames as JSON, dtypes kept ------------------------------------------------------------------------


def _cell(value):
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def frame_to_json(frame: pd.DataFrame) -> dict:
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "index": [_cell(i) for i in frame.index],
        "rows": [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)],
    }


def frame_from_json(data: dict) -> pd.DataFrame:
    frame = pd.DataFrame(data["rows"], columns=data["columns"], index=data["index"], dtype=object)
    for column, dtype in zip(data["columns"], data["dtypes"], strict=True):
        if dtype.startswith("datetime64"):
            frame[column] = pd.to_datetime(frame[column]).astype(dtype)
        elif dtype != "object":
            frame[column] = frame[column].astype(dtype)
    return frame


def load_inputs() -> dict[str, dict]:
    """{patient key: {"baseline_mrss": float | None, frame name: DataFrame}}."""
    raw = json.loads(INPUTS.read_text())
    return {key: {"baseline_mrss": patient["baseline_mrss"],
                  **{name: frame_from_json(patient[name]) for name in FRAMES}}
            for key, patient in raw.items()}


# --- the cases ------------------------------------------------------------------------------------------


def _page_views(p: dict, *, axis: str = "date", anchor_drug: str | None = None, whole_history: bool = False
                ) -> Iterator[tuple[str, str, tuple, dict]]:
    """The four charts of the chart screen, built with the arguments pages/chart.py passes."""
    from charts.site_charts import default_sites
    from charts.time_axis import first_start, patient_x_domain

    visits, medications, events, measurements = p["visits"], p["medications"], p["events"], p["measurements"]
    anchor_date = first_start(medications, anchor_drug) if anchor_drug else None
    axis_args = {"axis": axis, "anchor_date": anchor_date,
                 "anchor_label": f"{anchor_drug} start" if anchor_drug else ""}
    care = pd.concat([visits["visit_date"], medications["start_date"], measurements["date"]])
    care_start = care.min() if care.notna().any() else None
    if care_start is not None and not whole_history:
        events = events[~(events["date"] < care_start - pd.Timedelta(days=EARLY_EVENT_DAYS))]
    x_domain = patient_x_domain(assessments=p["assessments"], visits=visits, medications=medications,
                                events=events, measurements=measurements, axis=axis, anchor_date=anchor_date,
                                today=TODAY)
    yield ("timeline", "patient_timeline", (p["assessments"], visits, medications, events),
           {"baseline_mrss": p["baseline_mrss"], "width": WIDTH, "today": TODAY, "x_domain": x_domain,
            **axis_args})
    # Without visits or events the heat map's own axis would end today (the page does not draw it then).
    fixed = {"x_domain": x_domain} if visits.empty and events.empty else {}
    yield "heatmap", "site_heatmap", (visits, events), {"width": WIDTH, **axis_args, **fixed}
    yield ("site_trajectories", "site_trajectories", (visits, events),
           {"sites": default_sites(events)[:6], "width": WIDTH, "x_domain": x_domain, **axis_args})
    yield "measures", "measure_trajectories", (measurements,), {"width": WIDTH, "x_domain": x_domain, **axis_args}


def cases(inputs: dict[str, dict]) -> Iterator[tuple[str, str, tuple, dict]]:
    """(case name, builder name in charts.patient, positional args, keyword args)."""
    from charts.time_axis import patient_x_domain

    views = [
        ("demo_0001", {}),
        ("demo_0001", {"axis": "days", "anchor_drug": "imatinib"}),
        ("demo_0002", {}),
        ("demo_0002", {"whole_history": True}),
        ("demo_0002", {"axis": "days", "anchor_drug": "imatinib"}),
        ("demo_0003", {}),
        ("demo_0003", {"axis": "days", "anchor_drug": "methotrexate"}),
        ("empty", {}),
        ("totals_only", {}),
        ("many_events", {}),
        ("many_events", {"axis": "days", "anchor_drug": "mycophenolate mofetil", "whole_history": True}),
        ("bench_60", {}),
    ]
    for key, options in views:
        mode = "-".join(f"{k}={v}" for k, v in options.items()) or "page"
        for chart, builder, args, kwargs in _page_views(inputs[key], **options):
            yield f"{key}/{mode}/{chart}", builder, args, kwargs
    # The other builders, standalone, with their defaults.
    for key in ("demo_0001", "demo_0002", "empty", "many_events"):
        p = inputs[key]
        # An axis with no dates at all ends today: give the empty patient's builders a fixed domain instead.
        fixed = {"x_domain": patient_x_domain(today=TODAY)} if key == "empty" else {}
        yield f"{key}/mrss_panel", "mrss_panel", (p["assessments"], p["visits"]), {
            "baseline_mrss": p["baseline_mrss"], "events": p["events"], "today": TODAY}
        yield f"{key}/medication_lanes", "medication_lanes", (p["medications"],), {
            "events": p["events"], "today": TODAY}
        yield f"{key}/event_rules", "event_rules", (p["events"],), {**fixed}
        yield f"{key}/event_rules_unlabelled", "event_rules", (p["events"],), {"with_labels": False, **fixed}
        yield f"{key}/site_trajectories_default", "site_trajectories", (p["visits"], p["events"]), {**fixed}
        yield f"{key}/measures_chosen", "measure_trajectories", (p["measurements"],), {
            "measures": ["ftp_distance", "oral_aperture", "grip_strength"], "columns": 3, **fixed}
    p = inputs["demo_0002"]
    yield "demo_0002/one_site", "site_trajectories", (p["visits"], p["events"]), {"sites": ["hand_r"]}
    yield "demo_0002/timeline_no_domain", "patient_timeline", (p["assessments"], p["visits"], p["medications"],
                                                               p["events"]), {
        "baseline_mrss": p["baseline_mrss"], "today": TODAY, "axis": "days", "anchor_date": None}


def build(builder: Callable, args: tuple, kwargs: dict):
    """Call a builder on copies of its frames (a builder must not depend on, or change, its caller's frames)."""
    return builder(*(a.copy() if isinstance(a, pd.DataFrame) else a for a in args), **kwargs)


# --- writing the fixtures -------------------------------------------------------------------------------


def write_inputs() -> None:
    """Read the patients through db.chart_data from a fresh SQLite file (the chart screen's path)."""
    import tempfile
    from datetime import date, timedelta

    from analysis.patient_header import patient_header
    from analysis.scores import visit_scores
    from bench.run import BENCH_PATIENT, add_bench_patient
    from db.chart_data import load_chart_data
    from db.engine import make_engine, upgrade_database, write_session
    from db.measures import record_measurement
    from db.patients import create_patient
    from db.treatments import record_event, start_medication
    from db.visits import record_assessment
    from demo import generate_registry, load_registry
    from tests import factories

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/cases.db")
        upgrade_database(engine)
        load_registry(engine, generate_registry(12), actor="fixture")
        add_bench_patient(engine)
        with write_session(engine) as s:
            for pid in ("EMPTY-1", "TOTALS-1", "EVENTS-1"):
                create_patient(session=s, actor="fixture", data=factories.patient(patient_id=pid))
            for day, rater, total in (("2021-02-01", "dr a", 31), ("2021-08-01", "dr a", 27),
                                      ("2021-08-01", "dr b", 24.5), ("2022-03-01", "", 19)):
                record_assessment(session=s, actor="fixture", data=factories.total_only(
                    patient_id="TOTALS-1", visit_date=day, rater=rater, total=total))
            start = date(2020, 1, 6)
            for offset in range(0, 720, 60):
                day = (start + timedelta(days=offset)).isoformat()
                record_assessment(session=s, actor="fixture", data=factories.assessment(
                    patient_id="EVENTS-1", visit_date=day, rater="dr a" if offset % 120 else "dr b"))
                record_measurement(session=s, actor="fixture", data=factories.measurement(
                    patient_id="EVENTS-1", date=day, measure="grip_strength", side="L", value=20 + offset / 60))
                record_measurement(session=s, actor="fixture", data=factories.measurement(
                    patient_id="EVENTS-1", date=day, measure="haq_di", side="", value=1.5 - offset / 1000))
            for drug, dose, begin, end in (("mycophenolate mofetil", 1000, "2020-02-01", "2020-09-30"),
                                           ("mycophenolate mofetil", 1500, "2020-10-01", ""),
                                           ("methotrexate", 15, "2019-03-01", "2020-01-31"),
                                           ("prednisolone", 5, "2020-05-05", "2020-05-30")):
                start_medication(session=s, actor="fixture", data=factories.medication(
                    patient_id="EVENTS-1", drug=drug, dose=dose, start_date=begin, end_date=end))
            for day, kind, extra in (
                ("2014-06-01", "gadolinium_exposure", {"agent": "gadodiamide"}),
                ("2020-03-03", "procedure", {"description": "digital ulcer debridement of the left index finger"}),
                ("2020-03-05", "other", {"description": ""}),
                ("2020-03-05", "adverse_event", {"description": "diarrhoea", "grade": 2, "serious": "no"}),
                ("2020-03-09", "adverse_event", {"description": "neutropenia", "grade": 3, "serious": "yes",
                                                 "end_date": "2020-04-01"}),
                ("2020-11-11", "adverse_event", {"description": "infection", "grade": 4, "serious": "yes"}),
                ("2021-01-20", "adverse_event", {"description": "rash", "grade": 1, "serious": "no"}),
                ("2021-06-01", "steroid_injection", {"sites": "forearm_l;hand_l"}),
            ):
                values = {"patient_id": "EVENTS-1", "date": day, "kind": kind, **extra}
                if kind != "steroid_injection":
                    values.update(sites="", agent=extra.get("agent", ""), dose=None, dose_unit="")
                record_event(session=s, actor="fixture", data=factories.event(**values))
        patients = {"demo_0001": "DEMO-0001", "demo_0002": "DEMO-0002", "demo_0003": "DEMO-0003",
                    "empty": "EMPTY-1", "totals_only": "TOTALS-1", "many_events": "EVENTS-1",
                    "bench_60": BENCH_PATIENT}
        out = {}
        for key, pid in patients.items():
            data = load_chart_data(engine, pid)
            assessments = data.assessments
            visits = visit_scores(assessments) if len(assessments) else visit_scores(assessments.iloc[0:0])
            frames = {"assessments": assessments, "visits": visits, "medications": data.medications,
                      "events": data.events, "measurements": data.measurements}
            for frame in frames.values():
                pd.testing.assert_frame_equal(frame_from_json(frame_to_json(frame)), frame, check_index_type=False)
            out[key] = {"baseline_mrss": patient_header(data.patient, assessments).baseline_mrss,
                        **{name: frame_to_json(frame) for name, frame in frames.items()}}
        engine.dispose()
    DATA.mkdir(parents=True, exist_ok=True)
    INPUTS.write_text(json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n")


def finished_spec(builder_name: str, args: tuple, kwargs: dict) -> dict:
    """The finished spec of one case with the builders as they are: ``*_spec`` if there is one (dict builders),
    otherwise the Altair builder's ``to_dict()``."""
    from charts import patient

    spec_builder = getattr(patient, f"{builder_name}_spec", None)
    if spec_builder is not None:
        from charts import vl

        return vl.toplevel(build(spec_builder, args, kwargs))
    return build(getattr(patient, builder_name), args, kwargs).to_dict()


def write_expected() -> None:
    inputs = load_inputs()
    out = {name: finished_spec(builder, args, kwargs) for name, builder, args, kwargs in cases(inputs)}
    text = json.dumps(out, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    EXPECTED.write_bytes(gzip.compress(text.encode(), mtime=0))


def load_expected() -> dict[str, dict]:
    return json.loads(gzip.decompress(EXPECTED.read_bytes()))


if __name__ == "__main__":
    {"inputs": write_inputs, "expected": write_expected}[sys.argv[1]]()
