"""Who calls: the bearer token's account (db.api_tokens), and what its role may do (models.access: the same table
of screens and capabilities the app's pages ask through ui.guard).

401 without a valid token (missing, unknown, revoked, expired, inactive account), 429 while the client address
waits its delay, 403 for a role that may not. Centres (issue 16) are not built: an account that may read, reads
every patient.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from db.api_tokens import TokenRefused, TokenUser, TooManyFailures, authenticate_token
from models.access import may_open, role_can

bearer = HTTPBearer(auto_error=False, description="A personal API token (My account, or `python cli.py token "
                                                  "create`), sent as `Authorization: Bearer skt_...`")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def caller(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenUser:
    token = credentials.credentials if credentials is not None else None
    try:
        return authenticate_token(request.app.state.engine, token, address=client_address(request))
    except TooManyFailures as refused:
        raise HTTPException(429, detail=[{"field": "authorization", "msg": refused.reason}],
                            headers={"Retry-After": str(refused.retry_after)}) from None
    except TokenRefused as refused:
        raise HTTPException(401, detail=[{"field": "authorization", "msg": refused.reason}],
                            headers={"WWW-Authenticate": 'Bearer realm="skintrack"'}) from None


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


def may_export(who: TokenUser, *, deidentify: bool) -> TokenUser:
    """De-identified exports: the "export" capability; identified ones also the account's own permission."""
    if not role_can(who.role, "export"):
        raise forbid(who, "export")
    if not deidentify and not role_can(who.role, "export_identified",
                                       can_export_identified=who.can_export_identified):
        raise HTTPException(403, detail=[{"field": "deidentify", "msg": "this account may export de-identified "
                                          "data only; ask with deidentify=true"}])
    return who
