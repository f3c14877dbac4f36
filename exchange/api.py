"""The public functions of exchange/: import_bundle, export_bundle, export_bytes (EXCHANGE.md).

The UI and the command line call only these.
"""

from __future__ import annotations

from sqlalchemy import Engine

from exchange.errors import BundleRejected, Problem, ProblemLog, one_line
from exchange.exporter import ExportResult, export_bundle, export_bytes
from exchange.importer import ImportReport, import_records
from exchange.limits import Limits
from exchange.reader import classify, count_lines, open_bundle, oversize, read_table
from exchange.spec import FILES_BY_NAME

__all__ = ["BundleRejected", "ExportResult", "ImportReport", "Limits", "Problem", "ProblemLog", "export_bundle",
           "export_bytes", "import_bundle", "oversize"]


def import_bundle(engine: Engine, source, *, actor: str, update: bool = False, dry_run: bool = False,
                  bundle_name: str | None = None, progress=None, limits: Limits | None = None) -> ImportReport:
    """Import a bundle: `source` is a folder Path, a .zip Path, zip bytes or a binary file of a zip, or a dict file
    name -> bytes (or a binary file, e.g. an upload).

    All or nothing, in one transaction, audited as one `import` row (actor, bundle name) that every
    inserted row points to (import_id). A record whose key exists with other values is a problem unless
    `update`, which writes the change with its own audit row. `dry_run` validates without writing.
    `progress(done, total)` is called now and then. The files are read as streams within `limits` (default: the
    SKINTRACK_IMPORT_* settings). Raises BundleRejected with the ProblemLog (`file:line: column: reason`, the
    first 1,000 word for word, the rest counted); then nothing was written.
    """
    limits = limits or Limits.from_environment()
    log = ProblemLog(stop_after=limits.max_problems)
    with open_bundle(source, name=bundle_name) as bundle:
        name = one_line(bundle.name, 200)
        log += bundle.problems
        known, refused = classify(bundle, limits)
        log += refused
        tables = {}
        total = 0
        for file_name, member in known.items():
            table, bad = read_table(FILES_BY_NAME[file_name], member, log, bundle.closers)
            log += bad
            if table is not None:
                tables[file_name] = (table.header, table.records)
                if progress is not None:
                    total += count_lines(member)
        if not bundle.members and not bundle.problems:
            log.append(Problem(name, 1, "file", "the bundle holds no files; expected " + ", ".join(FILES_BY_NAME)))
        try:
            return import_records(engine, tables, actor=actor, bundle_name=name, update_existing=update,
                                  dry_run=dry_run, progress=progress, problems=log, total=2 * total)
        except BundleRejected as rejected:
            if rejected.problems is log:
                raise
            # an importer that copied the log into a list of its own: its report, plus what the reader only counted
            rejected.problems.add_counted(log)
            raise BundleRejected(rejected.problems) from None
