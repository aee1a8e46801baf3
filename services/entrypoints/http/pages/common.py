"""What the pages share: a page saying what went wrong, and the checks of a posted form."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from services.access.principal import Principal
from services.entrypoints.http.auth import check_csrf
from services.entrypoints.http.templating import render


def problem(
    request: Request,
    principal: Principal | None,
    *,
    status_code: int,
    title: str,
    message: str,
    back: str = "/",
) -> HTMLResponse:
    return render(
        request,
        "problem.html",
        principal=principal,
        status_code=status_code,
        title=title,
        message=message,
        back=back,
    )


def csrf_refused(request: Request, principal: Principal, submitted: str) -> HTMLResponse | None:
    """The page to answer with when a form's CSRF token is missing or stale, else None."""
    try:
        check_csrf(principal, submitted)
    except HTTPException:
        return problem(
            request,
            principal,
            status_code=403,
            title="The form had expired",
            message="Nothing was changed. Go back, reload the page and try again.",
        )
    return None


def safe_path(path: str | None, default: str = "/") -> str:
    """A path on this site to go back to: never an absolute URL a crafted form could name."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path
