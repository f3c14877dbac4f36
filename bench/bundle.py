"""The generated registry as a bundle on disk (the import's input)."""

from __future__ import annotations

import csv
from pathlib import Path

from models.catalog import SITE_CODES

FILES = (("patients", "patients.csv"), ("skin_scores", "skin_scores.csv"), ("measurements", "measurements.csv"),
         ("medications", "medications.csv"), ("events", "events.csv"))


def write_bundle(registry, folder: Path) -> dict[str, int]:
    """Write the registry's rows as the five bundle CSV files (header = the rows' own columns).

    Returns the rows written per file; an empty list writes no file (a bundle may leave a file out).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for attribute, name in FILES:
        rows = getattr(registry, attribute)
        if not rows:
            continue
        header = list(rows[0])
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([row[c] for c in header] for row in rows)
        written[name] = len(rows)
    return written


def site_score_count(registry) -> int:
    """Site scores in the registry: the filled site cells of skin_scores (a total-only row has none)."""
    return sum(1 for row in registry.skin_scores for code in SITE_CODES if row[code] != "")
