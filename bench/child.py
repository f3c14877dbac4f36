"""One measured operation in a process of its own: `python -m bench.child <what> ...` (import, chart, or export: one
centre's export where the command line has no `--centre` yet), or
`python -m bench.child measure -- COMMAND...` to time another program (bench.dump).

Import and the AppTest render run here, so that the peak RSS (the kernel's high-water mark of the process)
belongs to that one operation plus the interpreter and its libraries, and nothing the parent did before
(generating 20,000 patients) inflates it. The last line
of stdout is a JSON object: seconds (the operation only, not the start-up), peak_rss_mib and
rss_before_mib (resident size after the imports, before the operation).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _import(url: str, bundle: Path) -> dict:
    from db.engine import make_engine
    from exchange.api import import_bundle

    engine = make_engine(url)
    before = _rss()
    start = time.perf_counter()
    report = import_bundle(engine, bundle, actor="bench")
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "rss_before_mib": before, "report": _plain(report)}


def _export(url: str, centre: str, out: Path) -> dict:
    """`python cli.py export OUT` of one centre's patients, as the command line runs it, but with the engine scoped
    to that centre (for a command line without `--centre`): the same export_bundle call with the CLI's defaults."""
    import cli
    from db.centres import centre_keys
    from db.engine import ensure_schema, make_engine
    from db.scope import scoped
    from exchange import export_bundle
    from models.scope import Scope

    engine = make_engine(url)
    ensure_schema(engine)
    keys = centre_keys(engine, [centre])
    engine = scoped(engine, Scope(frozenset(keys.values()), frozenset(keys.values()), (centre,)))
    args = cli.build_parser().parse_args(["export", str(out)])
    start = time.perf_counter()
    result = export_bundle(engine, out, fmt=args.format, deidentify=args.deidentify, anchor_drug=args.anchor_drug,
                           months=cli._months(args.months), response_month=args.response_month, patients=None,
                           actor="bench")
    seconds = time.perf_counter() - start
    print("\n".join(result.lines()), file=sys.stderr)
    engine.dispose()
    return {"seconds": seconds}


def _chart(url: str, patient: str, username: str, runs: int) -> dict:
    os.environ["SKINTRACK_DATABASE_URL"] = url
    from bench.render import render_chart

    return render_chart(patient, username, runs)


def _rss() -> float:
    from bench.common import rss_now_mib

    return rss_now_mib()


def _plain(report) -> dict:
    """The ImportReport's counts, whatever its exact shape (for the record, not for a figure)."""
    try:
        from dataclasses import asdict

        return json.loads(json.dumps(asdict(report), default=str))
    except Exception:  # noqa: BLE001 - the report is informative only
        return {"repr": repr(report)[:500]}


def _measure(argv: list[str]) -> dict:
    """Run one command (standard input passed on, its output sent to standard error) and report it as its user
    would see it: wall seconds from start to exit, CPU seconds (user + system, of the command and of the worker
    processes it waited for), peak resident size (the largest in that process tree: wait4's rusage), exit code.
    This process is small, so the command's peak is its own."""
    import subprocess

    script = sys.stdin.read()
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=sys.stderr, stderr=sys.stderr, text=True)  # noqa: S603
    process.stdin.write(script)
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
            "returncode": process.returncode, "load_average": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["measure"]:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        result = _measure(command)
        sys.stdout.write("\n" + json.dumps(result) + "\n")
        return result["returncode"]
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("what", choices=("import", "chart", "export"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--path", type=Path, help="bundle folder to import, or to export into")
    parser.add_argument("--centre", default="", help="export: the one centre's code")
    parser.add_argument("--patient", default="")
    parser.add_argument("--username", default="")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.what == "import":
        result = _import(args.url, args.path)
    elif args.what == "export":
        result = _export(args.url, args.centre, args.path)
    else:
        result = _chart(args.url, args.patient, args.username, args.runs)
    from bench.common import peak_rss_mib

    result["peak_rss_mib"] = peak_rss_mib()
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
