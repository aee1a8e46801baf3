"""GET / (*My work*), GET /o and /o/{reference} (one obligation by its `ob-` reference or
id), GET /my-alerts: a signed-in person's own work and alerts (docs/contract.md section 12,
"Pages")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.access.credentials import list_credentials
from services.alerts.queries import list_alerts
from services.entrypoints.http.auth import Caller, Staff
from services.entrypoints.http.pages.common import problem
from services.entrypoints.http.pages.worklist import (
    HORIZON_WORKING_DAYS,
    horizon,
    rows_of,
    work_rows,
)
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render
from services.tracker.queries import explain_obligation, find_obligation

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def my_work(request: Request, principal: Staff) -> Response:
    state = state_of(request)
    runtime, today = state.runtime, state.today()
    assert principal.staff_id is not None  # Staff: a person
    async with runtime.sessions() as session:
        rows = await work_rows(
            session=session,
            runtime=runtime,
            principal=principal,
            today=today,
            now=runtime.now(),
            owners={principal.staff_id},
        )
        feeds = await list_credentials(
            session=session, kinds=("calendar-feed",), staff_id=principal.staff_id
        )
    now = runtime.now()
    return render(
        request,
        "my_work.html",
        principal=principal,
        lapsed=[r for r in rows if r.state == "lapsed"],
        due=[r for r in rows if r.state != "lapsed"],
        today=today,
        horizon=horizon(runtime, today),
        horizon_days=HORIZON_WORKING_DAYS,
        feeds=[
            f
            for f in feeds
            if f.revoked_at is None and (f.expires_at is None or f.expires_at > now)
        ],
    )


@router.get("/o", response_class=HTMLResponse)
async def find_by_reference(
    request: Request, principal: Caller, reference: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    """The search box: a reference from an email (`ob-...`) or an obligation id."""
    found = reference.strip()
    if not found:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(request.url_for("obligation_page", reference=found), status_code=303)


@router.get("/o/{reference:path}", response_class=HTMLResponse, name="obligation_page")
async def obligation_page(request: Request, principal: Caller, reference: str) -> Response:
    state = state_of(request)
    runtime, today = state.runtime, state.today()
    async with runtime.sessions() as session:
        row = await find_obligation(session=session, reference=reference, scope=principal.scope)
        if row is None:
            return problem(
                request,
                principal,
                status_code=404,
                title="No such obligation",
                message=f"Nothing you can see has the reference {reference[:40]!r}.",
            )
        explained = await explain_obligation(
            session=session,
            obligation_id=row.id,
            today=today,
            rules=runtime.rules,
            calendar=runtime.calendar,
            scope=principal.scope,
        )
        shown = await rows_of(
            session=session,
            runtime=runtime,
            principal=principal,
            found=[row],
            today=today,
            now=runtime.now(),
        )
    if explained is not None and not (row.owner and row.owner == principal.staff_id):
        # The id and key hold a victim's or defendant's id: for the owner only (worklist.py).
        explained = {k: v for k, v in explained.items() if k not in ("id", "key")}
    return render(
        request, "obligation.html", principal=principal, row=shown[0], explained=explained
    )


@router.get("/my-alerts", response_class=HTMLResponse)
async def my_alerts(request: Request, principal: Staff) -> Response:
    runtime = state_of(request).runtime
    async with runtime.sessions() as session:
        alerts = await list_alerts(
            session=session,
            now=runtime.now(),
            recipient=principal.staff_id,
            limit=200,
            scope=principal.scope,
        )
    titles = {r.id: r.title for r in runtime.rules}
    names = {p.staff_id: p.name for p in principal.directory().values()}
    return render(
        request, "my_alerts.html", principal=principal, alerts=alerts, titles=titles, names=names
    )
