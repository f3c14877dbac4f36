"""Who may open which screen: the role -> pages table (pure data, tested, used by app.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Screen:
    path: str  # file path relative to app.py
    title: str
    icon: str
    section: str
    roles: frozenset[str]

    @property
    def url_path(self) -> str:
        """The URL path the screen is served at: the file name without .py ("visit_entry")."""
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")


ALL = frozenset({"staff", "physician", "coordinator", "admin"})
CLINIC = frozenset({"staff", "physician", "admin"})

SCREENS: tuple[Screen, ...] = (
    Screen("pages/patients.py", "Patients", ":material/groups:", "Clinic", CLINIC),
    Screen("pages/visit_entry.py", "Visit entry", ":material/edit_note:", "Clinic", CLINIC),
    Screen("pages/treatments.py", "Treatments", ":material/medication:", "Clinic", CLINIC),
    Screen("pages/chart.py", "Patient chart", ":material/monitoring:", "Clinic", ALL),
    Screen("pages/cohort.py", "Cohort", ":material/query_stats:", "Trials", frozenset({"coordinator", "admin"})),
    Screen("pages/export.py", "Export", ":material/download:", "Trials", frozenset({"coordinator", "admin"})),
    Screen("pages/import_bundle.py", "Import", ":material/upload:", "Administration", frozenset({"admin"})),
    Screen("pages/users.py", "Users", ":material/manage_accounts:", "Administration", frozenset({"admin"})),
    Screen("pages/centres.py", "Centres", ":material/domain:", "Administration", frozenset({"admin"})),
    Screen("pages/audit_trail.py", "Audit trail", ":material/history:", "Administration", frozenset({"admin"})),
    Screen("pages/backup.py", "Backup", ":material/backup:", "Administration", frozenset({"admin"})),
    Screen("pages/restore.py", "Deleted records", ":material/restore_from_trash:", "Administration",
           frozenset({"admin"})),
    Screen("pages/account.py", "My account", ":material/person:", "Account", ALL),
)
SCREENS_BY_PATH = {screen.path: screen for screen in SCREENS}
SCREENS_BY_URL = {screen.url_path: screen for screen in SCREENS}


def may_open(role: str | None, path: str) -> bool:
    """True when `role` may open the screen at `path`; False for unknown roles and unknown paths."""
    screen = SCREENS_BY_PATH.get(path)
    return bool(role) and screen is not None and role in screen.roles


def screen_for_url(url_path: str) -> Screen | None:
    """The screen served at a URL path ("users" for pages/users.py), or None."""
    return SCREENS_BY_URL.get(url_path.strip("/"))


# What a role may do inside the screens it opens (pages ask `ui.guard.allowed(...)`).
CAPABILITIES: dict[str, frozenset[str]] = {
    "edit_clinical": CLINIC,  # add/correct/delete patients, visits, measures, treatments
    "chart_review": frozenset({"physician", "admin"}),  # the physician's review tools on the chart (report)
    "export": frozenset({"coordinator", "admin"}),  # de-identified exports
    "manage_accounts": frozenset({"admin"}),
    "restore": frozenset({"admin"}),
}


def role_can(role: str | None, capability: str, *, can_export_identified: bool = False) -> bool:
    """Whether a role holds a capability. "export_identified" also needs the account's own permission."""
    if capability == "export_identified":
        return role_can(role, "export") and bool(can_export_identified)
    return bool(role) and role in CAPABILITIES.get(capability, frozenset())
