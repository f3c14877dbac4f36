"""Hostile bundles against the importer: peak memory, seconds and report lines, by the CLI and the Import screen.

    python -m bench.hostile [--workdir DIR] [--cases bomb,rows,header] [--repo PATH] [--json FILE]

Three files, generated in a temporary folder (issue 12):
- bomb:   a zip holding one highly compressible 2 GiB member (measurements.csv of one repeated bad row);
- rows:   a 200 MB measurements.csv of invalid rows (every value "not a number");
- header: a measurements.csv whose header names a million unknown columns.

Each is imported twice, each time in a process of its own so that its peak RSS (VmHWM, the high-water mark of its
address space) is that import's: by `python cli.py import PATH` (report lines = lines on standard error),
and by the Import screen's path (`exchange.api.import_bundle` on the uploaded bytes, held as Streamlit holds an
upload, as the Check button runs it, then the report the screen draws). `--repo` runs another checkout (e.g. the
code before a change) with this same script. A run is killed at `--max-rss` MiB or `--timeout` seconds and
reported as such, so that measuring the unbounded code cannot take the machine down. Targets: peak RSS
<= 1 GiB and a refusal within seconds. Nothing here needs the rest of bench/.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
HEADER = b"patient_id,date,measure,side,value,unit,rater\n"
CASES = ("bomb", "rows", "header")
PATHS = ("cli", "screen", "server")


# --- the files -------------------------------------------------------------------------------------------

def bad_row(number: int) -> bytes:
    """One measurements.csv row whose value is not a number (about 85 bytes)."""
    return (f"HOSTILE-{number:09d},2021-03-{number % 28 + 1:02d},grip_strength,R,not a number {number % 1000:03d},"
            f"kg,rater number {number % 97:02d}\n").encode()


def make_bomb(path: Path, size: int = 2 * 1024 * MIB) -> Path:
    """A zip of one member, bundle/measurements.csv, of `size` bytes: the header then one bad row repeated."""
    block = bad_row(1) * (MIB // len(bad_row(1)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("bundle/measurements.csv", "w", force_zip64=True) as member:
            member.write(HEADER)
            written = len(HEADER)
            while written < size:
                chunk = block[:size - written]
                member.write(chunk)
                written += len(chunk)
    return path


def make_rows(folder: Path, size: int = 200_000_000) -> Path:
    """A bundle folder holding a measurements.csv of about `size` bytes of invalid rows (all different)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "measurements.csv", "wb") as handle:
        handle.write(HEADER)
        written, number, rows = len(HEADER), 0, []
        while written < size:
            number += 1
            row = bad_row(number)
            rows.append(row)
            written += len(row)
            if len(rows) == 10_000:
                handle.write(b"".join(rows))
                rows = []
        handle.write(b"".join(rows))
    return folder


