"""What `serve` lets go of on a schedule: applied stream entries, old dead letters, rows the
outboxes have sent. The durable record (events_received, obligations, the audit trail and
every row it names: alerts, digests, summaries) is never touched (docs/contract.md, section
11, "Retention and bounded memory")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.bulk import among
from schemas.tables import DeadLetter, Delivery, Digest, TrackingEvent
from services.platform.broker.streams import trim_applied
from services.platform.runtime import Runtime
from services.platform.settings import Settings

log = logging.getLogger("followup.retention")

# Rows deleted per statement, each in its own transaction: no lock is held for long.
PURGE_BATCH = 10_000


class Retention:
    """`serve`'s periodic trim and purge, told the time by the runtime's clock."""

    def __init__(self, runtime: Runtime, redis: Redis) -> None:
        self.runtime, self.redis = runtime, redis

    async def tick(self) -> None:
        settings, now = self.runtime.settings, self.runtime.now()
        trimmed = await trim_streams(redis=self.redis, settings=settings, now=now)
        purged = await purge_expired(sessions=self.runtime.sessions, settings=settings, now=now)
        if any(trimmed.values()) or any(purged.values()):
            log.info("retention applied", extra={"trimmed": trimmed, "purged": purged})


async def trim_streams(*, redis: Redis, settings: Settings, now: datetime) -> dict[str, int]:
    """Entries trimmed from each stream. The events stream keeps whatever a consumer group
    has not acknowledged; no group of ours reads the tracking stream, so its retention is
    time alone (integrators read it within that)."""
    streams = (
        (settings.events_stream, settings.stream_retention_hours, True),
        (settings.tracking_stream, settings.tracking_retention_hours, False),
    )
    trimmed: dict[str, int] = {}
    for stream, hours, groups in streams:
        if hours > 0:
            before = now - timedelta(hours=hours)
            trimmed[stream] = await trim_applied(
                redis, stream=stream, before_ms=int(before.timestamp() * 1000), groups=groups
            )
    return trimmed


async def purge_expired(
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
    batch: int = PURGE_BATCH,
) -> dict[str, int]:
    """Rows deleted, by kind, each kind past its retention (0 keeps it forever)."""
    purged: dict[str, int] = {}
    for name, days, table, where in _expiring(settings):
        if days > 0:
            cutoff = now - timedelta(days=days)
            purged[name] = await _purge(sessions, table, where(cutoff), batch)
    return purged


def _expiring(settings: Settings) -> list[tuple[str, float, Any, Callable[[datetime], Any]]]:
    letters = DeadLetter.__table__.c  # type: ignore[attr-defined]
    outbox = TrackingEvent.__table__.c  # type: ignore[attr-defined]
    deliveries = Delivery.__table__.c  # type: ignore[attr-defined]
    digests = Digest.__table__.c  # type: ignore[attr-defined]
    return [
        (
            "dead_letters_resolved",
            settings.dead_letter_retention_days,
            DeadLetter.__table__,  # type: ignore[attr-defined]
            lambda cutoff: (
                letters.status.in_(("replayed", "discarded")) & (letters.received_at < cutoff)
            ),
        ),
        (
            "dead_letters_dead",
            settings.dead_letter_unresolved_retention_days,
            DeadLetter.__table__,  # type: ignore[attr-defined]
            lambda cutoff: (letters.status == "dead") & (letters.received_at < cutoff),
        ),
        (
            "tracking_outbox_sent",
            settings.outbox_retention_days,
            TrackingEvent.__table__,  # type: ignore[attr-defined]
            lambda cutoff: (outbox.state == "sent") & (outbox.sent_at < cutoff),
        ),
        (
            # Only once the whole digest went: the last channel sent reads its siblings to
            # name every channel in the digest's audit entries.
            "deliveries_sent",
            settings.outbox_retention_days,
            Delivery.__table__,  # type: ignore[attr-defined]
            lambda cutoff: (
                (deliveries.state == "sent")
                & (deliveries.sent_at < cutoff)
                & deliveries.digest_id.in_(select(digests.id).where(digests.state == "sent"))
            ),
        ),
    ]


async def _purge(
    sessions: async_sessionmaker[AsyncSession], table: Any, where: Any, batch: int
) -> int:
    """Delete in batches by id, oldest first, one short transaction each. Ids are chosen
    first and deleted by list, not by a subquery: PostgreSQL with stale statistics ran such
    a subquery once per row (services/alerts/tracking.py)."""
    total = 0
    while True:
        async with sessions() as session, session.begin():
            found = select(table.c.id).where(where).order_by(table.c.id).limit(batch)
            ids = list((await session.execute(found)).scalars())
            if ids:
                await session.execute(delete(table).where(among(session, table.c.id, ids)))
        total += len(ids)
        if len(ids) < batch:
            return total
