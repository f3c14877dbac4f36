"""What one account's reads and writes are limited to: the centres whose patients it sees (pure data).

`Scope.ALL` (every centre) is what the command line, migrations and background work act with; a signed-in
account or an API token acts with its own scope (`db.scope.scope_for_user`). `db.scope` carries the scope on the
engine, filters every read of `db/` by it and, on PostgreSQL, sets it per transaction for the row-level
security policies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    # the centre keys whose patients are visible; None: every centre
    centres: frozenset[int] | None = None
    # the centre keys whose patients may be exported identified (with the role's export right); None: all visible
    identified: frozenset[int] | None = None
    # the account's centre codes, for messages ("your centres: A, B"); empty for every centre
    codes: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return self.centres is None

    def sees(self, centre_key: int | None) -> bool:
        return self.centres is None or centre_key in self.centres

    def may_identify(self, centre_key: int | None) -> bool:
        """Whether this scope may export this centre's patients identified (the role's right aside)."""
        if not self.sees(centre_key):
            return False
        return self.identified is None or centre_key in self.identified

    def may_identify_every(self, centre_keys=None) -> bool:
        """Whether this scope may export every one of `centre_keys` identified (None: every centre it sees; the
        role's right aside). An account of every centre: its own permission; of some centres: each one's."""
        if centre_keys is None:
            return self.identified is None or (self.centres is not None and self.centres <= self.identified)
        return all(self.may_identify(key) for key in centre_keys)

    @property
    def setting(self) -> str:
        """The value of the PostgreSQL setting `skintrack.centres` the policies read: '*' for every centre, the
        keys separated by commas, or '-' for none (an account without a centre sees no patient)."""
        if self.centres is None:
            return "*"
        return ",".join(str(k) for k in sorted(self.centres)) or "-"

    @property
    def cache_key(self) -> str:
        """Part of every cached read's key: two scopes never share a cached answer."""
        identified = "*" if self.identified is None else ",".join(str(k) for k in sorted(self.identified))
        return f"{self.setting}|{identified}"

    def describe(self) -> str:
        if self.centres is None:
            return "all centres"
        if not self.centres:
            return "no centre"
        return ", ".join(self.codes) if self.codes else f"{len(self.centres)} centres"


ALL = Scope()
