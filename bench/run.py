"""Registry-scale benchmark (issues 8 and 16): `python -m bench --patients 20000 --json bench.json`.

Generates the demo registry at the given size in ten centres of uneven sizes (bench.centres), writes it as a
bundle, imports that bundle into an empty SQLite file and (when reachable) an empty PostgreSQL schema, and
measures the figures of bench.common, each the median of several runs. Prints a table (figure, SQLite,
PostgreSQL, target, holds?) and writes the same as JSON. It never fails on a timing: a target that does not
hold is reported, not raised. A figure whose module has not landed is "not measured: <module> missing"; one
whose measurement raised is "failed: <error>" (and the run exits 1).

Measured in this process (after one unmeasured warm-up call, so imports are not counted): chart data
(random patients), recording one assessment (each in its own transaction, through db.visits), the
cohort summary; chart data and the cohort summary twice, by an account of every centre and by an account of the
largest centre (an engine scoped to it, db.scope.scoped). Measured in a child process each (bench.child): import
(timing and peak RSS of that one operation) and the AppTest chart render. Figure 4 is what a user sees
(bench.dump): `python cli.py export` as a process, start to exit, every file, against the database's own client
dumping every table as CSV (sqlite3, psql), in the same run, alternating; wall and CPU seconds, and the load
average meanwhile; then the same for the one centre: its export against a plain dump of its rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench import databases
from bench.bundle import site_score_count, write_bundle
from bench.centres import (
    BENCH_CENTRES,
    ONE_CENTRE,
    app_role_url,
    assign_centres,
    centre_key,
    create_centres,
    drop_app_role,
    importer_takes_centre,
    without_centre,
)
from bench.common import BACKEND_LABELS, BACKENDS, FIGURES, NEEDS, median, missing
from bench.dump import NotMeasured, dump_command, export_command, folder_bytes, measure
from exchange.derived import FILE_ORDER

ROOT = Path(__file__).resolve().parents[1]
BENCH_PATIENT = "BENCH-0060"
BENCH_USER = "benchphysician"
BENCH_PASSWORD = "bench password 60"  # noqa: S105 - a throwaway account in a throwaway database


class Failed(Exception):
    pass


CLOCK = {"start": time.perf_counter()}  # reset by main()


def say(text: str) -> None:
    """A progress line with the time since the start."""
    print(f"  {time.perf_counter() - CLOCK['start']:7.1f} s  {text} ...", flush=True)


# --- running a child ------------------------------------------------------------------------------


def run_child(args: list[str], log: Path) -> dict:
    """Run `python -m bench.child ...` and return its JSON; raise Failed with the end of its stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log, "a") as err:
        err.write(f"\n$ python -m bench.child {' '.join(args)}\n")
        err.flush()
        done = subprocess.run([sys.executable, "-m", "bench.child", *args], cwd=ROOT, env=env,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise Failed(f"bench.child {args[0]} exited {done.returncode}: {' | '.join(tail)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one backend ------------------------------------------------------------------------------------


class Backend:
    """Fresh databases of one kind: `fresh(main=True)` is the database the figures are measured on."""

    def __init__(self, name: str, workdir: Path, pg_url: str, pg_schema: str):
        self.name, self.workdir, self.pg_url = name, workdir, pg_url
        self.schemas = {True: pg_schema, False: f"{pg_schema}_scratch"}

    def fresh(self, main: bool) -> str:
        if self.name == "sqlite":
            return databases.fresh_sqlite(self.workdir, "bench.db" if main else "scratch.db")
        return databases.fresh_pg_schema(self.pg_url, self.schemas[main])

    def remove(self, url: str, main: bool) -> None:
        if self.name == "sqlite":
            databases.remove_sqlite(url)
        else:
            databases.drop_pg_schema(self.pg_url, self.schemas[main])


def add_bench_patient(engine, centre: int) -> None:
    """The 60-visit patient of figure 6 (at the centre of key `centre`) and the account that opens the chart (of
    every centre), through the write paths."""
    from db.engine import write_session
    from db.measures import record_measurement
    from db.patients import create_patient
    from db.treatments import start_medication
    from db.users import create_user
    from db.visits import record_assessment
    from models.catalog import SITE_CODES

    rng = random.Random(60)
    first = date(2021, 7, 5)
    with write_session(engine) as session:
        create_user(session=session, actor="bench", data={
            "username": BENCH_USER, "display_name": "Dr Bench", "role": "physician", "password": BENCH_PASSWORD})
        create_patient(session=session, actor="bench", data={
            "patient_id": BENCH_PATIENT, "diagnosis": "dcSSc", "sex": "F", "birth_year": 1970,
            "diagnosis_date": "2021-01-15", "name": "Bench Sixty", "mrn": "B-60", "notes": "", "centre_key": centre})
        start_medication(session=session, actor="bench", data={
            "patient_id": BENCH_PATIENT, "drug": "imatinib", "dose": 400, "dose_unit": "mg", "frequency": "daily",
            "route": "oral", "start_date": "2021-07-20", "end_date": "", "reason": ""})
        for visit in range(60):
            day = (first + timedelta(days=30 * visit)).isoformat()
            level = max(0.0, 2.4 - visit * 0.03)
            sites = {code: min(3, max(0, round(level + rng.uniform(-0.6, 0.6)))) for code in SITE_CODES}
            record_assessment(session=session, actor="bench", data={
                "patient_id": BENCH_PATIENT, "visit_date": day, "rater": "Dr Bench", **sites, "total": ""})
            if visit % 2 == 0:
                for side in ("R", "L"):
                    record_measurement(session=session, actor="bench", data={
                        "patient_id": BENCH_PATIENT, "date": day, "measure": "ftp_distance", "side": side,
                        "value": round(max(0.0, level * 1.5 + rng.uniform(-0.3, 0.3)), 1), "unit": "",
                        "rater": "Dr Bench"})


def time_calls(function, arguments: list, warmup: bool = True) -> list[float]:
    """Seconds of `function(*a)` for each argument tuple, after one unmeasured warm-up call."""
    if warmup and arguments:
        function(*arguments[0])
    samples = []
    for args in arguments:
        start = time.perf_counter()
        function(*args)
        samples.append(time.perf_counter() - start)
    return samples


ALL_EXPORT_KEYS = ("export_s", "raw_dump_s", "export_raw_ratio", "export_peak_mib", "export_cpu_ratio")
ONE_EXPORT_KEYS = ("export_one_s", "raw_dump_one_s", "export_one_raw_ratio", "export_one_peak_mib")


def centre_assessments(url: str, key: int | None) -> int:
    """Live assessments of the centre's patients (of every patient without `key`), read as the owner: what a
    one-centre export's skin_scores.csv may hold at most."""
    from sqlalchemy import func, select

    from db.engine import make_engine
    from models import Assessment, Patient

    statement = (select(func.count()).select_from(Assessment)
                 .join(Patient, Patient.patient_key == Assessment.patient_key)
                 .where(Assessment.deleted_at.is_(None), Patient.deleted_at.is_(None)))
    if key is not None:
        statement = statement.where(Patient.centre_key == key)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(statement).scalar_one()
    finally:
        engine.dispose()


def csv_rows(path: Path) -> int:
    """Data rows of a CSV file (0 when it is not there); a row's text holds no line break in these files."""
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8") as handle:
        return max(0, sum(1 for _ in handle) - 1)


def measure_backend(backend: Backend, ctx: dict, put) -> None:
    """Measure every figure on one backend; `put(key, value, samples=None, extra=None)` records a figure."""
    from db.engine import make_engine

    name, workdir, args = backend.name, backend.workdir, ctx["args"]
    log = workdir / f"{name}-children.log"
    rows_total, site_scores = ctx["rows_total"], ctx["site_scores"]

    def attempt(keys: tuple[str, ...], body) -> None:
        note = next((m for k in keys if k in NEEDS for m in [missing(*NEEDS[k])] if m), None)
        if note:
            for key in keys:
                put(key, note)
            return
        try:
            body()
        except Exception as error:  # noqa: BLE001 - a failed measurement is reported, not hidden
            for key in keys:
                put(key, f"failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300])

    # 5 + 7a: import of the full bundle into an empty database; run 1 loads the database measured below.
    url = None
    import_keys = ("import_s", "import_rows_per_s", "import_site_scores_per_s", "import_peak_mib")
    if missing(*NEEDS["import_s"]) is None:
        def do_import():
            nonlocal url
            seconds, peaks, reports = [], [], []
            for run in range(args.import_runs):
                main = run == 0
                target = backend.fresh(main)
                if ctx["centres_in_bundle"]:  # the import places each patient at its centre: create them first
                    create_centres(target, ctx["registry"].centres)
                say(f"[{name}] import run {run + 1}/{args.import_runs}")
                result = run_child(["import", "--url", target, "--path", str(ctx["bundle"])], log)
                seconds.append(result["seconds"])
                peaks.append(result["peak_rss_mib"])
                created = result.get("report", {}).get("created")
                if isinstance(created, dict) and sum(created.values()) != rows_total:
                    raise Failed(f"the import wrote {sum(created.values()):,} rows of {rows_total:,}: {created}")
                reports.append(created)
                if main:
                    url = target
                    if not ctx["centres_in_bundle"]:  # setup, after the timing: the patients to their centres
                        say(f"[{name}] moving the patients to their centres (the import has no centre column)")
                        assign_centres(url, ctx["registry"])
                else:
                    backend.remove(target, main=False)
            put("import_s", median(seconds), seconds, {"created": reports[0]})
            put("import_rows_per_s", rows_total / median(seconds))
            put("import_site_scores_per_s", site_scores / median(seconds))
            put("import_peak_mib", max(peaks), peaks)
            ctx["setup"][f"{name}_load_s"] = seconds[0]
        attempt(import_keys, do_import)
    else:
        for key in import_keys:
            put(key, missing(*NEEDS[key]))
    if url is None:  # no import: load through demo.load_registry (not a figure)
        from demo import load_registry

        url = backend.fresh(True)
        engine = make_engine(url)
        say(f"[{name}] loading with demo.load_registry")
        start = time.perf_counter()
        load_registry(engine, ctx["registry"], actor="bench")
        ctx["setup"][f"{name}_load_s"] = time.perf_counter() - start
        engine.dispose()
    ctx["urls"][name] = url
    # the figures below run as the app would: on PostgreSQL as a role of its own, subject to the row-level
    # security policies (bench.centres); the plain dumps read as the owner
    app_url = url
    if name == "postgresql":
        try:
            app_url = app_role_url(url)
            ctx["setup"]["postgresql_role"] = f"the app role {app_url.split('//', 1)[1].split('@', 1)[0]}"
        except Exception as error:  # noqa: BLE001 - then as the owner, said in the results
            ctx["setup"]["postgresql_role"] = f"the owner (no app role: {str(error).splitlines()[0][:200]})"
    one_key = centre_key(url, ONE_CENTRE)
    one_patients = [row["patient_id"] for row in ctx["registry"].patients if row.get("centre") == ONE_CENTRE]
    ctx["one_centre"] = {"code": ONE_CENTRE, "patients": len(one_patients)}

    from db.scope import scoped
    from models.scope import Scope

    engine = make_engine(app_url)
    one_engine = scoped(engine, Scope(frozenset({one_key}), frozenset({one_key}), (ONE_CENTRE,)))
    try:
        start = time.perf_counter()
        add_bench_patient(engine, one_key)
        ctx["setup"][f"{name}_bench_patient_s"] = time.perf_counter() - start
        rng = random.Random(args.seed)
        patients = [row["patient_id"] for row in ctx["registry"].patients]

        # 1 and 1b: chart data for random patients, of every centre by an all-centres account and of the one centre
        # by that centre's account.
        def chart_data(key, bind, chosen_from):
            from db.chart_data import load_chart_data

            chosen = [(bind, rng.choice(chosen_from)) for _ in range(args.samples)]
            samples = time_calls(load_chart_data, chosen)
            put(key, 1000 * median(samples), [1000 * s for s in samples])
        say(f"[{name}] chart data")
        attempt(("chart_data_ms",), lambda: chart_data("chart_data_ms", engine, patients))
        say(f"[{name}] chart data, one-centre account ({ONE_CENTRE})")
        attempt(("chart_data_one_ms",), lambda: chart_data("chart_data_one_ms", one_engine, one_patients))

        # 2: one assessment through the write path, each in its own transaction.
        def record():
            from db.engine import write_session
            from db.visits import record_assessment
            from models.catalog import SITE_CODES

            visit_day = min(date.today(), date(2026, 6, 30)).isoformat()

            def write_one(index: int) -> None:
                data = {"patient_id": rng.choice(patients), "visit_date": visit_day, "rater": f"Bench rater {index}",
                        **{code: rng.randint(0, 3) for code in SITE_CODES}, "total": ""}
                with write_session(engine) as session:
                    record_assessment(session=session, data=data, actor="bench")
            samples = time_calls(write_one, [(i,) for i in range(args.samples + 1)])
            put("record_assessment_ms", 1000 * median(samples), [1000 * s for s in samples])
        say(f"[{name}] record assessment")
        attempt(("record_assessment_ms",), record)

        # 3 and 3b: cohort summary of all the account's patients (n: how many it summarised).
        def cohort(key, bind):
            from db.cohort import cohort_summary

            found = {}

            def summary():
                found["n"] = cohort_summary(bind, None, months=(3, 6, 12, 24)).n
            samples = time_calls(summary, [()] * args.runs)
            put(key, median(samples), samples, {"n": found["n"]})
        say(f"[{name}] cohort summary")
        attempt(("cohort_summary_s",), lambda: cohort("cohort_summary_s", engine))
        say(f"[{name}] cohort summary, one-centre account ({ONE_CENTRE})")
        attempt(("cohort_summary_one_s",), lambda: cohort("cohort_summary_one_s", one_engine))
    finally:
        engine.dispose()

    # 4 + 7b: the command line's whole export and a plain dump of every table, each a process of its own,
    # alternating which goes first, timed from start to exit as a user sees them (bench.dump); 4d-4f + 7c: the same
    # for the one centre (its export by its account; the plain dump of its rows).
    def export(centre: str | None, keys: tuple[str, ...]):
        export_key, dump_key, ratio_key, peak_key = keys[:4]
        dump_key_arg = one_key if centre else None
        try:
            dump_command(url, workdir / f"{name}-dump-check")
        except NotMeasured as note:
            for key in keys:
                put(key, str(note))
            return
        label = f"one-centre export ({centre})" if centre else "export (python cli.py export)"
        exports, dumps, peaks, cpu, loads, sizes = [], [], [], {"export": [], "dump": []}, [], {}
        for run in range(args.runs):
            say(f"[{name}] {label} + plain dump run {run + 1}/{args.runs}")
            out, raw = workdir / f"{name}-export", workdir / f"{name}-dump"
            order = ("export", "dump") if run % 2 == 0 else ("dump", "export")
            results = {}
            for what in order:
                command = (export_command(app_url, out, centre) if what == "export"
                           else dump_command(url, raw, dump_key_arg))
                results[what] = measure(command, log)
            missing_files = [n for n in FILE_ORDER if not (out / n).is_file()]
            if missing_files:
                raise Failed(f"the export wrote no {', '.join(missing_files)}")
            exports.append(results["export"]["seconds"])
            dumps.append(results["dump"]["seconds"])
            peaks.append(results["export"]["peak_rss_mib"])
            for what in cpu:
                cpu[what].append(results[what]["cpu_s"])
            loads.append(max(results["export"]["load_average"], results["dump"]["load_average"]))
            sizes.update(export_bytes=folder_bytes(out), dump_bytes=folder_bytes(raw),
                         patients=csv_rows(out / "patients.csv"), skin_scores=csv_rows(out / "skin_scores.csv"),
                         centre_assessments=centre_assessments(url, one_key if centre else None))
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(raw, ignore_errors=True)
        put(export_key, median(exports), exports, {**sizes, "cpu_s": cpu["export"], "load_average": loads})
        put(dump_key, median(dumps), dumps, {"cpu_s": cpu["dump"], "program": dump_command(url, workdir)[0][0]})
        put(ratio_key, median(exports) / median(dumps))
        put(peak_key, max(peaks), peaks)
        if not centre:
            put("export_cpu_ratio", median(cpu["export"]) / median(cpu["dump"]))
    attempt(ALL_EXPORT_KEYS, lambda: export(None, ALL_EXPORT_KEYS))
    attempt(ONE_EXPORT_KEYS, lambda: export(ONE_CENTRE, ONE_EXPORT_KEYS))

    # 6: the chart screen by AppTest, 60 visits.
    def render():
        say(f"[{name}] AppTest chart render")
        result = run_child(["chart", "--url", app_url, "--patient", BENCH_PATIENT, "--username", BENCH_USER,
                            "--runs", str(args.runs)], log)
        if result["problems"]:
            raise Failed("the chart page showed: " + " | ".join(result["problems"]))
        put("chart_render_s", median(result["samples"]), result["samples"],
            {"warm_median_s": median(result["warm_samples"]), "warm_samples": result["warm_samples"],
             "warmup_s": result["warmup_s"], "charts": result["charts"], "peak_rss_mib": result["peak_rss_mib"]})
    attempt(("chart_render_s",), render)


# --- the report ------------------------------------------------------------------------------------


def holds(figure, values: dict[str, object]) -> str:
    if figure.holds is None:
        return ""
    measured = {b: v for b, v in values.items() if isinstance(v, int | float)}
    if not measured:
        return "not measured"
    failing = [BACKEND_LABELS[b] for b, v in measured.items() if not figure.holds(v)]
    if failing:
        return "no (" + ", ".join(failing) + ")"
    if len(measured) < len(values):
        return "yes (" + ", ".join(BACKEND_LABELS[b] for b in measured) + " only)"
    return "yes"


def shown(figure, value) -> str:
    if isinstance(value, int | float):
        return f"{value:,.{figure.digits}f}"
    return str(value)


def table(results: dict) -> str:
    head = ("figure", "SQLite", "PostgreSQL", "target", "holds?")
    rows = [head]
    for figure in FIGURES:
        entry = results["figures"][figure.key]
        rows.append((figure.label, shown(figure, entry["sqlite"]), shown(figure, entry["postgresql"]),
                     figure.target, entry["holds"]))
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(len(head))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def one_centre_note(results: dict, ctx: dict) -> str:
    """Which centre the one-centre figures are of, and how many patients its account read: the whole registry
    when a read path does not filter by the account's centres yet."""
    one = ctx.get("one_centre") or {"code": ONE_CENTRE, "patients": 0}
    figures = results["figures"]
    expected = one["patients"] + 1  # the bench patient of figure 6 belongs to that centre too
    read = []
    for backend in BACKENDS:
        cohort = figures["cohort_summary_one_s"]["extra"].get(backend, {})
        if "n" in cohort:
            flag = "" if cohort["n"] == expected else " (NOT limited to the centre)"
            read.append(f"{BACKEND_LABELS[backend]} cohort summary of {cohort['n']:,} patients{flag}")
        export = figures["export_one_s"]["extra"].get(backend, {})
        if "patients" in export:
            flag = ("" if export["patients"] == expected and export["skin_scores"] <= export["centre_assessments"]
                    else " (NOT limited to the centre)")
            read.append(f"{BACKEND_LABELS[backend]} export of {export['patients']:,} patients and "
                        f"{export['skin_scores']:,} skin scores (the centre has {export['centre_assessments']:,})"
                        f"{flag}")
    text = (f"One-centre account: centre {one['code']}, {expected:,} of {results['patients'] + 1:,} patients "
            f"(the largest of {results['centres']} centres)")
    if read:
        text += "; " + "; ".join(read)
    note = ctx["setup"]["centres"]
    return text + f". Centres: {note}."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000, help="registry size (default 20,000)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--runs", type=int, default=5, help="runs of cohort, export/raw dump, AppTest (default 5)")
    parser.add_argument("--import-runs", type=int, default=3, help="imports into an empty database (default 3)")
    parser.add_argument("--samples", type=int, default=50,
                        help="random patients for chart data / assessments recorded (default 50)")
    parser.add_argument("--skip-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostgreSQL only (quick checks)")
    parser.add_argument("--pg-url", default=os.environ.get("SKINTRACK_BENCH_PG_URL", databases.DEFAULT_PG_URL))
    parser.add_argument("--pg-schema", default="bench", help="schema used (dropped and recreated; default bench)")
    parser.add_argument("--workdir", type=Path, help="folder for the bundle and SQLite files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the work folder")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    for name in ("patients", "runs", "import_runs", "samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall = CLOCK["start"] = time.perf_counter()
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="skintrack-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    from demo import generate_registry

    print(f"generating {args.patients:,} patients in {len(BENCH_CENTRES)} centres ...", flush=True)
    start = time.perf_counter()
    registry = generate_registry(args.patients, centres=BENCH_CENTRES)
    setup = {"generate_s": time.perf_counter() - start}
    start = time.perf_counter()
    bundle = workdir / "bundle"
    centres_in_bundle = importer_takes_centre()
    write_bundle(registry if centres_in_bundle else without_centre(registry), bundle)
    setup["bundle_write_s"] = time.perf_counter() - start
    setup["centres"] = ("patients.csv's centre column, centres created before the import" if centres_in_bundle else
                        "the importer has no centre column yet: imported into the default centre, then moved to "
                        "their centres by one UPDATE per centre (setup, not timed)")
    counts = registry.counts()
    ctx = {"args": args, "registry": registry, "bundle": bundle, "rows_total": sum(counts.values()),
           "site_scores": site_score_count(registry), "setup": setup, "urls": {},
           "centres_in_bundle": centres_in_bundle}
    sizes = {c.code: 0 for c in BENCH_CENTRES}
    for row in registry.patients:
        sizes[row["centre"]] += 1
    setup["centre_sizes"] = sizes
    print(f"  {counts}, {ctx['site_scores']:,} site scores; generated in {setup['generate_s']:.1f} s, "
          f"bundle written in {setup['bundle_write_s']:.1f} s", flush=True)
    print("  centres: " + ", ".join(f"{code} {n:,}" for code, n in sizes.items()), flush=True)

    results = {"patients": args.patients, "counts": counts, "centres": len(BENCH_CENTRES),
               "site_scores": ctx["site_scores"],
               "runs": args.runs, "import_runs": args.import_runs, "samples": args.samples,
               "environment": {"python": platform.python_version(), "machine": platform.machine(),
                               "cpus": os.cpu_count(), "system": platform.platform(),
                               "load_average_start": list(os.getloadavg())},
               "figures": {f.key: {"label": f.label, "target": f.target, "sqlite": None, "postgresql": None,
                                   "samples": {}, "extra": {}} for f in FIGURES},
               "setup": setup}

    def recorder(backend: str):
        def put(key, value, samples=None, extra=None):
            entry = results["figures"][key]
            entry[backend] = value
            if samples is not None:
                entry["samples"][backend] = samples
            if extra:
                entry["extra"][backend] = extra
        return put

    pg_problem = "not measured: --skip-postgres" if args.skip_postgres else None
    if pg_problem is None:
        reason = databases.pg_reachable(args.pg_url)
        pg_problem = f"not measured: {reason}" if reason else None
    for name in BACKENDS:
        put = recorder(name)
        skipped = "not measured: --skip-sqlite" if name == "sqlite" and args.skip_sqlite else None
        skipped = skipped or (pg_problem if name == "postgresql" else None)
        if skipped:
            for figure in FIGURES:
                put(figure.key, skipped)
            continue
        print(f"{BACKEND_LABELS[name]}:", flush=True)
        backend = Backend(name, workdir, args.pg_url, args.pg_schema)
        try:
            measure_backend(backend, ctx, put)
        finally:
            if not args.keep and name == "postgresql":
                databases.drop_pg_schema(args.pg_url, args.pg_schema)
                drop_app_role(args.pg_url)

    failed = False
    for figure in FIGURES:
        entry = results["figures"][figure.key]
        entry["holds"] = holds(figure, {b: entry[b] for b in BACKENDS})
        failed = failed or any(str(entry[b]).startswith("failed") for b in BACKENDS)
    results["wall_s"] = time.perf_counter() - wall
    results["environment"]["load_average_end"] = list(os.getloadavg())
    print()
    print(f"Skintrack benchmark: {args.patients:,} patients ({counts['skin_scores']:,} assessments, "
          f"{ctx['site_scores']:,} site scores, {counts['measurements']:,} measurements); "
          f"median of {args.runs} runs ({args.import_runs} imports, {args.samples} samples for 1-2); "
          f"wall time {results['wall_s']:.0f} s; {os.cpu_count()} CPUs, load average "
          f"{results['environment']['load_average_start'][0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(table(results))
    print(one_centre_note(results, ctx))
    if "postgresql_role" in setup:
        print(f"PostgreSQL figures after the import measured as {setup['postgresql_role']}.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"JSON written to {args.json}")
    if own_workdir and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    elif args.keep:
        print(f"kept: {workdir} {ctx['urls']}")
    return 1 if failed else 0
