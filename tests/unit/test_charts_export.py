"""Offline export through vl-convert."""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.export import PNG_SIGNATURE, to_pdf, to_png, to_svg


def chart() -> alt.Chart:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})
    return alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q").properties(width=200, height=100)


def test_png_bytes():
    png = to_png(chart(), scale=1)
    assert isinstance(png, bytes) and png.startswith(PNG_SIGNATURE)
    assert len(to_png(chart(), scale=2)) > len(png)


def test_svg_text():
    svg = to_svg(chart())
    assert isinstance(svg, str) and "<svg" in svg


def test_pdf_bytes():
    assert to_pdf(chart()).startswith(b"%PDF")
