"""Every colour, shape and dash the charts use, in one place; colour-blind safe.

Two categorical palettes that stay distinguishable under the common colour-vision deficiencies, kept apart
on purpose so that an event is never mistaken for a threshold:
- Okabe–Ito (Okabe & Ito 2008, "Color Universal Design") for the mRSS panel's reference lines, the response
  categories, the sides and the drug lanes;
- Paul Tol's "muted" scheme (Tol 2021, "Colour schemes", SRON/EPS/TN/09-002) for the event kinds, one colour
  and one shape per kind.
Ordered quantities (site score) use a one-hue-family sequential ramp read by lightness alone.
Keys come from `models.catalog`; labels are looked up there, never re-typed.
"""

from __future__ import annotations

from models.catalog import EVENT_KINDS, SIDES, SITE_MAX, SITE_MIN

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

# Tol's muted scheme.
INDIGO = "#332288"
CYAN = "#88CCEE"
TEAL = "#44AA99"
GREEN = "#117733"
OLIVE = "#999933"
SAND = "#DDCC77"
ROSE = "#CC6677"
WINE = "#882255"
PURPLE = "#AA4499"

TEXT = "#333333"
MUTED_TEXT = "#555555"
LIGHT_GREY = "#DDDDDD"
MISSING = "#BDBDBD"  # a site not scored: mid grey, clearly apart from the palest score colour

# Response categories (cohort waterfall, site bars) and the patient's threshold lines: the same two colours.
CATEGORY_COLORS: dict[str, str] = {"improved": BLUE, "stable": GREY, "progressed": ORANGE}

# Total mRSS panel.
MRSS_LINE = BLACK
NOISE_BAND = "#BBBBBB"
IMPROVEMENT_LINE = CATEGORY_COLORS["improved"]
PROGRESSION_LINE = CATEGORY_COLORS["progressed"]
TREATMENT_RULE = "#444444"  # a drug start, dose change or stop on the mRSS panel and the heat map

# Medication lanes: one colour per drug, cycled in order of first start.
DRUG_CYCLE = (SKY_BLUE, BLUISH_GREEN, REDDISH_PURPLE, YELLOW, GREY, VERMILLION)

# Point events: a colour and a marker shape per kind (Tol muted; none is the threshold blue or orange), and
# a dash for the rule so that kinds differ in print without colour too.
EVENT_KIND_COLORS: dict[str, str] = {
    "steroid_injection": INDIGO,
    "procedure": CYAN,
    "gadolinium_exposure": OLIVE,
    "adverse_event": WINE,
    "other": SAND,
    # Organ events (CRISS step 1).
    "renal_crisis": ROSE,
    "ild_progression": TEAL,
    "lv_failure": GREEN,
    "pah": PURPLE,
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
    "renal_crisis": [8, 2, 2, 2],
    "ild_progression": [8, 2, 2, 2],
    "lv_failure": [8, 2, 2, 2],
    "pah": [8, 2, 2, 2],
}
MARKER_STROKE = "#222222"  # around every event marker, so the light colours hold against white

# Left/right for sided measures.
SIDE_COLORS: dict[str, str] = {"R": BLUE, "L": ORANGE}
SIDE_NAMES: dict[str, str] = {"R": "Right", "L": "Left"}
UNSIDED = BLACK

# Site score 0-3: ColorBrewer YlOrBr (sequential, colour-blind safe), pale = normal.
SCORE_COLORS: tuple[str, ...] = ("#FFFFD4", "#FED98E", "#FE9929", "#CC4C02")
SCORE_VALUES: tuple[int, ...] = tuple(range(SITE_MIN, SITE_MAX + 1))
INJECTION_MARKER = INDIGO
# Several sites in one panel ("sites that moved"): a colour per site, the side told by the dash.
SITE_LINE_COLORS = (BLACK, BLUISH_GREEN, REDDISH_PURPLE, SKY_BLUE, VERMILLION, GREY)

# Cohort charts.
COHORT_LINE = "#B0B0B0"
COHORT_MEAN = BLUE
COHORT_CI = SKY_BLUE

assert set(EVENT_KIND_COLORS) == set(EVENT_KINDS) == set(EVENT_KIND_SHAPES) == set(EVENT_KIND_DASHES)
assert len(set(EVENT_KIND_COLORS.values())) == len(EVENT_KIND_COLORS)
assert not set(EVENT_KIND_COLORS.values()) & {IMPROVEMENT_LINE, PROGRESSION_LINE}
assert set(SIDE_COLORS) == set(SIDES)
assert len(SCORE_COLORS) == len(SCORE_VALUES)


def drug_color(index: int) -> str:
    """The colour of the index-th drug lane."""
    return DRUG_CYCLE[index % len(DRUG_CYCLE)]
