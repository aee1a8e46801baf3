"""Who is calling, for every route: an API token (`Authorization: Bearer`) or a browser session
(the `followup_session` cookie), with CSRF on every form a session posts (docs/contract.md
section 12). Routes take `Caller`, `Staff` or `Publisher` and read what is theirs through the
scope on it; nothing here decides which rows a page shows."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from services.access.credentials import Kind
from services.access.principal import Principal, authenticate
from services.entrypoints.http.security_schemes import api_token, session_cookie
from services.entrypoints.http.state import state_of

CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """Raised for a page (not the JSON API) when nobody is signed in: answered by a redirect
    to the sign-in page, where the API answers 401."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def _principal(
    request: Request,
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(api_token)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal | None:
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    secret, kinds = _credential(token, cookie)
    principal = None
    if secret is not None:
        runtime = state_of(request).runtime
        async with runtime.sessions() as session:
            principal = await authenticate(
                session=session,
                secret=secret,
                kinds=kinds,
                now=runtime.now(),
                today=runtime.today(),
                chart=state_of(request).chart,
            )
    request.state.principal = principal
    return principal


def _credential(
    token: HTTPAuthorizationCredentials | None, cookie: str | None
) -> tuple[str | None, tuple[Kind, ...]]:
    """A bearer token wins over a cookie: a script's token must not be overridden by a browser
    session it happens to carry."""
    if token is not None:
        return token.credentials, ("api-token",)
    if cookie:
        return cookie, ("session",)
    return None, ()


async def _caller(
    request: Request, principal: Annotated[Principal | None, Depends(_principal)]
) -> Principal:
    if principal is None:
        if _wants_page(request):
            raise SignInRequired(request.url.path)
        raise HTTPException(
            status_code=401,
            detail="sign in, or send an API token as `Authorization: Bearer TOKEN`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


async def _staff(principal: Annotated[Principal, Depends(_caller)]) -> Principal:
    if principal.person is None:
        raise HTTPException(status_code=403, detail="this needs a person's sign-in or token")
    return principal


async def _publisher(principal: Annotated[Principal, Depends(_caller)]) -> Principal:
    if principal.grants != "publish":
        raise HTTPException(
            status_code=403, detail="publishing needs a system token with --scope publish"
        )
    return principal


def _wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


Optional = Annotated[Principal | None, Depends(_principal)]
Caller = Annotated[Principal, Depends(_caller)]
Staff = Annotated[Principal, Depends(_staff)]
Publisher = Annotated[Principal, Depends(_publisher)]


def check_csrf(principal: Principal, submitted: str | None) -> None:
    """Every form a session posts carries its CSRF token; a token-authenticated call carries
    none and needs none (a browser never sends an Authorization header on its own)."""
    if principal.kind != "session":
        return
    if (
        not submitted
        or principal.csrf is None
        or not hmac.compare_digest(submitted, principal.csrf)
    ):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or stale")
