"""The Export and Import screens: a coordinator without the permission can never obtain an identified
export; an administrator can; the import screen starts with an empty state and is admin-only."""

from __future__ import annotations

from db.audit import load_audit
from tests.app.conftest import signed_in_app


def _last_export(engine) -> str:
    trail = load_audit(engine, action="export")
    return trail.iloc[0]["detail"] if len(trail) else ""


def test_coordinator_without_permission_gets_only_deidentified(with_demo):
    at = signed_in_app("coordinator", "pages/export.py")
    assert not at.exception
    toggle = at.toggle(key="export_deidentify")
    assert toggle.value is True and toggle.disabled
    at.session_state["export_deidentify"] = False  # even a forged widget value must not give an identified export
    at.run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    assert _last_export(with_demo).startswith("de-identified zip export of 12 patients")
    assert any("de-identified export is ready" in s.value for s in at.success)


def test_admin_with_permission_may_export_identified(with_demo):
    at = signed_in_app("admin", "pages/export.py")
    toggle = at.toggle(key="export_deidentify")
    assert toggle.value is True and not toggle.disabled
    toggle.set_value(False).run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    assert _last_export(with_demo).startswith("identified zip export")


def test_export_empty_state(with_users):
    at = signed_in_app("coordinator", "pages/export.py")
    assert not at.exception and "no patients to export" in at.info[0].value


def test_import_page_empty_state_and_access(with_users):
    at = signed_in_app("admin", "pages/import_bundle.py")
    assert not at.exception and "Choose the bundle's CSV files" in at.info[0].value
    refused = signed_in_app("coordinator", "pages/import_bundle.py")
    assert not refused.exception
    assert refused.get("file_uploader") == []
