"""Test helpers for the chart builders: hand-made frames of one patient, every builder's spec, the Vega-Lite
schema check, walking a spec (views, their rows, their marks) and reading a rendered SVG's axis labels.

The schema is the one Altair ships (the version charts/vl.py writes): checked here, in tests, never at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from html import unescape

import numpy as np
import pandas as pd

from analysis.baseline import baselines, change_from_baseline
from analysis.frames import ASSESSMENT_COLUMNS, EVENT_COLUMNS, MEASUREMENT_COLUMNS, MEDICATION_COLUMNS, VISIT_COLUMNS
from analysis.what_changed import treatment_changes
from models.catalog import SITE_CODES

TODAY = pd.Timestamp("2024-05-01")
START = pd.Timestamp("2023-01-10")
SCREEN_1024_CHART_PX = 564  # the chart column's width on a 1024 x 768 screen, sidebar open (measured)
_CHILD_KEYS = ("layer", "vconcat", "hconcat", "concat")


# --- frames of one patient ------------------------------------------------------------------------------


def _dates(frame, *cols):
    for col in cols:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    return frame


def assessments() -> pd.DataFrame:
    rows = []
    for date, rater, total in [("2023-01-01", "Dr Lee", 30), ("2023-05-10", "Dr Lee", 26),
                               ("2023-05-10", "Dr Okafor", 30), ("2023-11-01", "", 20)]:
        rec = {"patient_id": "P1", "visit_date": date, "rater": rater}
        rec.update({c: np.nan for c in SITE_CODES})
        rec.update({"total": float(total), "incomplete": False})
        rows.append(rec)
    return _dates(pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS), "visit_date")


def visits(*, with_change: bool = True) -> pd.DataFrame:
    """Three visits; the hands and fingers fall from 2 to 1 after the injection, everything else stays at 1."""
    return _visits(with_change).copy()


@lru_cache(maxsize=2)
def _visits(with_change: bool) -> pd.DataFrame:
    rows = []
    for date, n, mrss in [("2023-01-01", 1, 30.0), ("2023-05-10", 2, 28.0), ("2023-11-01", 1, 20.0)]:
        rec = {"patient_id": "P1", "visit_date": date, "n_raters": n, "mrss": mrss}
        rec.update({c: 1.0 for c in SITE_CODES})
        if date != "2023-11-01":
            rec.update({c: 2.0 for c in ("hand_r", "fingers_l")})
        rows.append(rec)
    frame = _dates(pd.DataFrame(rows, columns=VISIT_COLUMNS), "visit_date")
    return change_from_baseline(frame, baselines(frame)) if with_change else frame


def medications() -> pd.DataFrame:
    rows = [
        ("P1", "imatinib", 200.0, "mg", "daily", "oral", START, pd.Timestamp("2023-06-30"), "skin"),
        ("P1", "imatinib", 400.0, "mg", "daily", "oral", pd.Timestamp("2023-07-01"), pd.NaT, "dose increased"),
    ]
    return _dates(pd.DataFrame(rows, columns=MEDICATION_COLUMNS), "start_date", "end_date")


def events() -> pd.DataFrame:
    rows = [
        ("P1", "2023-08-01", "adverse_event", "Periorbital oedema", "", "", np.nan, "", 2, False, "2023-08-20"),
        ("P1", "2023-09-01", "steroid_injection", "", "hand_r;fingers_l", "triamcinolone acetonide", 40.0, "mg",
         None, None, None),
    ]
    frame = _dates(pd.DataFrame(rows, columns=EVENT_COLUMNS), "date", "end_date")
    frame["grade"] = frame["grade"].astype("Int64")
    frame["serious"] = frame["serious"].astype("boolean")
    return frame


def measurements() -> pd.DataFrame:
    rows = []
    for i, date in enumerate(["2023-01-01", "2023-04-01", "2023-07-01"]):
        date = pd.Timestamp(date)
        rows += [
            ("P1", date, "wrist_flexion", "R", 50.0 + 5 * i, "deg", "Dr Lee"),
            ("P1", date, "wrist_flexion", "L", 45.0 + 5 * i, "deg", ""),
            ("P1", date, "oral_aperture", "", 30.0 + i, "mm", "Dr Lee"),
        ]
    return _dates(pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS), "date")


def event(day: str, kind: str, description: str = "", sites: str = "", grade=None) -> tuple:
    return ("P1", day, kind, description, sites, "", np.nan, "", grade, None, None)


def events_frame(*rows: tuple) -> pd.DataFrame:
    frame = _dates(pd.DataFrame(list(rows), columns=EVENT_COLUMNS), "date", "end_date")
    frame["grade"] = frame["grade"].astype("Int64")
    frame["serious"] = frame["serious"].astype("boolean")
    return frame


def empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@lru_cache(maxsize=1)
def changes() -> tuple:
    return tuple(treatment_changes(visits(), medications(), events()))


def time_axis(window: str = "visits", **options):
    from charts.time_axis import chart_window, make_time_axis

    span = chart_window(visits=visits(), medications=medications(), events=events(), measurements=measurements(),
                        window=window, today=TODAY)
    return make_time_axis(span, **options)[0]


def all_specs() -> Iterator[tuple[str, dict]]:
    """Every builder's spec, for this patient and for empty frames; on screen (no width) and fixed."""
    from analysis.activity import activity_frame
    from charts import cohort, endpoints, patient

    axis = time_axis()
    days = time_axis(axis="days", anchor_date=START, anchor_label="imatinib")
    for name, ax, width in (("dates", axis, None), ("days", days, 600)):
        args = {"events": events(), "changes": changes(), "time_axis": ax, "width": width}
        yield f"mrss_panel/{name}", patient.mrss_panel(assessments(), visits(), baseline_mrss=30.0, **args)
        yield f"medication_lanes/{name}", patient.medication_lanes(medications(), **args)
        yield f"site_heatmap/{name}", patient.site_heatmap(visits(), **args)
        yield f"site_trajectory/{name}", patient.site_trajectory("hand_r", visits(), **args)
        yield f"sites_that_moved/{name}", patient.sites_that_moved(visits(), ["hand_r", "fingers_l"], **args)
        yield f"measure_chart/{name}", patient.measure_chart("wrist_flexion", measurements(), time_axis=ax,
                                                              width=width)
    yield "activity_chart", endpoints.activity_chart(activity_frame(visits(), measurements()), events=events(),
                                                     changes=changes(), time_axis=axis)
    yield "patient_timeline", patient.patient_timeline(assessments(), visits(), medications(), events(),
                                                       baseline_mrss=30.0, changes=changes(), time_axis=axis)
    yield "site_trajectories", patient.site_trajectories(visits(), events(), sites=["hand_r", "leg_r"],
                                                         changes=changes(), time_axis=axis)
    yield "measure_trajectories", patient.measure_trajectories(measurements(), time_axis=axis)
    yield "empty/timeline", patient.patient_timeline(
        empty(ASSESSMENT_COLUMNS), empty(VISIT_COLUMNS), empty(MEDICATION_COLUMNS), empty(EVENT_COLUMNS),
        baseline_mrss=None)
    yield "empty/heatmap", patient.site_heatmap(empty(VISIT_COLUMNS), None)
    yield "empty/measures", patient.measure_trajectories(empty(MEASUREMENT_COLUMNS))
    traj = pd.DataFrame({"patient_id": ["A", "A", "B", "B"], "day": [0, 90, 0, 90], "mrss": [30.0, 25, 20, 21]})
    curve = pd.DataFrame({"day": [0, 91, 183], "mean": [25.0, 23, 20], "ci_low": [20.0, 19, -40],
                          "ci_high": [30.0, 27, 80], "n": [4, 3, 2]})
    yield "cohort/spaghetti", cohort.spaghetti(traj, curve, anchor_drug="imatinib")
    changes_ = pd.DataFrame({"patient_id": ["A", "B"], "change": [-8.0, 7.0], "category": ["improved", "progressed"]})
    yield "cohort/waterfall", cohort.waterfall(changes_, window="12 months")
    yield "cohort/site_bars", cohort.site_response_bars(pd.DataFrame({"site": list(SITE_CODES),
                                                                      "mean_change": [-0.2] * 17}))
    from analysis.activity import activity_distribution

    yield "cohort/activity_distribution", cohort.activity_distribution(
        [("Baseline", activity_distribution([1.5, 2.5, 7.75])), ("Month 12", activity_distribution([]))])


