"""The bundle of EXCHANGE.md: import (validation report, all or nothing), export (CSV, zip, XLSX), de-identification.

The names below are loaded on first use (PEP 562): `python cli.py export` then imports the exporter without the
importer, and a command's start-up is what it uses.
"""

from importlib import import_module

_HOMES = {
    "BundleRejected": "exchange.api", "ExportResult": "exchange.api", "ImportReport": "exchange.api",
    "Limits": "exchange.api", "Problem": "exchange.api", "ProblemLog": "exchange.api",
    "export_bundle": "exchange.exporter", "export_bytes": "exchange.exporter", "import_bundle": "exchange.api",
    "oversize": "exchange.api",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'exchange' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
