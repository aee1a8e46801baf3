"""Server-rendered pages: one Jinja2 environment (autoescaped), one `render` that gives every
template who is signed in and the CSRF token its forms post back (docs/contract.md section 12).
Templates only show what they are handed; the scoped queries decide what that is."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.access.principal import Principal
from services.entrypoints.http import labels
from services.entrypoints.http.auth import CSRF_FIELD
from services.entrypoints.http.menu import nav_links

HERE = Path(str(files("services.entrypoints.http")))
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"
TEMPLATES.env.filters.update(
    role=labels.role_label,
    place=labels.place_label,
    level=labels.level_label,
    alert_state=labels.alert_state_label,
    day=labels.day_label,
    explanation=labels.explanation_label,
    escalation=labels.escalation_label,
)


def render(
    request: Request,
    template: str,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf_field": CSRF_FIELD,
            "csrf_token": principal.csrf if principal is not None else context.pop("csrf", ""),
            "nav_links": nav_links(principal),
            **context,
        },
        status_code=status_code,
    )
