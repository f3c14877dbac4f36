"""Benchmark of the cohort screen's computations (issue 6): prints figures, asserts nothing.

    python -m bench.cohort_bench --patients 2000 --url sqlite:///bench-2000.db      # loads the demo if empty
    python -m bench.cohort_bench --patients 20000 --in-memory                         # analysis only, no database

With a database: `db.cohort.cohort_summary` for all patients and for an imatinib-anchored cohort
(best and median of --repeat runs, split into member selection, reads and analysis), then the
per-site panel (`cohort_site_changes`) and the data-quality panel (`cohort_quality`).
With --in-memory: `analysis.cohort.summarise_cohort` on frames built straight from the generated
registry, to time the analysis part at sizes whose loading through the write path takes too long.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

from analysis import assessment_totals, first_drug_starts
from analysis.cohort import summarise_cohort
from models.catalog import SITE_CODES


def loadable(registry):
    """The registry without the few generated patients with a date after today (the importer refuses them;
    demo can draw such dates at 20,000 patients when a late birth year pushes the first visit forward)."""
    from datetime import date

    from demo import Registry

    today = date.today().isoformat()
    date_keys = ("visit_date", "date", "start_date", "end_date", "diagnosis_date")
    bad = {row["patient_id"] for name in ("skin_scores", "measurements", "medications", "events")
           for row in getattr(registry, name) if any(str(row.get(k) or "") > today for k in date_keys)}
    if not bad:
        return registry
    print(f"leaving out {len(bad)} generated patients with dates after today: {sorted(bad)[:5]}")
    return Registry(**{name: [row for row in getattr(registry, name) if row["patient_id"] not in bad]
                       for name in ("patients", "skin_scores", "measurements", "medications", "events")})


CPU_TIMES: list[float] = []  # this process's CPU seconds of the last _timed call's best run


def _timed(function, repeat: int):
    """Best and median wall-clock seconds over `repeat` runs; the best run's CPU seconds of this process
    go to CPU_TIMES (on a machine shared with other work, wall time includes waiting for a core)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_TIMES[:] = [cpu[times.index(min(times))]]
    return result, min(times), statistics.median(times)


def in_memory(n_patients: int, repeat: int) -> None:
    from demo import generate_registry

    start = time.perf_counter()
    registry = generate_registry(n_patients)
    print(f"generated {registry.counts()} in {time.perf_counter() - start:.1f} s")
    patients = pd.DataFrame(registry.patients)[["patient_id", "diagnosis"]].astype("str")
    raw = pd.DataFrame(registry.skin_scores)
    assessments = pd.DataFrame({"patient_id": raw["patient_id"].astype("str"),
                                "visit_date": pd.to_datetime(raw["visit_date"]).astype("datetime64[us]")})
    for code in SITE_CODES:
        assessments[code] = pd.to_numeric(raw[code], errors="coerce").astype("float64")
    assessments["total"] = pd.to_numeric(raw["total"], errors="coerce").astype("float64")
    assessments["total"] = assessment_totals(assessments)
    assessments = assessments[assessments["total"].notna()].reset_index(drop=True)
    totals_only = assessments.assign(**{code: float("nan") for code in SITE_CODES})  # what the db read gives
    medications = pd.DataFrame(registry.medications)
    medications["start_date"] = pd.to_datetime(medications["start_date"]).astype("datetime64[us]")
    anchors = first_drug_starts(medications, "imatinib")
    for label, kwargs in (("all patients", {}), ("imatinib-anchored", {"anchors": anchors})):
        people = patients if not kwargs else patients[patients["patient_id"].isin(anchors.index)]
        rows = totals_only if not kwargs else totals_only[totals_only["patient_id"].isin(anchors.index)]
        frames, best, median = _timed(lambda p=people, r=rows, k=kwargs: summarise_cohort(p, r, **k), repeat)
        print(f"summarise_cohort, {label}: n={frames.n:,}, {len(rows):,} assessments: "
              f"best {best:.3f} s, median {median:.3f} s, CPU {CPU_TIMES[0]:.3f} s")


def with_database(url: str, n_patients: int, repeat: int) -> None:
    from db.cohort import CohortFilter, cohort_quality, cohort_site_changes, cohort_summary
    from db.engine import make_engine, upgrade_database
    from db.patients import count_patients
    from demo import generate_registry, load_registry

    engine = make_engine(url)
    upgrade_database(engine)
    if count_patients(engine) == 0:
        start = time.perf_counter()
        load_registry(engine, loadable(generate_registry(n_patients)), actor="bench")
        print(f"loaded {n_patients} patients in {time.perf_counter() - start:.1f} s")
    import os

    print(f"{engine.dialect.name}: {count_patients(engine):,} patients; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    cohort_summary(engine)  # warm-up: imports, first connection, t quantiles
    for label, cohort in (("all patients", CohortFilter()),
                          ("imatinib-exposed, anchored", CohortFilter(drug="imatinib", anchor_drug="imatinib"))):
        result, best, median = _timed(lambda c=cohort: cohort_summary(engine, c), repeat)
        split = ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items())
        print(f"cohort_summary, {label}: n={result.n:,}: best {best:.3f} s, median {median:.3f} s, "
              f"CPU of this process in the best run {CPU_TIMES[0]:.3f} s (last run: {split})")
        _, best, median = _timed(lambda r=result: cohort_site_changes(engine, r, 12), repeat)
        print(f"  per-site change at 12 months: best {best:.3f} s, median {median:.3f} s")
        quality, best, median = _timed(lambda r=result: cohort_quality(engine, r), max(1, repeat // 2))
        print(f"  data quality {quality.counts()}: best {best:.3f} s, median {median:.3f} s")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--url", help="database URL (loaded with the demo registry when empty)")
    parser.add_argument("--in-memory", action="store_true", help="time the analysis only, without a database")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.in_memory:
        in_memory(args.patients, args.repeat)
    if args.url:
        with_database(args.url, args.patients, args.repeat)


if __name__ == "__main__":
    main()
