"""Smoke run of the registry benchmark at a tiny size: every figure is present and a number.

Timings are never asserted (the benchmark reports targets, it does not enforce them). A figure may only
be a "not measured" note when the module it needs really is missing. SQLite only, to stay well under
30 s: the AppTest figure alone costs ~10 s per backend (a child process importing Streamlit and Altair,
a warm-up render and two measured ones); the PostgreSQL column is asserted to say why it is empty.
"""

from __future__ import annotations

import json
import math

from bench.common import FIGURES, NEEDS, missing
from bench.run import main


def test_bench_smoke_run_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["--patients", "20", "--runs", "1", "--import-runs", "1", "--samples", "3", "--json", str(out),
                 "--workdir", str(tmp_path / "work"), "--skip-postgres"])
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())

    assert code == 0, printed
    assert results["patients"] == 20
    assert results["counts"]["patients"] == 20 and results["counts"]["skin_scores"] > 0
    for figure in FIGURES:
        entry = results["figures"][figure.key]
        assert figure.label in printed
        assert entry["postgresql"] == "not measured: --skip-postgres"
        value = entry["sqlite"]
        if isinstance(value, str):  # allowed only while the module it needs has not landed
            note = missing(*NEEDS[figure.key]) if figure.key in NEEDS else None
            assert note is not None and value == note, f"{figure.key}: {value}"
            continue
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, figure.key
        if figure.holds is not None:
            assert entry["holds"] in ("yes (SQLite only)", "no (SQLite)")
