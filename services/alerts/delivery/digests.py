"""Gather pending alerts into one digest per recipient per slot.

An alert whose obligation was closed, recalculated or removed before its digest is withdrawn
(recorded, not sent). A recipient who already had this slot's digest waits for the next slot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas import bulk
from schemas.db import claim_lock
from schemas.tables import Alert, Delivery, Digest
from services.alerts.clock import store
from services.alerts.clock.hours import WorkingHours
from services.alerts.clock.raise_alarms import Due
from services.platform.audit_trail import AuditRecord, append_audit


async def gather(
    *,
    session: AsyncSession,
    slot: datetime,
    now: datetime,
    hours: WorkingHours,
    channels: Sequence[str],
    page: int = 5000,
) -> list[int]:
    """Digests made for this slot (their ids); call inside a transaction."""
    await claim_lock(session, Alert)
    alerts = list(
        (
            await session.execute(
                select(Alert)
                .where(col(Alert.state) == "pending", col(Alert.deliver_after) <= now)
                .order_by(col(Alert.id))
                .limit(page)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    if not alerts:
        return []
    current = {
        r.id: Due.of(r)
        for r in await store.open_by_id(session=session, ids={a.obligation_id for a in alerts})
    }
    withdrawn: list[tuple[Alert, str]] = []
    by_recipient: dict[str, list[Alert]] = {}
    for alert in alerts:
        o = current.get(alert.obligation_id)
        if o is None or o.state != "open" or o.due != alert.due:
            alert.state = "withdrawn"
            withdrawn.append((alert, _why_withdrawn(o, alert)))
        else:
            by_recipient.setdefault(alert.recipient, []).append(alert)
    made: list[int] = []
    later = hours.next_slot(slot + timedelta(microseconds=1))
    for recipient, mine in sorted(by_recipient.items()):
        digest_id = await _new_digest(session, recipient, slot, now)
        if digest_id is None:  # this slot's digest already went: the next one takes them
            for alert in mine:
                alert.deliver_after = later
            continue
        for alert in mine:
            alert.state, alert.digest_id = "queued", digest_id
        rows = [
            {
                "digest_id": digest_id,
                "channel": c,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
            for c in channels
        ]
        await bulk.write(session, Delivery, rows)
        made.append(digest_id)
    await append_audit(
        session=session,
        records=[
            alert_audit(
                alert,
                action="withdrawn",
                caused_by=f"clock:{now.isoformat()}",
                detail={
                    "obligation_ref": alert.obligation_ref,
                    "level": alert.level,
                    "recipient": alert.recipient,
                    "reason": why,
                },
            )
            for alert, why in withdrawn
        ],
        at=now,
    )
    return made


def alert_audit(
    alert: Alert, *, action: str, caused_by: str, detail: Mapping[str, Any]
) -> AuditRecord:
    """The audit record of what the delivery side did with an alert."""
    return AuditRecord(
        entity="alert",
        entity_id=str(alert.id),
        action=action,
        actor="alerts",
        caused_by=caused_by,
        detail=detail,
    )


def _why_withdrawn(o: Due | None, alert: Alert) -> str:
    if o is None:
        return "obligation removed"
    if o.due != alert.due:
        return f"due date recalculated to {o.due.isoformat()}"
    return f"obligation {o.state}"


async def _new_digest(
    session: AsyncSession, recipient: str, slot: datetime, now: datetime
) -> int | None:
    row = {"recipient": recipient, "slot": slot, "created_at": now, "state": "pending"}
    made = await bulk.write(session, Digest, [row], key=("recipient", "slot"), returning=("id",))
    return int(made[0].id) if made else None