# --- the schema ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator():
    import altair as alt
    import jsonschema

    schema = alt.vegalite.v6.schema.core.load_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def validate(spec: dict) -> None:
    """Raise jsonschema.ValidationError unless the finished spec is valid Vega-Lite."""
    from charts import vl

    _validator().validate(json.loads(json.dumps(vl.toplevel(spec))))


# --- walking a spec ---------------------------------------------------------------------------------------


def views(spec: dict, inherited_data: dict | None = None) -> Iterator[tuple[dict, dict | None]]:
    """(view, data) for every unit view (one with a ``mark``), depth first, in drawing order."""
    data = spec.get("data", inherited_data)
    if "mark" in spec:
        yield spec, data
    for key in _CHILD_KEYS:
        for child in spec.get(key, []):
            yield from views(child, data if key == "layer" else None)


def rows(root: dict, data: dict | None) -> list[dict]:
    """The rows of a view's data: inline values or a named top-level dataset."""
    if not data:
        return []
    if "values" in data:
        return list(data["values"])
    return list(root.get("datasets", {}).get(data.get("name"), []))


def mark_type(view: dict) -> str:
    mark = view["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def find(root: dict, *, mark: str | None = None) -> list[tuple[dict, list[dict]]]:
    return [(view, rows(root, data)) for view, data in views(root) if mark is None or mark_type(view) == mark]


def filters(view: dict) -> list:
    return [t["filter"] for t in view.get("transform", []) if "filter" in t]


def x_domains(root: dict) -> list:
    """The explicit x scale domain of every view that encodes x with a field."""
    return [view["encoding"]["x"].get("scale", {}).get("domain") for view, _ in views(root)
            if "field" in view.get("encoding", {}).get("x", {})]


def named(root: dict, name: str) -> list[tuple[dict, list[dict]]]:
    """(view, rows) of the views described as ``name`` (builders tag their key layers with a description)."""
    return [(view, rows(root, data)) for view, data in views(root) if view.get("description") == name]


def one(root: dict, name: str) -> tuple[dict, list[dict]]:
    found = named(root, name)
    if len(found) != 1:
        raise AssertionError(f"expected one view named {name!r}, found {len(found)}")
    return found[0]


def all_rows(root: dict, name: str) -> list[dict]:
    """The rows of every view called ``name`` (views split by filters share one data set: rows once)."""
    seen, out = set(), []
    for _, data in ((v, d) for v, d in views(root) if v.get("description") == name):
        key = json.dumps(data, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out += rows(root, data)
    return out


# --- a rendered axis -------------------------------------------------------------------------------------


def render_svg(spec: dict, *, container_px: int | None = None) -> str:
    """The SVG of a spec; with ``container_px``, fitted to that width as the screen fits it (Streamlit)."""
    import vl_convert as vlc

    from charts import vl

    finished = vl.toplevel(spec)
    if container_px is not None:
        finished["width"] = container_px
        finished["autosize"] = {"type": "fit-x", "contains": "padding"}
    return vlc.vegalite_to_svg(json.dumps(finished), vl_version=vl.VEGA_LITE_VERSION)


def x_axis_labels(svg: str) -> list[tuple[float, str, list[str]]]:
    """(x, text anchor, lines) of every visible label of the first x axis of a rendered chart, left to right."""
    start = svg.index('aria-label="X-axis')
    group = svg.index("role-axis-label", start)
    end = svg.index("</g>", group)
    out = []
    pattern = r'<text text-anchor="(\w+)" transform="translate\(([-\d.]+),[-\d.]+\)"([^>]*)>(.*?)</text>'
    for match in re.finditer(pattern, svg[group:end]):
        anchor, x, attributes, body = match.groups()
        if 'opacity="0"' in attributes:
            continue
        lines = re.findall(r"<tspan[^>]*>(.*?)</tspan>", body) or [body]
        out.append((float(x), anchor, [unescape(line) for line in lines]))
    return sorted(out)


def label_extent(x: float, anchor: str, text: str, char_px: float) -> tuple[float, float]:
    """Where a label's text lies, for a font whose widest characters are ``char_px`` wide."""
    width = len(text) * char_px
    if anchor == "start":
        return x, x + width
    if anchor == "end":
        return x - width, x
    return x - width / 2, x + width / 2
