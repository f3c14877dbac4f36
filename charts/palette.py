"""Every colour, shape and dash the charts use, in one place; colour-blind safe.

Categorical colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), which
stays distinguishable under the common colour-vision deficiencies. Ordered quantities (site score,
CTCAE grade) use one-hue-family sequential ramps that are read by lightness alone.
Keys come from `models.catalog`; labels are looked up there, never re-typed.
"""

from __future__ import annotations

from models.catalog import CTCAE_GRADES, EVENT_KINDS, SIDES, SITE_MAX, SITE_MIN

# Okabe–Ito.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

LIGHT_GREY = "#DDDDDD"
MISSING = "#BDBDBD"  # a site not scored: mid grey, clearly apart from the palest score colour

# Total mRSS panel.
MRSS_LINE = BLACK
NOISE_BAND = "#BBBBBB"
IMPROVEMENT_LINE = BLUE
PROGRESSION_LINE = VERMILLION

# Medication lanes: one colour per drug, cycled in order of first start.
DRUG_CYCLE = (SKY_BLUE, BLUISH_GREEN, REDDISH_PURPLE, ORANGE, BLUE, VERMILLION, YELLOW, GREY)

# Point events. Adverse events are coloured by CTCAE grade instead (below).
EVENT_KIND_COLORS: dict[str, str] = {
    "steroid_injection": BLUE,
    "procedure": BLUISH_GREEN,
    "gadolinium_exposure": REDDISH_PURPLE,
    "adverse_event": VERMILLION,
    "other": GREY,
    # Organ events (CRISS step 1): black, told apart by shape.
    "renal_crisis": BLACK,
    "ild_progression": BLACK,
    "lv_failure": BLACK,
    "pah": BLACK,
}
EVENT_KIND_SHAPES: dict[str, str] = {
    "steroid_injection": "triangle-down",
    "procedure": "square",
    "gadolinium_exposure": "diamond",
    "adverse_event": "cross",
    "other": "circle",
    "renal_crisis": "triangle-up",
    "ild_progression": "triangle-right",
    "lv_failure": "triangle-left",
    "pah": "wedge",
}
EVENT_KIND_DASHES: dict[str, list[int]] = {
    "steroid_injection": [1, 0],
    "procedure": [6, 3],
    "gadolinium_exposure": [2, 2],
    "adverse_event": [4, 2],
    "other": [1, 3],
    "renal_crisis": [8, 2],
    "ild_progression": [8, 2],
    "lv_failure": [8, 2],
    "pah": [8, 2],
}
# CTCAE grade 1-5: orange -> vermillion -> darker reds -> black, ordered by lightness.
GRADE_COLORS: dict[int, str] = {1: ORANGE, 2: VERMILLION, 3: "#A33B00", 4: "#6B1A00", 5: BLACK}
UNGRADED_ADVERSE_EVENT = VERMILLION

# Left/right for sided measures.
SIDE_COLORS: dict[str, str] = {"R": BLUE, "L": ORANGE}
SIDE_NAMES: dict[str, str] = {"R": "Right", "L": "Left"}
UNSIDED = BLACK

# Responder categories (cohort waterfall).
CATEGORY_COLORS: dict[str, str] = {"improved": BLUE, "stable": GREY, "progressed": ORANGE}

# Site score 0-3: ColorBrewer YlOrBr (sequential, colour-blind safe), pale = normal.
SCORE_COLORS: tuple[str, ...] = ("#FFFFD4", "#FED98E", "#FE9929", "#CC4C02")
SCORE_VALUES: tuple[int, ...] = tuple(range(SITE_MIN, SITE_MAX + 1))

# Cohort charts.
COHORT_LINE = "#B0B0B0"
COHORT_MEAN = BLUE
COHORT_CI = SKY_BLUE

assert set(EVENT_KIND_COLORS) == set(EVENT_KINDS) == set(EVENT_KIND_SHAPES) == set(EVENT_KIND_DASHES)
assert set(GRADE_COLORS) == set(CTCAE_GRADES)
assert set(SIDE_COLORS) == set(SIDES)
assert len(SCORE_COLORS) == len(SCORE_VALUES)


def drug_color(index: int) -> str:
    """The colour of the index-th drug lane."""
    return DRUG_CYCLE[index % len(DRUG_CYCLE)]
