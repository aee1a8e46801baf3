"""Record the alerts of raised alarms: one per recipient routed when the alarm was raised,
each with its audit entry, in one transaction per page of alarms.

Raising an alarm (record.py) and recording its alerts are two transactions so the tracking
stream event goes out first. Nothing is lost between them: an alarm keeps `alerted_at` empty
until its alerts commit, and every tick records the alerts of any such alarm (after a crash,
the next tick does). The alerts' unique key makes recording them twice harmless, and alarms
are claimed with FOR UPDATE SKIP LOCKED so two clocks never take the same page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from events.outbound import obligation_ref
from schemas import bulk
from schemas.bulk import among
from schemas.db import claim_lock
from schemas.tables import Alarm, Alert
from services.platform.audit_trail import AuditRecord, append_audit
from services.rules.calendar import LONDON

_RETURNED = (
    "id",
    "obligation_ref",
    "due",
    "level",
    "recipient",
    "role",
    "reason",
    "rule",
    "urn",
    "fell_due_at",
)


async def record_alerts(
    *, session: AsyncSession, now: datetime, page: int = 1000
) -> tuple[int, int]:
    """Record the alerts of up to `page` alarms not yet alerted, oldest first; call inside a
    transaction, again while it returns `page` alarms. Returns (alarms taken, alerts made)."""
    await claim_lock(session, Alarm)
    claimed = (await session.execute(_waiting(page))).all()
    if not claimed:
        return 0, 0
    table = Alarm.__table__  # type: ignore[attr-defined]
    await session.execute(
        update(table)
        .where(among(session, table.c.id, [a.id for a in claimed]))
        .values(alerted_at=now)
    )
    rows: list[dict[str, Any]] = []
    for alarm in claimed:
        ref = obligation_ref(alarm.obligation_id)
        rows += [
            {
                "obligation_id": alarm.obligation_id,
                "obligation_ref": ref,
                "due": alarm.due,
                "level": alarm.level,
                "recipient": staff_id,
                "role": role,
                "reason": reason,
                "rule": alarm.rule,
                "urn": alarm.urn,
                "area": alarm.area,
                "fell_due_at": alarm.fell_due_at,
                "raised_at": alarm.raised_at,
                "deliver_after": alarm.deliver_after,
                "state": "pending",
            }
            for staff_id, role, reason in alarm.recipients
        ]
    raised = sorted(
        await bulk.write(
            session,
            Alert,
            rows,
            key=("obligation_id", "due", "level", "recipient"),
            returning=_RETURNED,
        )
    )
    records = [
        AuditRecord(
            entity="alert",
            entity_id=str(a.id),
            action="raised" if a.level.startswith(("warning", "lapse")) else "escalated",
            actor="lapse-clock",
            caused_by=f"clock:{a.fell_due_at.astimezone(LONDON).isoformat()}",
            detail={
                "obligation_ref": a.obligation_ref,
                "rule": a.rule,
                "urn": a.urn,
                "due": a.due.isoformat(),
                "level": a.level,
                "recipient": a.recipient,
                "role": a.role,
                "reason": a.reason,
            },
        )
        for a in raised
    ]
    await append_audit(session=session, records=records, at=now)
    return len(claimed), len(raised)


def _waiting(page: int) -> Any:
    """A page of unalerted alarms, oldest first, locked: marked alerted in the transaction
    that records their alerts, so the mark commits with them or not at all."""
    c = Alarm.__table__.c  # type: ignore[attr-defined]
    return (
        select(
            c.id,
            c.obligation_id,
            c.due,
            c.level,
            c.rule,
            c.urn,
            c.area,
            c.fell_due_at,
            c.raised_at,
            c.deliver_after,
            c.recipients,
        )
        .where(c.alerted_at.is_(None))
        .order_by(c.id)
        .limit(page)
        .with_for_update(skip_locked=True)
    )
