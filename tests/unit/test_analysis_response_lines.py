"""The threshold lines of the patient chart agree with the responder definitions (analysis/response.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analysis.response import is_improved, is_progressed
from analysis.response_lines import improvement_line, improvement_words, progression_line, progression_words

halves = st.integers(min_value=0, max_value=102).map(lambda n: n / 2)  # means of rater totals: 0, 0.5 … 51


def test_lines_by_hand():
    assert (improvement_line(30.0), progression_line(30.0)) == (22.5, 37.5)  # 25 % binds
    assert (improvement_line(12.0), progression_line(12.0)) == (7.0, 17.0)  # 5 points bind
    assert (improvement_words(36.0), progression_words(36.0)) == ("27 or lower", "45 or higher")
    assert (improvement_words(12.0), progression_words(12.0)) == ("below 7", "above 17")
    assert (improvement_words(20.0), progression_words(20.0)) == ("below 15", "above 25")  # both at once: strict
    assert progression_words(0.0) == "above 5"


@given(halves, halves)
def test_below_the_improvement_line_is_improved_above_the_progression_line_progressed(baseline, value):
    if value < improvement_line(baseline):
        assert is_improved(baseline, value)
    if value > improvement_line(baseline):
        assert not is_improved(baseline, value)
    if value > progression_line(baseline):
        assert is_progressed(baseline, value)
    if value < progression_line(baseline):
        assert not is_progressed(baseline, value)
    on_improvement = value == improvement_line(baseline)
    if on_improvement:
        assert is_improved(baseline, value) == improvement_words(baseline).endswith("or lower")
    if value == progression_line(baseline):
        assert is_progressed(baseline, value) == progression_words(baseline).endswith("or higher")
