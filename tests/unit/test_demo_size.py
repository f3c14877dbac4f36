"""One demo size: the demo registry offered on the first run is the one `python cli.py demo` loads by default."""

from __future__ import annotations

import inspect

import cli
from demo import generate_registry
from ui.gate import DEMO_PATIENTS


def test_first_run_demo_and_cli_demo_load_the_same_number_of_patients():
    assert cli.build_parser().parse_args(["demo"]).patients == DEMO_PATIENTS
    assert inspect.signature(generate_registry).parameters["n_patients"].default == DEMO_PATIENTS
