"""The bundle of EXCHANGE.md: import (validation report, all or nothing), export (CSV, zip, XLSX), de-identification.
"""

from exchange.api import (
    BundleRejected,
    ExportResult,
    ImportReport,
    Limits,
    Problem,
    ProblemLog,
    export_bundle,
    export_bytes,
    import_bundle,
    oversize,
)

__all__ = ["BundleRejected", "ExportResult", "ImportReport", "Limits", "Problem", "ProblemLog", "export_bundle",
           "export_bytes", "import_bundle", "oversize"]
