"""Acknowledge (escalation stops) and snooze (escalation waits, with a reason, until a time):
both recorded on the alert and in the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from schemas.tables import Alert, StaffMember
from services.access.people import load_people
from services.access.scope import may_act_for
from services.alerts.queries import alert_json
from services.platform.audit_trail import AuditRecord, append_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class AlertActionRefused(ValueError):
    """The action cannot be done; the message says why."""


class AlertNotFound(AlertActionRefused):
    """No alert has that id (HTTP 404, where every other refusal is a 409)."""


class AlertActionForbidden(AlertActionRefused):
    """The person is neither the alert's recipient nor above them in the line (HTTP 403)."""


async def acknowledge(
    *, session: AsyncSession, alert_id: int, by: str, now: datetime, ran_by: str | None = None
) -> dict[str, Any]:
    """`ran_by`: who ran the command, when that is not `by` itself (the operating-system user
    of `followup alerts ack`), kept on the audit trail beside `by`."""
    alert = await _alert_and_staff(session, alert_id, by)
    if alert.acknowledged_at is not None:
        raise AlertActionRefused(
            f"alert {alert_id} was already acknowledged by {alert.acknowledged_by} "
            f"at {alert.acknowledged_at.isoformat()}"
        )
    alert.acknowledged_at, alert.acknowledged_by = now, by
    await _audit(session, alert, "acknowledged", by, now, _ran_by(ran_by))
    return alert_json(alert, now)


async def snooze(
    *,
    session: AsyncSession,
    alert_id: int,
    by: str,
    reason: str,
    until: datetime,
    now: datetime,
    ran_by: str | None = None,
) -> dict[str, Any]:
    if not reason.strip():
        raise AlertActionRefused("a snooze needs a reason")
    if until.tzinfo is None:
        raise AlertActionRefused("--until needs a time zone offset, or give a date")
    if until <= now:
        raise AlertActionRefused(f"--until {until.isoformat()} is not in the future")
    alert = await _alert_and_staff(session, alert_id, by)
    alert.snoozed_until, alert.snoozed_by, alert.snooze_reason = until, by, reason.strip()
    await _audit(
        session,
        alert,
        "snoozed",
        by,
        now,
        {"until": until.isoformat(), "reason": reason.strip(), **_ran_by(ran_by)},
    )
    return alert_json(alert, now)


async def _alert_and_staff(session: AsyncSession, alert_id: int, by: str) -> Alert:
    alert = await session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    if await session.get(StaffMember, by) is None:
        raise AlertActionRefused(f"no staff member {by!r} on record (staff-updated)")
    people = await load_people(session=session)
    if not may_act_for(by, alert.recipient, people):
        raise AlertActionForbidden(
            f"{by} may not act on alert {alert_id}: only its recipient {alert.recipient} or "
            "someone above them in the line may (docs/contract.md section 12)"
        )
    return alert


def _ran_by(ran_by: str | None) -> dict[str, Any]:
    return {} if ran_by is None else {"ran_by": ran_by}


async def _audit(
    session: AsyncSession, alert: Alert, action: str, by: str, now: datetime, extra: dict[str, Any]
) -> None:
    await append_audit(
        session=session,
        records=[
            AuditRecord(
                entity="alert",
                entity_id=str(alert.id),
                action=action,
                actor=by,
                caused_by=f"staff:{by}",
                detail={
                    "obligation_ref": alert.obligation_ref,
                    "level": alert.level,
                    "recipient": alert.recipient,
                    **extra,
                },
            )
        ],
        at=now,
    )
