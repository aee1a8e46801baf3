"""GET /alerts, POST /alerts/{id}/ack and /alerts/{id}/snooze: the CLI's alert commands, for the
caller's own scope; acting is for the alert's recipient or someone above them in the line
(docs/contract.md section 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from pydantic import AwareDatetime, BaseModel

from services.access.principal import Principal
from services.access.redaction import redact_alert
from services.alerts.actions import (
    AlertActionForbidden,
    AlertActionRefused,
    AlertNotFound,
    acknowledge,
    snooze,
)
from services.alerts.queries import alert_in_scope, list_alerts
from services.entrypoints.http import paging
from services.entrypoints.http.auth import Caller, Staff
from services.entrypoints.http.models import Alert, AlertPage, AlertState, RowId
from services.platform.clock import now
from services.platform.runtime import Runtime


class Ack(BaseModel):
    by: str | None = None  # the caller; given, it must be them


class Snooze(BaseModel):
    by: str | None = None
    reason: str
    until: AwareDatetime


def add_alert_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/alerts", response_model=list[Alert] | AlertPage)
    async def alerts(
        request: Request,
        response: Response,
        caller: Caller,
        state: Annotated[AlertState | None, Query()] = None,
        recipient: Annotated[str | None, Query(description="staff id")] = None,
        limit: paging.Limit = None,
        cursor: paging.Cursor = None,
    ) -> Any:
        """Newest first, within the caller's scope. Without `limit` or `cursor`, the latest
        1,000 as a bare array (section 10); with either, one page."""
        before = None if cursor is None else paging.alert_id(cursor)
        paged = limit is not None or cursor is not None
        size = (limit or paging.DEFAULT_LIMIT) if paged else 1000
        async with runtime.sessions() as session:
            rows = await list_alerts(
                session=session,
                now=now(),
                state=state,
                recipient=recipient,
                scope=caller.scope,
                limit=size + 1 if paged else size,
                before=before,
            )
        items = [redact_alert(row, scope=caller.scope) for row in rows[:size]]
        if not paged:
            return items
        next_cursor = paging.encode([rows[size - 1]["id"]]) if len(rows) > size else None
        paging.link_next(request, response, next_cursor)
        return {"items": items, "next_cursor": next_cursor}

    @api.post("/alerts/{alert_id}/ack", response_model=Alert)
    async def ack(caller: Staff, alert_id: RowId, body: Ack) -> dict[str, Any]:
        by = _by(caller, body.by)
        return await _act(
            caller, alert_id, lambda s: acknowledge(session=s, alert_id=alert_id, by=by, now=now())
        )

    @api.post("/alerts/{alert_id}/snooze", response_model=Alert)
    async def hold(caller: Staff, alert_id: RowId, body: Snooze) -> dict[str, Any]:
        until: datetime = body.until
        by = _by(caller, body.by)
        return await _act(
            caller,
            alert_id,
            lambda s: snooze(
                session=s,
                alert_id=alert_id,
                by=by,
                reason=body.reason,
                until=until,
                now=now(),
            ),
        )

    async def _act(caller: Principal, alert_id: int, action: Any) -> dict[str, Any]:
        async with runtime.sessions() as session, session.begin():
            if not await alert_in_scope(session=session, alert_id=alert_id, scope=caller.scope):
                raise HTTPException(status_code=404, detail=f"no alert {alert_id}")
            try:
                done: dict[str, Any] = await action(session)
            except AlertActionRefused as error:
                raise HTTPException(status_code=_status(error), detail=str(error)) from None
        return redact_alert(done, scope=caller.scope)


def _status(error: AlertActionRefused) -> int:
    if isinstance(error, AlertNotFound):
        return 404
    return 403 if isinstance(error, AlertActionForbidden) else 409


def _by(caller: Principal, by: str | None) -> str:
    if by is not None and by != caller.staff_id:
        raise HTTPException(status_code=403, detail="`by` must be the signed-in person")
    assert caller.staff_id is not None  # Staff: a person
    return caller.staff_id
