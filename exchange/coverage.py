"""Which patients an export covers, and whether it may be identified: the one place every export path asks.

An export reads only the patients of the engine's scope (`db.scope`: an account's centres; the command line acts for
every centre), limited to the centres chosen (`centres`: codes, the command line's `--centre A,B`) and to the
patients chosen (`patients`). An identified export is refused when it covers a centre the account may not export
identified (`models.scope.Scope.may_identify`): the centres chosen, else those of the patients chosen, else every
centre of the scope. A patient of another centre than the scope's is "no live patient", exactly as one that does not
exist; a centre outside the scope is refused by name (centres are not patients' data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from db.centres import centre_codes_by_key, centre_keys
from db.engine import read_session
from db.frames import matchable
from db.scope import patient_filter, scope_of
from models import Patient
from models.centre import centre_codes
from models.errors import NotPermitted, UnknownPatient

FEW = 500  # patients chosen up to this many are looked up by themselves; more, against the scope's whole list


@dataclass(frozen=True)
class Coverage:
    """The live patients an export writes (patient_ids in code-point order) and each one's centre code."""

    identifiers: list[str]
    centre_of: dict[str, str]  # patient_id -> the code of its centre
    centres: tuple[str, ...] = ()  # the centres the export was limited to, as chosen (empty: every centre)
    multi_centre: bool = False  # the registry has more than one centre


def chosen_centres(centres) -> list[str] | None:
    """The centre codes of a choice: "A,B" (the command line), an iterable of codes (a page's multiselect), or
    None / nothing (every centre of the scope). Each code checked, once each, in order; InvalidValue naming
    "centre" for a malformed one."""
    if centres is None:
        return None
    text = centres if isinstance(centres, str) else ",".join(str(code) for code in centres)
    if not text.strip(" ,"):
        return None
    return centre_codes(text)


def export_coverage(engine: Engine, *, patients: Iterable[str] | None = None, centres=None,
                    deidentify: bool = True) -> Coverage:
    """The patients an export of the engine's scope writes, limited to `centres` (codes, see `chosen_centres`) and
    `patients` (patient_ids). Raises InvalidValue (an unknown or malformed centre code), NotPermitted (a centre
    outside the scope; an identified export, `deidentify` False, of a centre the account may not export
    identified) or UnknownPatient (a patient_id that is not a live patient of the scope, or not of the centres
    chosen)."""
    scope = scope_of(engine)
    codes = chosen_centres(centres)
    keys: dict[str, int] | None = None
    if codes is not None:
        keys = centre_keys(engine, codes)
        outside = [code for code in codes if not scope.sees(keys[code])]
        if outside:
            raise NotPermitted(f"centre {', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside your "
                               f"centres ({scope.describe()})", field="centre")
    wanted = None
    if patients is not None:
        wanted = list(dict.fromkeys(str(p).strip() for p in patients if str(p).strip()))
    by_key = centre_codes_by_key(engine)
    live = _live(engine, wanted if wanted is not None and len(wanted) <= FEW else None)
    chosen = None if keys is None else set(keys.values())
    if wanted is None:
        selected = {pid: key for pid, key in live.items() if chosen is None or key in chosen}
    else:
        missing = [p for p in wanted if p not in live]
        if missing:
            raise UnknownPatient(f"no live patient {', '.join(map(repr, missing[:10]))}"
                                 + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""), field="patients")
        elsewhere = [p for p in wanted if chosen is not None and live[p] not in chosen]
        if elsewhere:
            shown = ", ".join(f"{p!r} ({by_key[live[p]]})" for p in elsewhere[:10])
            more = f" and {len(elsewhere) - 10} more" if len(elsewhere) > 10 else ""
            raise UnknownPatient(f"not of the centres chosen ({', '.join(codes)}): {shown}{more}", field="patients")
        selected = {pid: live[pid] for pid in wanted}
    if not deidentify:
        if chosen is not None:
            covered = chosen
        elif wanted is not None:
            covered = set(selected.values())
        else:
            covered = set(by_key) if scope.centres is None else set(scope.centres)
        _check_identified(scope, covered, by_key)
    identifiers = sorted(selected)  # Python's order: the same on every database
    return Coverage(identifiers, {pid: by_key[selected[pid]] for pid in identifiers}, tuple(codes or ()),
                    len(by_key) > 1)


def _live(engine: Engine, wanted: list[str] | None) -> dict[str, int]:
    """patient_id -> centre key of the scope's live patients (of `wanted` only, when given)."""
    table = Patient.__table__
    statement = select(table.c.patient_id, table.c.centre_key).where(table.c.deleted_at.is_(None),
                                                                     patient_filter(engine))
    if wanted is not None:
        statement = statement.where(table.c.patient_id.in_(matchable(wanted)))
    with read_session(engine) as session:
        return dict(session.execute(statement).all())


def _check_identified(scope, covered: set[int], by_key: dict[int, str]) -> None:
    refused = sorted(by_key.get(key, str(key)) for key in covered if not scope.may_identify(key))
    if not refused:
        return
    allowed = sorted(code for key, code in by_key.items() if scope.may_identify(key))
    plural = "s" if len(refused) > 1 else ""
    remedy = (f"limit the export to centre{'s' if len(allowed) > 1 else ''} {', '.join(allowed)}, or de-identify it"
              if allowed else "de-identify it")
    raise NotPermitted(f"this account may not export the patients of centre{plural} {', '.join(refused)} "
                       f"identified; {remedy}", field="centre")
