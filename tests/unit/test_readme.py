"""The README a newcomer reads (issue 13, defect 10): every file it links exists, the contract documents are cited
where the repository holds them (docs/), and the demo size it names is the one the app and the CLI load."""

from __future__ import annotations

import re
from pathlib import Path

from ui.gate import DEMO_PATIENTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_linked_file_exists():
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)\)", README) if not t.startswith(("http://", "https://"))]
    assert targets, "the README links its documents"
    assert [t for t in targets if not (ROOT / t).exists()] == []


def test_contract_documents_are_cited_in_docs():
    for name in ("CLINICAL.md", "EXCHANGE.md", "ENDPOINTS.md"):
        assert (ROOT / "docs" / name).exists()
        bare = re.findall(rf"(?<![/\w]){re.escape(name)}", README)
        assert bare == [], f"{name} cited without docs/"


def test_setup_names_python_a_virtualenv_the_port_and_the_cli_database():
    assert "Python 3.11" in README and "python3.11 -m venv .venv" in README
    assert "http://localhost:8501" in README
    assert "`SKINTRACK_DATABASE_URL`, like the app" in README


def test_one_demo_size():
    sizes = {int(n) for n in re.findall(r"(\d+)\s+fictitious\s+patients", README)}
    assert sizes == {DEMO_PATIENTS}
