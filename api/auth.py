"""Who calls: the bearer token's account (db.api_tokens), and what its role may do (models.access: the same table
of screens and capabilities the app's pages ask through ui.guard).

401 without a valid token (missing, unknown, revoked, expired, inactive account), 429 while the client address
waits its delay, 403 for a role that may not.

Every request acts within its account's centre scope (issue 16): `caller` reads the scope with the account
(db.centres.scope_for_user, afresh on every request) and `engine_for(request)` is the engine scoped to it
(db.scope.scoped), the only engine the endpoints hand to db/ and exchange/. Another centre's patient is then what
a patient that does not exist is: the same status and body (db/ filters by the scope; on PostgreSQL the centres'
row-level security policies hold it too, for a role they bind).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from db.api_tokens import TokenRefused, TokenUser, TooManyFailures, authenticate_token
from db.centres import centre_codes_by_key, scope_for_user
from db.scope import scoped
from models.access import may_open, role_can
from models.scope import Scope

bearer = HTTPBearer(auto_error=False, description="A personal API token (My account, or `python cli.py token "
                                                  "create`), sent as `Authorization: Bearer skt_...`")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenUser:
    token = credentials.credentials if credentials is not None else None
    engine = request.app.state.engine
    try:
        who = authenticate_token(engine, token, address=client_address(request))
    except TooManyFailures as refused:
        raise HTTPException(429, detail=[{"field": "authorization", "msg": refused.reason}],
                            headers={"Retry-After": str(refused.retry_after)}) from None
    except TokenRefused as refused:
        raise HTTPException(401, detail=[{"field": "authorization", "msg": refused.reason}],
                            headers={"WWW-Authenticate": 'Bearer realm="skintrack"'}) from None
    request.state.scope = scope_for_user(engine, who.username)
    request.state.engine = scoped(engine, request.state.scope)
    return who


def engine_for(request: Request) -> Engine:
    """The engine of this request's account, scoped to its centres (set by `caller`, which every endpoint
    depends on)."""
    return request.state.engine


def scope_of_request(request: Request) -> Scope:
    return request.state.scope


Caller = Annotated[TokenUser, Depends(caller)]

# What each kind of call needs, in the app's own terms (models.access):
READ_SCREEN = "pages/chart.py"  # reading a patient's records: whoever may open the patient chart (every role)
IMPORT_SCREEN = "pages/import_bundle.py"  # importing a bundle: whoever may open the Import screen (administrators)


def forbid(who: TokenUser, what: str) -> HTTPException:
    return HTTPException(403, detail=[{"field": "authorization",
                                       "msg": f"the role {who.role} may not {what}"}])


def may_read(who: TokenUser) -> TokenUser:
    if not may_open(who.role, READ_SCREEN):
        raise forbid(who, "read patients' records")
    return who


def may_edit(who: TokenUser) -> TokenUser:
    if not role_can(who.role, "edit_clinical"):
        raise forbid(who, "add, correct or delete records")
    return who


def may_import(who: TokenUser) -> TokenUser:
    if not may_open(who.role, IMPORT_SCREEN):
        raise forbid(who, "import bundles")
    return who


def may_export(who: TokenUser, request: Request, *, deidentify: bool, centres: str | None = None) -> TokenUser:
    """De-identified exports: the "export" capability; identified ones also the account's permission for every
    centre of its scope (an account of every centre: its own permission; of some centres: each centre's), or, with
    `centres` chosen, for each of those: exchange.coverage checks them (403 naming the centres refused)."""
    if not role_can(who.role, "export"):
        raise forbid(who, "export")
    if deidentify:
        return who
    if centres is not None and role_can(who.role, "export_identified", can_export_identified=True):
        return who
    scope = scope_of_request(request)
    if not role_can(who.role, "export_identified", can_export_identified=scope.may_identify_every()):
        only = ""
        if scope.identified:
            codes = centre_codes_by_key(request.app.state.engine)
            only = f" (identified for centre {', '.join(sorted(codes.get(k, str(k)) for k in scope.identified))} only)"
        raise HTTPException(403, detail=[{"field": "deidentify", "msg": f"this account may export de-identified "
                                          f"data only{only}; ask with deidentify=true"}])
    return who