def make_header(folder: Path, columns: int = 1_000_000) -> Path:
    """A bundle folder holding a measurements.csv whose header names `columns` unknown columns, and one row."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ",".join(f"unknown_{number:07d}" for number in range(columns))
    (folder / "measurements.csv").write_bytes(names.encode() + b"\n" + b"x," * (columns - 1) + b"x\n")
    return folder


def make_case(case: str, workdir: Path, scale: float = 1.0) -> Path:
    if case == "bomb":
        return make_bomb(workdir / "bomb.zip", int(2 * 1024 * MIB * scale))
    if case == "rows":
        return make_rows(workdir / "rows", int(200_000_000 * scale))
    return make_header(workdir / "header", int(1_000_000 * scale))


# --- one measured run ------------------------------------------------------------------------------------

def _watch(pid: int, done: threading.Event, max_rss_mib: float, timeout: float, verdict: dict) -> None:
    """Kill process `pid` if it goes past `max_rss_mib` of resident memory or `timeout` seconds (until `done`: the
    parent reaps it with wait4, so this thread never waits on it)."""
    status = Path(f"/proc/{pid}/status")
    started = time.monotonic()
    while not done.wait(0.1):
        try:
            rss = next((int(line.split()[1]) / 1024 for line in status.read_text().splitlines()
                        if line.startswith("VmRSS:")), 0.0)
        except OSError:
            continue
        if rss > max_rss_mib:
            verdict["killed"] = f"killed at {rss:,.0f} MiB resident (--max-rss {max_rss_mib:,.0f})"
        elif time.monotonic() - started > timeout:
            verdict["killed"] = f"killed after {timeout:,.0f} s (--timeout)"
        if "killed" in verdict and not done.is_set():
            os.kill(pid, signal.SIGKILL)  # not reaped yet (a zombie at worst), so the pid is still this child's
            return


# Runs a script and, at its exit, writes its VmHWM (the peak RSS of its own address space) to $HOSTILE_HWM. Not
# ru_maxrss: the kernel carries the parent's RSS at fork into the child's ru_maxrss (a test run of 1.4 GB would
# make every child look 1.4 GB), while VmHWM starts afresh at exec.
_PEAK = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["HOSTILE_HWM"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(_peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def measure(argv: list[str], *, env: dict, cwd: Path, max_rss_mib: float, timeout: float) -> dict:
    """Run the script `argv[1:]` with the interpreter `argv[0]`; return seconds, CPU seconds, peak RSS (MiB, its
    VmHWM), exit status, stdout and stderr line counts and their heads."""
    out_path, err_path = Path(tempfile.mktemp(suffix=".out")), Path(tempfile.mktemp(suffix=".err"))
    peak_path = Path(tempfile.mktemp(suffix=".hwm"))
    verdict: dict = {}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen([argv[0], "-c", _PEAK, *argv[1:]], stdout=out, stderr=err,
                                   env={**env, "HOSTILE_HWM": str(peak_path)}, cwd=cwd)
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(process.pid, done, max_rss_mib, timeout, verdict),
                                   daemon=True)
        watcher.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        done.set()
        watcher.join()
    if peak_path.exists():
        peak = round(int(peak_path.read_text()) / 1024)
        peak_path.unlink()
    else:  # killed before its exit: the watcher's last reading is in the verdict
        peak = round(usage.ru_maxrss / 1024)
    result = {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
              "peak_rss_mib": peak, "exit": process.returncode, **verdict}
    for stream, path in (("stdout", out_path), ("stderr", err_path)):
        lines = 0
        head: list[str] = []
        with open(path, "rb") as handle:
            for raw in handle:
                lines += 1
                if len(head) < 3:
                    head.append(raw[:300].decode("utf-8", "replace").rstrip("\n"))
        result[f"{stream}_lines"], result[f"{stream}_head"] = lines, head
        path.unlink()
    return result


def run_case(case: str, bundle: Path, path: str, *, repo: Path, workdir: Path, max_rss_mib: float,
             timeout: float) -> dict:
    database = workdir / f"{case}-{path}.db"
    database.unlink(missing_ok=True)
    env = {**os.environ, "SKINTRACK_DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(repo)}
    if path == "cli":
        argv = [sys.executable, str(repo / "cli.py"), "import", str(bundle)]
        # the schema first (as `init-db` would), so that the measured run is the import alone
        subprocess.run([sys.executable, str(repo / "cli.py"), "init-db"], env=env, cwd=repo, check=True,
                       capture_output=True)
    else:
        argv = [sys.executable, str(Path(__file__).resolve()), "--screen-child", str(bundle)]
    return measure(argv, env=env, cwd=repo, max_rss_mib=max_rss_mib, timeout=timeout)


# --- the Import screen's path, in a process of its own ------------------------------------------------------

def screen_child(bundle: Path) -> int:
    """What the Import screen does with an upload of `bundle`: the uploaded bytes held as Streamlit holds them, then
    the Check button's `import_bundle(..., dry_run=True)`, then the report table it draws. Prints the report lines
    (the screen shows them) and a last line of JSON."""
    import pandas as pd  # noqa: F401  (the screen's libraries are loaded in its server)
    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    from db.engine import ensure_schema, make_engine
    from exchange import BundleRejected, import_bundle

    engine = make_engine()
    ensure_schema(engine)
    files = [bundle] if bundle.is_file() else sorted(p for p in bundle.iterdir() if p.is_file())
    uploads = [UploadedFile(UploadedFileRec(str(i), p.name, "application/octet-stream", p.read_bytes()), FileURLs())
               for i, p in enumerate(files)]
    started = time.perf_counter()
    # as the screen of that checkout does: the uploads themselves, or (before streams) their bytes
    streams = importlib.util.find_spec("exchange.limits") is not None
    if len(uploads) == 1 and uploads[0].name.lower().endswith(".zip"):
        source = uploads[0] if streams else uploads[0].getvalue()
    else:
        source = {f.name: f if streams else f.getvalue() for f in uploads}
    try:
        import_bundle(engine, source, actor="bench", dry_run=True, bundle_name=bundle.name)
    except BundleRejected as rejected:
        lines = rejected.problems.lines() if hasattr(rejected.problems, "lines") else list(rejected.problems)
        table = pd.DataFrame([{"file": p.file, "line": p.line, "column": p.column, "reason": p} for p in
                              rejected.problems])
        print(rejected.reason)
        for line in lines:
            print(line)
        print(json.dumps({"seconds": time.perf_counter() - started, "rows_shown": len(table)}))
        return 1
    print(json.dumps({"seconds": time.perf_counter() - started, "rows_shown": 0}))
    return 0


# --- the Import screen in a real server, driven by a real browser ------------------------------------------------

_PREPARE = """
from db.engine import make_engine, upgrade_database, write_session
from db.users import create_user
engine = make_engine()
upgrade_database(engine)
with write_session(engine) as session:
    create_user(session=session, actor="bench", data={"username": "ada", "display_name": "Ada Admin",
                                                      "role": "admin", "password": "correct horse battery"})
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _wait_for_app(page, timeout: float) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    status = """document.querySelector('[data-testid="stStatusWidget"]')"""
    page.wait_for_function(f"() => !{status} || !{status}.innerText.includes('Running')", timeout=timeout)
    page.wait_for_timeout(300)


