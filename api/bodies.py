"""Request bodies read only from a caller that sent a token, and never beyond a bound (a pure ASGI middleware).

FastAPI reads (and spools to disk) a multipart body before any dependency runs, the token check included: without
this, a client with no token at all could make the server store an upload of any size before its 401. So, before
the application reads a byte of a body:

- a request without an `Authorization: Bearer ...` header is answered 401 (429 while its address waits), counted
  and audited as `api.auth` does;
- a body over the bound is answered 413: `Content-Length` is checked up front, and a body without one (chunked) is
  counted as it streams. The bound is `SKINTRACK_IMPORT_MAX_BYTES` (plus 1 MiB of zip headers) for `POST /imports`,
  1 MiB for every other request (JSON records).

Whether the token is valid is still `api.auth`'s to decide, once per request, as for every other call.
"""

from __future__ import annotations

import json

from exchange.limits import Limits

JSON_BODY_LIMIT = 1 << 20  # the records' JSON bodies: a patient with its notes is a few KiB
ZIP_SLACK = 1 << 20  # a zip's own headers beyond its members' bytes
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(Exception):
    pass


def body_limit(path: str) -> int:
    if path.rstrip("/") == "/imports":
        try:
            return Limits.from_environment().max_bytes + ZIP_SLACK
        except Exception:  # noqa: BLE001 - a misconfigured limit is the import's to report; bound by the default
            return Limits().max_bytes + ZIP_SLACK
    return JSON_BODY_LIMIT


def _size(amount: int) -> str:
    return f"{amount / (1 << 20):,.1f} MiB" if amount >= 1 << 20 else f"{amount / 1024:,.1f} KiB"


async def _answer(send, status: int, field: str, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": [{"field": field, "msg": message}]}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class BoundedBodies:
    def __init__(self, app) -> None:
        self.app = app

    @staticmethod
    async def _refuse_without_token(scope, send) -> None:
        """A request with no token, answered as api.auth answers it (401, or 429 while the address waits), the
        failure counted and audited the same way, before a byte of its body is read."""
        from starlette.concurrency import run_in_threadpool

        from db.api_tokens import TokenRefused, TooManyFailures, authenticate_token

        client = scope.get("client")
        try:
            await run_in_threadpool(authenticate_token, scope["app"].state.engine, None,
                                    address=client[0] if client else "unknown")
        except TooManyFailures as refused:
            await _answer(send, 429, "authorization", refused.reason,
                          [(b"retry-after", str(refused.retry_after).encode())])
        except TokenRefused as refused:
            await _answer(send, 401, "authorization", refused.reason,
                          [(b"www-authenticate", b'Bearer realm="skintrack"')])
        else:  # no token authenticates; answered as a missing one all the same
            await _answer(send, 401, "authorization", "no API token; send a valid token as 'Authorization: Bearer "
                          "<token>'", [(b"www-authenticate", b'Bearer realm="skintrack"')])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", ())}
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse_without_token(scope, send)
            return
        limit = body_limit(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, "body", f"the body is {_size(int(declared))}; this request takes at most "
                          f"{_size(limit)}")
            return
        received = 0
        too_large = started = False

        async def counted():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def watched(message):
            nonlocal started
            if not too_large:  # once the body is over its bound, the application's own answer (a 400 of a body
                started = started or message["type"] == "http.response.start"  # it could not read) gives way
                await send(message)  # to the 413 below

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            pass
        if too_large and not started:
            await _answer(send, 413, "body", f"the body is over {_size(limit)}; this request takes at most "
                          f"{_size(limit)}")
