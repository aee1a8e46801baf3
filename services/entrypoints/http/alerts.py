"""GET /alerts, POST /alerts/{id}/ack and /alerts/{id}/snooze: the CLI's alert commands, for the
caller's own scope; acting is for the alert's recipient or someone above them in the line
(docs/contract.md section 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import AwareDatetime, BaseModel

from services.access.principal import Principal
from services.alerts.actions import (
    AlertActionForbidden,
    AlertActionRefused,
    AlertNotFound,
    acknowledge,
    snooze,
)
from services.alerts.queries import alert_in_scope, list_alerts
from services.entrypoints.http.auth import Caller, Staff
from services.platform.clock import now
from services.platform.runtime import Runtime


class Ack(BaseModel):
    by: str | None = None  # the caller; given, it must be them


class Snooze(BaseModel):
    by: str | None = None
    reason: str
    until: AwareDatetime


def add_alert_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/alerts")
    async def alerts(
        caller: Caller,
        state: str | None = Query(default=None),
        recipient: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_alerts(
                session=session, now=now(), state=state, recipient=recipient, scope=caller.scope
            )

    @api.post("/alerts/{alert_id}/ack")
    async def ack(caller: Staff, alert_id: int, body: Ack) -> dict[str, Any]:
        by = _by(caller, body.by)
        return await _act(
            caller, alert_id, lambda s: acknowledge(session=s, alert_id=alert_id, by=by, now=now())
        )

    @api.post("/alerts/{alert_id}/snooze")
    async def hold(caller: Staff, alert_id: int, body: Snooze) -> dict[str, Any]:
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
        return done


def _status(error: AlertActionRefused) -> int:
    if isinstance(error, AlertNotFound):
        return 404
    return 403 if isinstance(error, AlertActionForbidden) else 409


def _by(caller: Principal, by: str | None) -> str:
    if by is not None and by != caller.staff_id:
        raise HTTPException(status_code=403, detail="`by` must be the signed-in person")
    assert caller.staff_id is not None  # Staff: a person
    return caller.staff_id
