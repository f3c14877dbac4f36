"""One measured operation in a process of its own: `python -m bench.child <what> ...`.

Import, export, raw dump and the AppTest render run here, so that the peak RSS (`ru_maxrss`, the
kernel's high-water mark of the process) belongs to that one operation plus the interpreter and its
libraries, and nothing the parent did before (generating 20,000 patients) inflates it. The last line
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


def _export(url: str, out: Path, fmt: str) -> dict:
    from bench.bundle import folder_bytes
    from db.engine import make_engine
    from exchange.api import export_bundle

    engine = make_engine(url)
    before = _rss()
    start = time.perf_counter()
    export_bundle(engine, out, fmt=fmt, actor="bench")
    seconds = time.perf_counter() - start
    engine.dispose()
    size = folder_bytes(out) if out.is_dir() else (out.stat().st_size if out.exists() else 0)
    return {"seconds": seconds, "rss_before_mib": before, "bytes": size}


def _raw(url: str, out: Path) -> dict:
    from bench.bundle import folder_bytes, raw_dump
    from db.engine import make_engine

    engine = make_engine(url)
    before = _rss()
    start = time.perf_counter()
    rows = raw_dump(engine, out)
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "rss_before_mib": before, "rows": rows, "bytes": folder_bytes(out)}


def _export_then_raw(url: str, out: Path, fmt: str) -> dict:
    """Export, then (same process, same warm caches) the raw dump; the export's peak RSS is read before
    the raw dump starts, so it is the export's alone."""
    from bench.common import peak_rss_mib

    export = _export(url, out / "export", fmt)
    export["peak_rss_mib"] = peak_rss_mib()
    raw = _raw(url, out / "raw")
    raw["peak_rss_mib"] = peak_rss_mib()
    return {"export": export, "raw": raw}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("what", choices=("import", "export", "raw", "export+raw", "chart"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--path", type=Path, help="bundle folder to import, or the output of export/raw")
    parser.add_argument("--fmt", default="csv")
    parser.add_argument("--patient", default="")
    parser.add_argument("--username", default="")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.what == "import":
        result = _import(args.url, args.path)
    elif args.what == "export":
        result = _export(args.url, args.path, args.fmt)
    elif args.what == "raw":
        result = _raw(args.url, args.path)
    elif args.what == "export+raw":
        result = _export_then_raw(args.url, args.path, args.fmt)
    else:
        result = _chart(args.url, args.patient, args.username, args.runs)
    from bench.common import peak_rss_mib

    result["peak_rss_mib"] = peak_rss_mib()
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
