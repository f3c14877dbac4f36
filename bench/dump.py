"""Figure 4, as a user sees it: the command line's whole export against a plain dump of every table of the same
database, each a process of its own, timed from its start to its exit.

- export: `python cli.py export OUT` (every file, derived ones included), with SKINTRACK_DATABASE_URL set;
- dump: the database's own client writing every table (the app's, the audit trail, alembic's) as CSV —
  `sqlite3 FILE` with `.mode csv` and `.once` per table, or `psql` with one `\\copy ... TO ... CSV HEADER`
  per table of the schema — no validation, no formatting, no joins.

Each runs under `python -m bench.child measure` (a small process of its own), which reports the command's wall
seconds, its CPU seconds (user + system, its worker processes included) and its peak resident size (the largest
of the process tree), unaffected by the benchmark's own memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import inspect

from db.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]


class NotMeasured(Exception):
    """The dump cannot run here (its client program is missing): the figure says why instead of a number."""


def tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise NotMeasured(f"not measured: the {name} program is not installed")
    return found


def _where(name: str, centre_key: int | None) -> str:
    """The condition on a table's rows a one-centre account sees ('' for every row): its patients and their
    records, the audit rows of no patient or of its patients (db.scope.CLINICAL_TABLES); other tables whole."""
    from db.scope import CLINICAL_TABLES

    if centre_key is None or name not in CLINICAL_TABLES:
        return ""
    if name == "patient":
        return f" WHERE centre_key = {int(centre_key)}"
    mine = f"patient_key IN (SELECT patient_key FROM patient WHERE centre_key = {int(centre_key)})"  # noqa: S608 - an int
    return f" WHERE patient_key IS NULL OR {mine}" if name == "audit_event" else f" WHERE {mine}"


def dump_command(url: str, folder: Path, centre_key: int | None = None) -> tuple[list[str], dict[str, str], str]:
    """(argv, extra environment, standard input) of a plain CSV dump of every table of `url` into `folder`: every
    row, or with `centre_key` the rows of that centre's patients in the clinical tables (the other tables whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = tables(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        script = ".headers on\n.mode csv\n" + "".join(
            f".once '{folder / name}.csv'\nSELECT * FROM \"{name}\"{_where(name, centre_key)};\n" for name in names)
        return [_program("sqlite3"), "-batch", path], {}, script
    parts = urlsplit(url)
    schema = ""
    for option in parse_qs(parts.query).get("options", []):
        if option.startswith("-csearch_path="):
            schema = unquote(option.removeprefix("-csearch_path="))
    libpq = f"postgresql://{parts.netloc}{parts.path}"

    def source(name: str) -> str:  # a whole table as before; a query only where rows are left out
        where = _where(name, centre_key)
        # the names come from the database's own catalogue (tables(url)), the condition holds an int
        return f"(SELECT * FROM \"{name}\"{where})" if where else f'"{name}"'  # noqa: S608

    script = "".join(f"\\copy {source(name)} TO '{folder / name}.csv' WITH (FORMAT csv, HEADER)\n" for name in names)
    environment = {"PGOPTIONS": f"-csearch_path={schema}"} if schema else {}
    return [_program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq], environment, script


def export_command(url: str, out: Path, centre: str | None = None) -> tuple[list[str], dict[str, str], str]:
    """(argv, extra environment, standard input) of the command line's whole export of `url` to `out`; with
    `centre` (a code) the export of that centre's patients: `--centre CODE` where the command line has it, else the
    same export through exchange.export_bundle with a scoped engine (`python -m bench.child export`)."""
    environment = {"SKINTRACK_DATABASE_URL": url}
    if centre is None:
        return [sys.executable, str(ROOT / "cli.py"), "export", str(out)], environment, ""
    from bench.centres import cli_export_takes_centre

    if cli_export_takes_centre():
        return [sys.executable, str(ROOT / "cli.py"), "export", str(out), "--centre", centre], environment, ""
    return ([sys.executable, "-m", "bench.child", "export", "--url", url, "--centre", centre, "--path", str(out)],
            environment, "")


def measure(command: tuple[list[str], dict[str, str], str], log: Path) -> dict:
    """Run `command` under `python -m bench.child measure` and return its figures (seconds, cpu_s, peak_rss_mib)."""
    argv, environment, stdin = command
    env = dict(os.environ, **environment,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log, "a") as err:
        err.write(f"\n$ {' '.join(argv)}\n")
        err.flush()
        done = subprocess.run([sys.executable, "-m", "bench.child", "measure", "--", *argv],  # noqa: S603
                              cwd=ROOT, env=env, input=stdin, stdout=subprocess.PIPE, stderr=err, text=True,
                              check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {' | '.join(tail)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def compare(url: str, workdir: Path, runs: int, log: Path) -> dict:
    """Figure 4 on an existing database: `runs` alternating pairs of export and dump; every sample."""
    samples = {"export": [], "dump": []}
    for run in range(runs):
        order = ("export", "dump") if run % 2 == 0 else ("dump", "export")
        for what in order:
            target = workdir / what
            command = export_command(url, target) if what == "export" else dump_command(url, target)
            samples[what].append(measure(command, log))
            shutil.rmtree(target, ignore_errors=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.dump URL`: figure 4 alone, on a database that is already loaded."""
    import argparse
    import statistics
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.dump", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the database (e.g. sqlite:////path/to/file.db)")
    parser.add_argument("--runs", type=int, default=3, help="pairs of export and dump (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="skintrack-dump-") as folder:
        try:
            samples = compare(args.url, Path(folder), args.runs, Path(folder) / "children.log")
        except (NotMeasured, RuntimeError) as error:
            print(error, file=sys.stderr)
            return 1
    def listed(runs, key, digits=2):
        return ", ".join(f"{r[key]:.{digits}f}" for r in runs)

    for what, runs in samples.items():
        print(f"{what}: wall {listed(runs, 'seconds')} s; CPU {listed(runs, 'cpu_s')} s; peak "
              f"{max(r['peak_rss_mib'] for r in runs):.0f} MiB; load average {listed(runs, 'load_average', 1)}")
    wall = {w: statistics.median(r["seconds"] for r in runs) for w, runs in samples.items()}
    cpu = {w: statistics.median(r["cpu_s"] for r in runs) for w, runs in samples.items()}
    print(f"median export / dump: wall {wall['export']:.2f} / {wall['dump']:.2f} s = "
          f"{wall['export'] / wall['dump']:.2f}x; CPU {cpu['export']:.2f} / {cpu['dump']:.2f} s = "
          f"{cpu['export'] / cpu['dump']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
