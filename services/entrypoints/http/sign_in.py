"""GET/POST /sign-in, GET/POST /sign-in/{link}, POST /sign-out: the emailed one-time link and
the session cookie it starts (docs/contract.md section 12, "Sign-in")."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.access.sign_in import complete_sign_in, end_session, request_link
from services.entrypoints.http.auth import CSRF_FIELD, Staff, check_csrf
from services.entrypoints.http.security_schemes import SESSION_COOKIE
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render
from services.platform.mail import send_email
from services.platform.signing import SignedValueRefused, sign, unsign

log = logging.getLogger("followup.http.sign_in")
router = APIRouter(include_in_schema=False)

# Forms shown before anyone is signed in carry a signed token instead of a session's: a page
# elsewhere cannot post them (docs/contract.md section 12).
_ANONYMOUS_FORM = "anonymous-form"
_ANONYMOUS_FORM_SECONDS = 2 * 3600


def _form_token(request: Request) -> str:
    return sign(state_of(request).runtime.settings, purpose=_ANONYMOUS_FORM, value="form")


def _check_form_token(request: Request, token: str) -> bool:
    try:
        unsign(
            state_of(request).runtime.settings,
            purpose=_ANONYMOUS_FORM,
            token=token,
            max_age_seconds=_ANONYMOUS_FORM_SECONDS,
        )
    except SignedValueRefused:
        return False
    return True


def _safe_next(path: str | None) -> str:
    """Only a path on this site: never an absolute URL a crafted link could send someone to."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str = "/") -> Response:
    return render(request, "sign_in.html", csrf=_form_token(request), next_path=_safe_next(next))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_requested(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not _check_form_token(request, csrf_token):
        return render(
            request,
            "sign_in.html",
            status_code=403,
            csrf=_form_token(request),
            next_path=_safe_next(next),
            problem="The form had expired. Please enter your email address again.",
        )
    state = state_of(request)
    runtime = state.runtime
    async with runtime.sessions() as session, session.begin():
        message = await request_link(
            session=session,
            settings=runtime.settings,
            email=email,
            now=runtime.now(),
            today=runtime.today(),
        )
    if message is not None:
        try:
            await send_email(settings=runtime.settings, email=message)
        except Exception:  # the page must read the same either way
            log.exception("the sign-in link could not be sent")
    return render(request, "sign_in.html", sent=True, email=email, next_path="/")


@router.get("/sign-in/{secret}", response_class=HTMLResponse)
async def sign_in_link_opened(request: Request, secret: str, next: str = "/") -> Response:
    """A page with a button, not the sign-in itself: a mail scanner fetching the link must not
    use it up."""
    return render(
        request,
        "sign_in_confirm.html",
        secret=secret,
        csrf=_form_token(request),
        next_path=_safe_next(next),
    )


@router.post("/sign-in/{secret}")
async def sign_in_link_used(
    request: Request,
    secret: str,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    state = state_of(request)
    runtime = state.runtime
    started = None
    if _check_form_token(request, csrf_token):
        async with runtime.sessions() as session, session.begin():
            started = await complete_sign_in(
                session=session,
                settings=runtime.settings,
                secret=secret,
                now=runtime.now(),
                today=runtime.today(),
            )
    if started is None:
        return render(
            request,
            "sign_in_confirm.html",
            status_code=400,
            problem="This sign-in link has been used, has expired or is not valid.",
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.secret,
        max_age=int(runtime.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=runtime.settings.base_url().startswith("https://"),
        path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, principal: Staff, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = ""
) -> Response:
    check_csrf(principal, csrf_token)
    runtime = state_of(request).runtime
    async with runtime.sessions() as session, session.begin():
        await end_session(session=session, credential_id=principal.credential_id, now=runtime.now())
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
