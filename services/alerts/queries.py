"""Alerts as `followup alerts --json` and GET /alerts show them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.bulk import among
from schemas.tables import Alert, Delivery, Digest
from services.access.filters import in_scope
from services.access.scope import Scope

STATES = ("pending", "queued", "sent", "undeliverable", "withdrawn", "acknowledged", "snoozed")


def state_of(alert: Alert, now: datetime) -> str:
    if alert.acknowledged_at is not None:
        return "acknowledged"
    if alert.snoozed_until is not None and alert.snoozed_until > now:
        return "snoozed"
    return alert.state


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(alert: Alert, now: datetime) -> dict[str, Any]:
    return {
        "id": alert.id,
        "recipient": alert.recipient,
        "role": alert.role,
        "level": alert.level,
        "obligation": alert.obligation_id,
        "obligation_ref": alert.obligation_ref,
        "rule": alert.rule,
        "urn": alert.urn,
        "due": alert.due.isoformat(),
        "state": state_of(alert, now),
        "reason": alert.reason,
        "fell_due_at": _iso(alert.fell_due_at),
        "deliver_after": _iso(alert.deliver_after),
        "sent_at": _iso(alert.sent_at),
        "digest_id": alert.digest_id,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "snoozed_by": alert.snoozed_by,
        "snoozed_until": _iso(alert.snoozed_until),
        "snooze_reason": alert.snooze_reason,
    }


async def list_alerts(
    *,
    session: AsyncSession,
    now: datetime,
    state: str | None = None,
    recipient: str | None = None,
    limit: int = 1000,
    scope: Scope | None = None,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """The latest `limit` alerts, filtered in SQL so that a state is never cut off by others;
    `scope`: only those whose recipient its holder may see (None: all, for the command line);
    `before`: the page after the one ending at this id (newest first, read by key)."""
    statement = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if before is not None:
        statement = statement.where(col(Alert.id) < before)
    if scope is not None:
        statement = statement.where(
            in_scope(scope, owner=col(Alert.recipient), area=col(Alert.area))
        )
    if recipient:
        statement = statement.where(col(Alert.recipient) == recipient)
    if state is not None:
        statement = statement.where(_in_state(state, now))
    return [alert_json(a, now) for a in (await session.execute(statement)).scalars()]


def _in_state(state: str, now: datetime) -> ColumnElement[bool]:
    """`state_of` as a condition: acknowledged first, then a snooze still running."""
    acknowledged = col(Alert.acknowledged_at).is_not(None)
    snoozed = and_(col(Alert.snoozed_until).is_not(None), col(Alert.snoozed_until) > now)
    if state == "acknowledged":
        return acknowledged
    if state == "snoozed":
        return and_(not_(acknowledged), snoozed)
    return and_(not_(acknowledged), not_(snoozed), col(Alert.state) == state)


async def alerts_about(
    *, session: AsyncSession, obligation_ids: Collection[str], scope: Scope
) -> list[Alert]:
    """The alerts about these obligations that `scope` may see, oldest first: the rows of a
    page of obligations, each with the alerts a manager may acknowledge or snooze."""
    if not obligation_ids:
        return []
    statement = (
        select(Alert)
        .where(
            among(session, col(Alert.obligation_id), obligation_ids),
            in_scope(scope, owner=col(Alert.recipient), area=col(Alert.area)),
        )
        .order_by(col(Alert.id))
    )
    return list((await session.execute(statement)).scalars())


async def find_alert(*, session: AsyncSession, alert_id: int) -> Alert | None:
    """One alert by id, unscoped: for an emailed action link, whose token names its recipient."""
    return await session.get(Alert, alert_id)


async def alert_in_scope(*, session: AsyncSession, alert_id: int, scope: Scope) -> bool:
    """Whether the alert exists and its holder may see it: outside scope reads as unknown
    (docs/contract.md section 12), so existence does not leak."""
    statement = select(Alert.id).where(  # type: ignore[call-overload]
        col(Alert.id) == alert_id, in_scope(scope, owner=col(Alert.recipient), area=col(Alert.area))
    )
    return (await session.execute(statement)).first() is not None


async def delivery_backlog(*, session: AsyncSession) -> tuple[int, datetime | None]:
    """Digests' deliveries not yet gone (due, or waiting for a retry), and when the digest of
    the oldest was made: `/metrics`' delivery backlog (docs/contract.md, section 11, "Added:
    operations gauges")."""
    statement = (
        select(func.count(), func.min(col(Digest.created_at)))
        .select_from(Delivery)
        .join(Digest, col(Digest.id) == col(Delivery.digest_id))
        .where(col(Delivery.state) == "pending")
    )
    count, oldest = (await session.execute(statement)).one()
    return int(count), oldest
