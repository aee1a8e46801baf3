"""The HTTP shell every route sits in (docs/contract.md, section 10, "Hardening"), outermost
first: security headers on every answer (refusals and server errors included), the Host
allow-list against DNS rebinding (400), the rate limit per caller (429), and the limits on
what a request may hold (413, 422)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.entrypoints.http.rate_limits import RateLimitMiddleware
from services.entrypoints.http.request_limits import RequestLimits, RequestLimitsMiddleware
from services.platform.settings import Settings

# No inline script anywhere, ours or a library's: a script injected into a page cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# Redoc (the `/redoc` page, services/entrypoints/http/reference.py) adds <style> elements as
# it renders and runs its search index in a worker made from a blob: without these two it
# draws an empty page (checked in Chromium). Scripts stay 'self' alone there too; Swagger UI
# (`/docs`) works under the policy above as it is.
REDOC_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
).replace("connect-src 'self'", "connect-src 'self'; worker-src 'self' blob:")
REDOC_PAGE = "/redoc"
# A year: browsers then refuse plain HTTP for the host until it has passed.
HSTS = "max-age=31536000"


def harden(api: FastAPI, settings: Settings) -> None:
    """Wrap the app; Starlette runs the middleware added last first."""
    api.add_middleware(
        RequestLimitsMiddleware,
        limits=RequestLimits(
            body_bytes=settings.http_max_body_bytes,
            batch_items=settings.http_max_batch_items,
            string_chars=settings.http_max_string_chars,
        ),
    )
    api.add_middleware(RateLimitMiddleware, rate=settings.http_rate_limit)
    api.add_middleware(
        TrustedHostMiddleware, allowed_hosts=list(allowed_hosts(settings)), www_redirect=False
    )
    # Around the whole stack, Starlette's ServerErrorMiddleware included (which add_middleware
    # would leave outside): a 500 carries the headers too.
    build = api.build_middleware_stack
    https = served_over_https(settings)
    api.build_middleware_stack = (  # type: ignore[method-assign]
        lambda: SecurityHeadersMiddleware(build(), https=https)
    )


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """FOLLOWUP_HTTP_ALLOWED_HOSTS, or: the bind address (unless a wildcard one), localhost,
    127.0.0.1 and the public URL's host."""
    if settings.http_allowed_hosts:
        return settings.http_allowed_hosts
    hosts = ["localhost", "127.0.0.1"]
    if settings.http_host not in ("0.0.0.0", "::", ""):
        hosts.append(settings.http_host.lower())
    public = _public_host(settings)
    if public:
        hosts.append(public)
    return tuple(dict.fromkeys(hosts))


def served_over_https(settings: Settings) -> bool:
    return (settings.public_url or "").lower().startswith("https://")


def _public_host(settings: Settings) -> str | None:
    return urlsplit(settings.public_url).hostname if settings.public_url else None


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (
            REDOC_CONTENT_SECURITY_POLICY
            if scope["path"] == REDOC_PAGE
            else CONTENT_SECURITY_POLICY
        )

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
