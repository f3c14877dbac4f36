"""What the benchmark measures: the figures, their targets, and small helpers shared by parent and child.

A figure's value is a number, or a string `"not measured: <reason>"` (a module that has not landed yet, a
backend that is not reachable). A figure is never estimated or copied from another backend.
"""

from __future__ import annotations

import importlib
import resource
import statistics
from collections.abc import Callable
from dataclasses import dataclass

MIB = 1024 * 1024
BACKENDS = ("sqlite", "postgresql")
BACKEND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    target: str  # as printed
    holds: Callable[[float], bool] | None  # None: a context figure without a target of its own
    digits: int = 1


FIGURES: tuple[Figure, ...] = (
    Figure("chart_data_ms", "1. chart data, one patient, all-centres account (ms)", "<= 50 ms", lambda v: v <= 50, 1),
    Figure("chart_data_one_ms", "1b. chart data, one patient, one-centre account (ms)", "<= 50 ms",
           lambda v: v <= 50, 1),
    Figure("record_assessment_ms", "2. record one assessment + audit (ms)", "<= 30 ms", lambda v: v <= 30, 1),
    Figure("cohort_summary_s", "3. cohort summary, all-centres account, 3/6/12/24 (s)", "<= 2 s",
           lambda v: v <= 2, 2),
    Figure("cohort_summary_one_s", "3b. cohort summary, one-centre account, 3/6/12/24 (s)", "<= 2 s",
           lambda v: v <= 2, 2),
    Figure("export_s", "4a. python cli.py export OUT, whole run, every file (s)", "", None, 2),
    Figure("raw_dump_s", "4b. plain dump of every table, sqlite3 / psql (s)", "", None, 2),
    Figure("export_raw_ratio", "4. export / plain dump, wall time", "<= 2x", lambda v: v <= 2, 2),
    Figure("export_cpu_ratio", "4c. export / plain dump, CPU time", "", None, 2),
    Figure("export_one_s", "4d. export of one centre (one-centre account), whole run (s)", "", None, 2),
    Figure("raw_dump_one_s", "4e. plain dump of that centre's rows (s)", "", None, 2),
    Figure("export_one_raw_ratio", "4f. one-centre export / its plain dump, wall time", "<= 2x",
           lambda v: v <= 2, 2),
    Figure("import_s", "5a. import into empty database (s)", "", None, 1),
    Figure("import_rows_per_s", "5b. import, bundle rows/s", "", None, 0),
    Figure("import_site_scores_per_s", "5. import, site scores/s", ">= 100,000/s", lambda v: v >= 100_000, 0),
    Figure("chart_render_s", "6. AppTest chart render, 60 visits (s)", "<= 1.5 s", lambda v: v <= 1.5, 2),
    Figure("import_peak_mib", "7a. peak RSS of import (MiB)", "<= 1536 MiB", lambda v: v <= 1536, 0),
    Figure("export_peak_mib", "7b. peak RSS of export (MiB)", "<= 1536 MiB", lambda v: v <= 1536, 0),
    Figure("export_one_peak_mib", "7c. peak RSS of one-centre export (MiB)", "<= 1536 MiB", lambda v: v <= 1536, 0),
)
FIGURES_BY_KEY = {f.key: f for f in FIGURES}

# The module each figure needs, so that a missing one is reported as "not measured: <module> missing".
NEEDS = {
    "chart_data_ms": ("db.chart_data", "load_chart_data"),
    "record_assessment_ms": ("db.visits", "record_assessment"),
    "chart_data_one_ms": ("db.chart_data", "load_chart_data"),
    "cohort_summary_s": ("db.cohort", "cohort_summary"),
    "cohort_summary_one_s": ("db.cohort", "cohort_summary"),
    "export_one_s": ("exchange.api", "export_bundle"),
    "raw_dump_one_s": ("exchange.api", "export_bundle"),
    "export_one_raw_ratio": ("exchange.api", "export_bundle"),
    "export_one_peak_mib": ("exchange.api", "export_bundle"),
    "export_s": ("exchange.api", "export_bundle"),
    "export_raw_ratio": ("exchange.api", "export_bundle"),
    "export_cpu_ratio": ("exchange.api", "export_bundle"),
    "export_peak_mib": ("exchange.api", "export_bundle"),
    "import_s": ("exchange.api", "import_bundle"),
    "import_rows_per_s": ("exchange.api", "import_bundle"),
    "import_site_scores_per_s": ("exchange.api", "import_bundle"),
    "import_peak_mib": ("exchange.api", "import_bundle"),
    "chart_render_s": ("pages.chart", None),
}


def missing(module: str, name: str | None = None) -> str | None:
    """None when `module` (and `name` in it) can be imported, otherwise the "not measured" note."""
    if module == "pages.chart":  # a page runs on import: only check that the file exists
        from pathlib import Path

        page = Path(__file__).resolve().parents[1] / "pages" / "chart.py"
        return None if page.exists() else "not measured: pages/chart.py missing"
    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        return f"not measured: {module} missing" + ("" if module in str(error) else f" ({error})")
    if name and not hasattr(loaded, name):
        return f"not measured: {module}.{name} missing"
    return None


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, from VmHWM in /proc/self/status.

    Not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and execve (the kernel keeps the
    largest of the old and new memory images), so a child started by a parent holding the generated
    registry would report the parent's peak. VmHWM belongs to the child's own address space.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_now_mib() -> float:
    """This process's current resident set size (from /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / MIB
    except OSError:
        return 0.0
