"""Every chart builder, patient and cohort, writes valid Vega-Lite (checked against the schema Altair ships, here
in the tests, never at run time) and leaves nothing of Altair in the charts package."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pytest

from charts import vl
from tests.unit import chart_spec_cases as cases

SPECS = list(cases.all_specs())


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[name for name, _ in SPECS])
def test_every_builder_writes_valid_vega_lite(name, spec):
    cases.validate(spec)


def test_the_schema_written_is_the_one_altair_ships():
    assert vl.SCHEMA_URL == alt.SCHEMA_URL
    assert vl.VEGA_LITE_VERSION == ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def test_finishing_moves_rows_to_datasets_and_leaves_the_spec_unchanged():
    name, spec = SPECS[0]
    before = json.dumps(spec, sort_keys=True, default=str)
    finished = vl.toplevel(spec)
    assert json.dumps(spec, sort_keys=True, default=str) == before
    assert finished["$schema"] == vl.SCHEMA_URL and finished["config"]["axis"]["labelFontSize"] == vl.FONT_PX
    assert finished["datasets"] and all("values" not in (v.get("data") or {}) for v, _ in cases.views(finished))


def test_no_chart_module_imports_altair():
    root = Path(vl.__file__).parent
    assert not [p.name for p in root.glob("*.py") if "import altair" in p.read_text()]
