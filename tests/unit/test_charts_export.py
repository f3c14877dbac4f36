"""Offline export of a builder's spec through vl-convert."""

from __future__ import annotations

from charts.export import PNG_SIGNATURE, to_png, to_svg
from charts.medication_lanes import medication_lanes
from tests.unit import chart_spec_cases as cases


def test_png_and_svg_of_a_builders_spec():
    spec = medication_lanes(cases.medications(), time_axis=cases.time_axis(), width=300)
    png = to_png(spec, scale=1)
    assert isinstance(png, bytes) and png.startswith(PNG_SIGNATURE)
    svg = to_svg(spec)
    assert "<svg" in svg and "imatinib" in svg
