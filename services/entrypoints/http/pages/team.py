"""GET /team and /team.csv (*My team*: legal managers and unit heads), and the forms that
acknowledge or snooze an alert from a page, POST /alert-actions/{id}/ack and
/alert-actions/{id}/snooze (docs/contract.md section 12, "Pages")."""

from __future__ import annotations

from datetime import date
from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.access.principal import Principal
from services.alerts.actions import (
    AlertActionForbidden,
    AlertActionRefused,
    AlertNotFound,
    acknowledge,
    snooze,
)
from services.alerts.clock.schedule import midnight, snooze_end
from services.alerts.queries import alert_in_scope
from services.entrypoints.http.auth import CSRF_FIELD, Staff
from services.entrypoints.http.menu import TEAM_ROLES
from services.entrypoints.http.models import RowId
from services.entrypoints.http.pages.common import csrf_refused, problem, safe_path
from services.entrypoints.http.pages.worklist import ROW_STATES, Row, work_rows
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render
from services.platform.text_safety import csv_text

router = APIRouter(include_in_schema=False)

SNOOZE_CHOICES = (1, 3, 5)
CSV_LIMIT = 5000
# The most urgent rows a page shows: past this a page is too long to read (and to send), and
# the filters or the CSV (CSV_LIMIT rows) are the way to the rest.
PAGE_LIMIT = 200


@router.get("/team", response_class=HTMLResponse)
async def team(
    request: Request,
    principal: Staff,
    rule: Annotated[str, Query(max_length=100)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    refused = _not_for_team(request, principal) or _bad_filters(request, principal, rule, state)
    if refused is not None:
        return refused
    rows = await _rows(request, principal, rule, state, limit=PAGE_LIMIT)
    people = [(name, list(group)) for name, group in groupby(_by_person(rows), _person)]
    return render(
        request,
        "team.html",
        principal=principal,
        people=people,
        count=len(rows),
        capped=len(rows) >= PAGE_LIMIT,
        rules=[(r.id, r.title) for r in state_of(request).runtime.rules],
        rule=rule,
        state=state,
        states=ROW_STATES,
        snooze_choices=SNOOZE_CHOICES,
        query=request.url.query,
    )


@router.get("/team.csv")
async def team_csv(
    request: Request,
    principal: Staff,
    rule: Annotated[str, Query(max_length=100)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    refused = _not_for_team(request, principal) or _bad_filters(request, principal, rule, state)
    if refused is not None:
        return refused
    rows = await _rows(request, principal, rule, state, limit=CSV_LIMIT)
    return Response(
        csv_text([r.csv() for r in _by_person(rows)]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="my-team.csv"'},
    )


@router.post("/alert-actions/{alert_id}/ack", response_class=HTMLResponse)
async def acknowledge_form(
    request: Request,
    principal: Staff,
    alert_id: RowId,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    back: Annotated[str, Form(max_length=500)] = "/team",
) -> Response:
    async def act(session: Any, by: str) -> dict[str, Any]:
        return await acknowledge(
            session=session, alert_id=alert_id, by=by, now=state_of(request).runtime.now()
        )

    return await _act(request, principal, alert_id, csrf_token, back, act)


@router.post("/alert-actions/{alert_id}/snooze", response_class=HTMLResponse)
async def snooze_form(
    request: Request,
    principal: Staff,
    alert_id: RowId,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    back: Annotated[str, Form(max_length=500)] = "/team",
    reason: Annotated[str, Form(max_length=500)] = "",
    days: Annotated[str, Form(max_length=3)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    runtime, today = state_of(request).runtime, state_of(request).today()
    if until:
        try:
            ends = midnight(date.fromisoformat(until))
        except ValueError:
            ends = None
    elif days.isdigit() and int(days) in SNOOZE_CHOICES:
        ends = snooze_end(today, int(days), runtime.calendar)
    else:
        ends = None
    if ends is None or not reason.strip():
        return problem(
            request,
            principal,
            status_code=400,
            title="The snooze needs a reason and a length",
            message="Give a reason, and choose 1, 3 or 5 working days or a date "
            "(YYYY-MM-DD). Nothing was changed.",
            back=safe_path(back, "/team"),
        )

    async def act(session: Any, by: str) -> dict[str, Any]:
        return await snooze(
            session=session, alert_id=alert_id, by=by, reason=reason, until=ends, now=runtime.now()
        )

    return await _act(request, principal, alert_id, csrf_token, back, act)


async def _act(
    request: Request, principal: Principal, alert_id: int, csrf: str, back: str, act: Any
) -> Response:
    """Outside the person's scope the alert is unknown (404); in scope but not in the
    recipient's line, refused (403); already done, a conflict (409)."""
    refused = csrf_refused(request, principal, csrf)
    if refused is not None:
        return refused
    back = safe_path(back, "/team")
    assert principal.staff_id is not None  # Staff: a person
    runtime = state_of(request).runtime
    async with runtime.sessions() as session, session.begin():
        if not await alert_in_scope(session=session, alert_id=alert_id, scope=principal.scope):
            return problem(request, principal, status_code=404, title="No such alert",
                           message=f"No alert {alert_id} that you can see.", back=back)  # fmt: skip
        try:
            await act(session, principal.staff_id)
        except AlertActionRefused as error:
            status = 404 if isinstance(error, AlertNotFound) else 409
            if isinstance(error, AlertActionForbidden):
                status = 403
            return problem(request, principal, status_code=status, title="Not done",
                           message=str(error), back=back)  # fmt: skip
    return RedirectResponse(back, status_code=303)


async def _rows(
    request: Request, principal: Principal, rule: str, state: str, *, limit: int
) -> list[Row]:
    app = state_of(request)
    async with app.runtime.sessions() as session:
        return await work_rows(
            session=session,
            runtime=app.runtime,
            principal=principal,
            today=app.today(),
            now=app.runtime.now(),
            rule=rule or None,
            state=state or None,
            limit=limit,
        )


def _person(row: Row) -> str:
    return row.owner_name


def _by_person(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r.owner_name, r.owner or "", r.due, r.ref))


def _not_for_team(request: Request, principal: Principal) -> Response | None:
    if principal.person is not None and principal.person.role in TEAM_ROLES:
        return None
    return problem(request, principal, status_code=403, title="My team is for managers",
                   message="This page is for legal managers and unit heads.")  # fmt: skip


def _bad_filters(request: Request, principal: Principal, rule: str, state: str) -> Response | None:
    rules = {r.id for r in state_of(request).runtime.rules}
    if (rule and rule not in rules) or (state and state not in ROW_STATES):
        return problem(
            request,
            principal,
            status_code=400,
            title="Unknown filter",
            message="Choose a rule and a state from the lists.",
            back="/team",
        )
    return None