def run_server(case: str, bundle: Path, *, repo: Path, workdir: Path, max_rss_mib: float, timeout: float) -> dict:
    """`streamlit run app.py` of `repo`, an administrator signs in with Chromium, uploads the bundle's files on the
    Import screen and presses Check: the seconds from the click to the rejection on the screen, and the server's
    peak RSS (VmHWM) over the whole visit, upload included (its resident size before the upload beside it)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    database = workdir / f"{case}-server.db"
    database.unlink(missing_ok=True)
    home = workdir / "server-home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "SKINTRACK_DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(repo),
           "HOME": str(home), "XDG_CONFIG_HOME": str(home), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    subprocess.run([sys.executable, "-c", _PREPARE], env=env, cwd=repo, check=True, capture_output=True)
    port = _free_port()
    log = workdir / f"{case}-server.log"
    with open(log, "wb") as handle:  # uploads up to 2 GiB: Streamlit's own limit is not what is measured here
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(repo / "app.py"),
                                   "--server.headless", "true", "--server.port", str(port), "--server.address",
                                   "127.0.0.1", "--server.maxUploadSize", "2048", "--server.fileWatcherType", "none",
                                   "--browser.gatherUsageStats", "false"], cwd=repo, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT)
    verdict: dict = {}
    done = threading.Event()
    threading.Thread(target=_watch, args=(server.pid, done, max_rss_mib, timeout, verdict), daemon=True).start()
    result: dict = {}
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        files = [bundle] if bundle.is_file() else sorted(p for p in bundle.iterdir() if p.is_file())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            wait = timeout * 1000
            page.goto(url)
            _wait_for_app(page, wait)
            page.get_by_label("Username").fill("ada")
            page.get_by_label("Password", exact=True).fill("correct horse battery")
            page.get_by_role("button", name="Sign in").click()
            _wait_for_app(page, wait)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Import").click()
            _wait_for_app(page, wait)
            result["rss_before_upload_mib"] = round(_status_kib(server.pid, "VmRSS") / 1024)
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(p) for p in files])
            _wait_for_app(page, wait)
            started = time.perf_counter()
            page.get_by_role("button", name="Check the bundle (nothing is written)").click()
            while True:  # until the report shows, the server is killed (--max-rss) or the time is up
                try:
                    page.get_by_text("the bundle was rejected").first.wait_for(timeout=5_000)
                    break
                except PlaywrightTimeout:
                    if server.poll() is not None or time.perf_counter() - started > timeout:
                        raise
            _wait_for_app(page, wait)
            result["seconds"] = round(time.perf_counter() - started, 2)
            shown = page.get_by_test_id("stAlert").first.inner_text().splitlines()
            result["stdout_head"] = [line.strip()[:300] for line in shown if "rejected" in line]
            texts = page.get_by_test_id("stText").all_inner_texts()
            result["summary"] = [line for text in texts for line in text.splitlines()][:5]
            browser.close()
    except Exception as error:  # noqa: BLE001 - a killed or failing server is a result, reported as such
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    finally:
        result["peak_rss_mib"] = round(_status_kib(server.pid, "VmHWM") / 1024) if server.poll() is None else None
        done.set()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {**result, **verdict}


# --- the whole run -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="where the files go (default: a temporary "
                                                                   "folder, removed afterwards)")
    parser.add_argument("--cases", default=",".join(CASES), help="bomb,rows,header (default: all)")
    parser.add_argument("--paths", default="cli,screen", help="cli,screen,server (default: cli,screen; server: a real "
                                                              "`streamlit run` and Chromium)")
    parser.add_argument("--scale", type=float, default=1.0, help="size of every file relative to the issue's")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--max-rss", type=float, default=4096, help="kill a run above this many MiB (default 4096)")
    parser.add_argument("--timeout", type=float, default=600, help="kill a run after this many seconds (default 600)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--screen-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.screen_child is not None:
        return screen_child(args.screen_child)

    cases = [c for c in args.cases.split(",") if c]
    paths = [p for p in args.paths.split(",") if p]
    if unknown := [c for c in cases if c not in CASES] + [p for p in paths if p not in PATHS]:
        parser.error(f"unknown case or path: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="hostile-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        results: dict = {"repo": str(args.repo.resolve()), "scale": args.scale, "load_before": os.getloadavg(),
                         "cases": {}}
        for case in cases:
            started = time.perf_counter()
            bundle = make_case(case, workdir, args.scale)
            size = bundle.stat().st_size if bundle.is_file() else sum(p.stat().st_size for p in bundle.iterdir())
            print(f"{case}: {bundle.name}, {size:,} bytes on disk (made in {time.perf_counter() - started:.1f} s)",
                  flush=True)
            results["cases"][case] = {"bytes": size}
            for path in paths:
                if path == "server":
                    result = run_server(case, bundle, repo=args.repo.resolve(), workdir=workdir,
                                        max_rss_mib=args.max_rss, timeout=args.timeout)
                    results["cases"][case][path] = result
                    peak = "?" if result.get("peak_rss_mib") is None else f"{result['peak_rss_mib']:,}"
                    print(f"  {path:6} peak {peak:>6} MiB (before the upload {result.get('rss_before_upload_mib')}"
                          f" MiB)  {result.get('seconds', '-')} s from the click  "
                          f"{result.get('killed', '')} {result.get('error', '')}", flush=True)
                    for line in result.get("stdout_head", []) + result.get("summary", []):
                        print(f"         {line[:150]}")
                    continue
                result = run_case(case, bundle, path, repo=args.repo.resolve(), workdir=workdir,
                                  max_rss_mib=args.max_rss, timeout=args.timeout)
                results["cases"][case][path] = result
                report = result["stderr_lines"] if path == "cli" else max(result["stdout_lines"] - 2, 0)
                result["report_lines"] = report
                print(f"  {path:6} peak {result['peak_rss_mib']:>6,} MiB  {result['seconds']:>7.2f} s "
                      f"({result['cpu_seconds']:.2f} s CPU)  exit {result['exit']}  report {report:,} lines  "
                      f"{result.get('killed', '')}", flush=True)
                head = result["stderr_head"] if path == "cli" else result["stdout_head"][1:]
                for line in head[:2]:
                    print(f"         {line[:150]}")
        results["load_after"] = os.getloadavg()
        print(f"load average {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after "
              f"({os.cpu_count()} cores)")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    # run as a script (the screen child): the checkout under test first, not this file's folder
    sys.path[0] = os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0]
    raise SystemExit(main())
