"""The public functions of exchange/: import_bundle, export_bundle, export_bytes (EXCHANGE.md).

The UI and the command line call only these.
"""

from __future__ import annotations

from sqlalchemy import Engine

from exchange.errors import BundleRejected, Problem
from exchange.exporter import ExportResult, export_bundle, export_bytes
from exchange.importer import ImportReport, import_records
from exchange.reader import bundle_files, classify, decode, read_table
from exchange.spec import FILES_BY_NAME

__all__ = ["BundleRejected", "ExportResult", "ImportReport", "Problem", "export_bundle", "export_bytes",
           "import_bundle"]


def import_bundle(engine: Engine, source, *, actor: str, update: bool = False, dry_run: bool = False,
                  bundle_name: str | None = None, progress=None) -> ImportReport:
    """Import a bundle: `source` is a folder Path, a .zip Path, zip bytes, or a dict file name -> bytes.

    All or nothing, in one transaction, audited as one `import` row (actor, bundle name) that every
    inserted row points to (import_id). A record whose key exists with other values is a problem unless
    `update`, which writes the change with its own audit row. `dry_run` validates without writing.
    `progress(done, total)` is called now and then. Raises BundleRejected with every problem
    (`file:line: column: reason`); then nothing was written.
    """
    name, files, problems = bundle_files(source)
    name = bundle_name or name
    known, unknown = classify(files)
    problems += unknown
    tables = {}
    total = 0
    for file_name, data in known.items():
        text, undecoded = decode(data)
        table, bad = read_table(FILES_BY_NAME[file_name], text, undecoded)
        problems += bad
        if table is not None:
            tables[file_name] = (table.header, table.records)
            total += text.count("\n")
    if not files:
        problems.append(Problem(name, 1, "file", "the bundle holds no files; expected "
                                + ", ".join(FILES_BY_NAME)))
    return import_records(engine, tables, actor=actor, bundle_name=name, update_existing=update, dry_run=dry_run,
                          progress=progress, problems=problems, total=2 * total)
