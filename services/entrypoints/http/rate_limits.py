"""How often one caller may ask (docs/contract.md, section 10, "Hardening"):
`FOLLOWUP_HTTP_RATE_LIMIT` requests per caller, counted by the `limits` library (a sliding
window, in this process's memory), answered 429 with Retry-After past it.

A caller is its API token if it sends one, else its session cookie, else its address (the
proxy's X-Forwarded-For when uvicorn believes the proxy): so people behind one proxy or NAT
are counted apart once signed in. Keys are SHA-256 digests, so no credential is kept in
memory by this counter. `/healthz` is not counted: it touches nothing, and a liveness probe
refused would get a healthy process restarted.

A made-up token per request would be a new caller each time, so refusals are also counted by
address: an address refused 401 more than `FAILED_SIGN_INS` times is answered 429 until its
window moves on, whatever credential it sends."""

from __future__ import annotations

import hashlib
import math
import time
from http.cookies import CookieError, SimpleCookie

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.entrypoints.http.security_schemes import SESSION_COOKIE

UNCOUNTED = frozenset({"/healthz"})
FAILED_SIGN_INS = "30/minute"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, rate: str) -> None:
        self.app, self.rate = app, rate
        self.items: list[RateLimitItem] = parse_many(rate)
        self.failures: list[RateLimitItem] = parse_many(FAILED_SIGN_INS)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNCOUNTED:
            await self.app(scope, receive, send)
            return
        key, address = caller_key(scope), "failed:" + address_key(scope)
        for item in self.failures:
            if not await self.limiter.test(item, address):
                detail = f"too many refused credentials from this address: the limit is {item}"
                await self._refuse(scope, receive, send, item, address, detail)
                return
        for item in self.items:
            if not await self.limiter.hit(item, key):
                detail = f"too many requests: the limit is {item} (FOLLOWUP_HTTP_RATE_LIMIT)"
                await self._refuse(scope, receive, send, item, key, detail)
                return

        async def counting_refusals(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                for item in self.failures:
                    await self.limiter.hit(item, address)
            await send(message)

        await self.app(scope, receive, counting_refusals)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, item: RateLimitItem, key: str, detail: str
    ) -> None:
        answer = JSONResponse(
            {"detail": detail},
            status_code=429,
            headers={"Retry-After": str(await self._wait(item, key))},
        )
        await answer(scope, receive, send)

    async def _wait(self, item: RateLimitItem, key: str) -> int:
        """Whole seconds until the window lets one more request through (at least 1)."""
        stats = await self.limiter.get_window_stats(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def caller_key(scope: Scope) -> str:
    """`token:`, `session:` or `address:` and a SHA-256 digest: who is counted."""
    headers = {k.lower(): bytes(v).decode("latin-1") for k, v in scope.get("headers", [])}
    scheme, _, token = headers.get(b"authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + _digest(token.strip())
    session = _cookie(headers.get(b"cookie", ""), SESSION_COOKIE)
    if session:
        return "session:" + _digest(session)
    return address_key(scope)


def address_key(scope: Scope) -> str:
    client = scope.get("client")
    return "address:" + _digest(client[0] if client else "unknown")


def _cookie(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
