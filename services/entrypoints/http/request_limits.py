"""What one request may hold (docs/contract.md, section 10, "Hardening"): a body of at most
`FOLLOWUP_HTTP_MAX_BODY_BYTES` (413), and in a JSON body no array of more than
`FOLLOWUP_HTTP_MAX_BATCH_ITEMS` items and no string or key of more than
`FOLLOWUP_HTTP_MAX_STRING_CHARS` characters (422). Checked once here for every route, so no
route can forget, and each refusal names the setting that set the limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class RequestLimits:
    body_bytes: int
    batch_items: int
    string_chars: int


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class RequestLimitsMiddleware:
    """Reads the body (never past the limit), checks it, then hands the app the same bytes."""

    def __init__(self, app: ASGIApp, *, limits: RequestLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
            if body and _is_json(scope):
                self._check_json(body)
        except _Refused as refused:
            answer = JSONResponse({"detail": refused.detail}, status_code=refused.status)
            await answer(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.limits.body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(413, _too_large(limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:  # a chunked body, or one longer than it said
                raise _Refused(413, _too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_json(self, body: bytes) -> None:
        try:
            document = json.loads(body)
        except RecursionError:
            raise _Refused(422, "request body nested too deeply") from None
        except ValueError:
            return  # not JSON after all: the route's own validation says what is wrong
        problem = _over_limits(document, self.limits)
        if problem:
            raise _Refused(422, problem)


def _over_limits(document: Any, limits: RequestLimits) -> str | None:
    """The first array or string over its limit, walked without recursion."""
    waiting = [document]
    while waiting:
        value = waiting.pop()
        if isinstance(value, str):
            if len(value) > limits.string_chars:
                return (
                    f"a string of {len(value)} characters is over the limit of "
                    f"{limits.string_chars} (FOLLOWUP_HTTP_MAX_STRING_CHARS)"
                )
        elif isinstance(value, list):
            if len(value) > limits.batch_items:
                return (
                    f"a list of {len(value)} items is over the limit of "
                    f"{limits.batch_items} (FOLLOWUP_HTTP_MAX_BATCH_ITEMS)"
                )
            waiting.extend(value)
        elif isinstance(value, dict):
            waiting.extend(value.keys())
            waiting.extend(value.values())
    return None


def _too_large(limit: int) -> str:
    return f"request body over the limit of {limit} bytes (FOLLOWUP_HTTP_MAX_BODY_BYTES)"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


# CloudEvents bodies (POST /events) are checked event by event by their route, which counts
# the batch against FOLLOWUP_HTTP_MAX_BATCH_ITEMS and each event against
# FOLLOWUP_MAX_EVENT_BYTES, and keeps a refused event as a dead letter instead of refusing
# the whole request here (docs/contract.md section 12, "People's API").
CHECKED_BY_THEIR_ROUTE = ("application/cloudevents+json", "application/cloudevents-batch+json")


def _is_json(scope: Scope) -> bool:
    # As FastAPI decides: a body without a content type is read as JSON too.
    kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if kind in CHECKED_BY_THEIR_ROUTE:
        return False
    return kind in ("", "application/json") or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then whatever the server says next (a disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
