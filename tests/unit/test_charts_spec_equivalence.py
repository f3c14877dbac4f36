"""The patient chart's dict builders (``*_spec``) draw exactly what the Altair builders drew.

``expected.json.gz`` is ``chart.to_dict()`` of the Altair builders (commit 7c7bfa5) for the cases of
chart_spec_cases.py: the story patients DEMO-0001..0003, an empty patient, a patient with total-only visits, one
with many kinds of events and drugs, and the 60-visit benchmark patient; calendar axis, days since a drug's first
start, whole history; the four charts of the screen as pages/chart.py builds them, and the other builders with
their defaults. Specs are compared as JSON text (sorted keys), so 1 and 1.0, or true and 1, differ; dataset names
are hashes of the rows, so the rows are compared too.
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from charts import patient, vl
from charts.export import to_svg
from tests.unit import chart_spec_cases

INPUTS = chart_spec_cases.load_inputs()
CASES = list(chart_spec_cases.cases(INPUTS))


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    return chart_spec_cases.load_expected()


def _text(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True, indent=1, ensure_ascii=False)


def _first_difference(new, old, path: str = "$") -> str | None:
    """Where two JSON values first differ (for a readable failure)."""
    if type(new) is not type(old):
        return f"{path}: {json.dumps(new)[:200]} != {json.dumps(old)[:200]}"
    if isinstance(new, dict):
        for key in sorted(set(new) | set(old)):
            if key not in new or key not in old:
                return f"{path}.{key}: only in the {'new' if key in new else 'old'} spec"
            found = _first_difference(new[key], old[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(new, list):
        if len(new) != len(old):
            return f"{path}: {len(new)} items != {len(old)}"
        return next((d for i, (a, b) in enumerate(zip(new, old, strict=True))
                     if (d := _first_difference(a, b, f"{path}[{i}]"))), None)
    return None if new == old else f"{path}: {new!r} != {old!r}"


def _assert_same(new: dict, old: dict) -> None:
    new = json.loads(json.dumps(new))  # as drawn: tuples become lists, keys strings
    assert _text(new) == _text(old), _first_difference(new, old)


def test_every_case_has_a_frozen_spec(expected):
    assert sorted(name for name, *_ in CASES) == sorted(expected)


@pytest.mark.parametrize(("name", "builder", "args", "kwargs"), CASES, ids=[case[0] for case in CASES])
def test_dict_builder_equals_altair_builder(expected, name, builder, args, kwargs):
    spec = chart_spec_cases.build(getattr(patient, f"{builder}_spec"), args, kwargs)
    finished = vl.toplevel(spec)
    _assert_same(finished, expected[name])
    vl.validate(finished)
    # The Altair-returning builder (report, export, treatments screen, tests) gives the same chart.
    chart = chart_spec_cases.build(getattr(patient, builder), args, kwargs)
    assert isinstance(chart, alt.TopLevelMixin)
    _assert_same(chart.to_dict(validate=False), expected[name])


def test_builders_leave_the_spec_they_return_unchanged_when_finished():
    name, builder, args, kwargs = next(case for case in CASES if case[0] == "demo_0002/page/timeline")
    spec = chart_spec_cases.build(getattr(patient, f"{builder}_spec"), args, kwargs)
    before = _text(spec)
    vl.toplevel(spec)
    vl.as_altair(spec).to_dict()
    assert _text(spec) == before


def test_altair_composes_the_altair_builders_as_before(expected):
    """The treatments screen stacks the lanes in an ``alt.vconcat``: Altair moves their rows to datasets."""
    name, builder, args, kwargs = next(case for case in CASES if case[0] == "many_events/medication_lanes")
    stacked = alt.vconcat(chart_spec_cases.build(patient.medication_lanes, args, kwargs)).to_dict()
    old = expected[name]
    inner = {key: value for key, value in old.items() if key not in ("$schema", "config", "datasets")}
    assert stacked["vconcat"] == [inner]
    assert stacked["datasets"] == old["datasets"]


def test_records_convert_as_altair_does():
    """Every kind of column a builder hands Vega-Lite, converted as Altair's sanitize + to_dict convert it."""
    frame = pd.DataFrame({
        "float": [1.5, np.nan, np.inf, -0.0],
        "int": np.array([1, 2, 3, 4], dtype="int64"),
        "bool": [True, False, True, False],
        "str": pd.Series(["a", None, "", "d"], dtype="str"),
        "object": pd.Series(["a", None, 3, np.nan], dtype=object),
        "date": pd.to_datetime(["2023-01-10", None, "2024-02-29", "2020-01-01"]).astype("datetime64[us]"),
        "nullable_int": pd.Series([1, None, 3, 4], dtype="Int64"),
        "nullable_bool": pd.Series([True, None, False, True], dtype="boolean"),
        "nullable_float": pd.Series([1.5, None, 2.0, 3.0], dtype="Float64"),
        "category": pd.Series(["x", "y", None, "x"], dtype="category"),
    })
    for rows in (frame, frame.iloc[0:0], frame[["float"]].iloc[1:2]):
        altair_rows = alt.utils.data.to_values(rows)["values"]
        assert json.dumps(vl.records(rows)) == json.dumps(altair_rows)
        assert vl.dataset_name(vl.records(rows)) == vl.dataset_name(altair_rows)


def test_export_draws_a_dict_spec_as_its_altair_chart():
    """The chart screen's downloads and PDF report hand charts.export the dict specs."""
    name, builder, args, kwargs = next(case for case in CASES if case[0] == "demo_0001/page/timeline")
    spec = chart_spec_cases.build(getattr(patient, f"{builder}_spec"), args, kwargs)
    assert to_svg(spec) == to_svg(chart_spec_cases.build(getattr(patient, builder), args, kwargs))
