"""GET /alerts, POST /alerts/{id}/ack and /alerts/{id}/snooze: the CLI's alert commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import AwareDatetime, BaseModel

from services.alerts.actions import AlertActionRefused, AlertNotFound, acknowledge, snooze
from services.alerts.queries import list_alerts
from services.platform.clock import now
from services.platform.runtime import Runtime


class Ack(BaseModel):
    by: str


class Snooze(BaseModel):
    by: str
    reason: str
    until: AwareDatetime


def add_alert_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/alerts")
    async def alerts(
        state: str | None = Query(default=None), recipient: str | None = Query(default=None)
    ) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_alerts(session=session, now=now(), state=state, recipient=recipient)

    @api.post("/alerts/{alert_id}/ack")
    async def ack(alert_id: int, body: Ack) -> dict[str, Any]:
        return await _act(
            lambda s: acknowledge(session=s, alert_id=alert_id, by=body.by, now=now())
        )

    @api.post("/alerts/{alert_id}/snooze")
    async def hold(alert_id: int, body: Snooze) -> dict[str, Any]:
        until: datetime = body.until
        return await _act(
            lambda s: snooze(
                session=s,
                alert_id=alert_id,
                by=body.by,
                reason=body.reason,
                until=until,
                now=now(),
            )
        )

    async def _act(action: Any) -> dict[str, Any]:
        async with runtime.sessions() as session, session.begin():
            try:
                done: dict[str, Any] = await action(session)
            except AlertActionRefused as error:
                status = 404 if isinstance(error, AlertNotFound) else 409
                raise HTTPException(status_code=status, detail=str(error)) from None
        return done
