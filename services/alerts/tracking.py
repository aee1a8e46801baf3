"""The tracking stream as an outbox: events are written in the transaction that decides them
and published (XADD) afterwards, retried with backoff until Redis takes them."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from events.envelope import Event
from schemas.tables import TrackingEvent
from services.alerts.sql import insert_for

log = logging.getLogger("followup.alerts.tracking")


async def add_events(*, session: AsyncSession, events: Sequence[Event], now: datetime) -> None:
    """Record outbound events once each (their id is stable); publishing comes after commit."""
    if not events:
        return
    rows = [
        {
            "event_id": e.id,
            "type": e.type,
            "payload": e.to_wire(),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in events
    ]
    statement = insert_for(session, TrackingEvent).on_conflict_do_nothing(
        index_elements=["event_id"]
    )
    await session.execute(statement, rows)


async def flush_tracking(
    *,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    stream: str,
    now: datetime,
    retry: timedelta,
    retry_max: timedelta,
    page: int = 1000,
) -> int:
    """Publish what is due, oldest first; rows are locked while they are sent, so two
    processes never send the same one. Returns how many went out."""
    sent = 0
    while True:
        async with sessions() as session, session.begin():
            rows = list(
                (
                    await session.execute(
                        select(TrackingEvent)
                        .where(
                            col(TrackingEvent.state) == "pending",
                            col(TrackingEvent.next_attempt_at) <= now,
                        )
                        .order_by(col(TrackingEvent.id))
                        .limit(page)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if not rows:
                return sent
            try:
                await _xadd(redis, stream, [r.payload for r in rows])
            except (RedisError, OSError) as error:
                for row in rows:
                    row.attempts += 1
                    row.next_attempt_at = now + backoff(row.attempts, retry, retry_max)
                    row.last_error = f"{type(error).__name__}: {error}"[:500]
                log.warning("tracking stream unreachable; will retry", extra={"events": len(rows)})
                return sent
            ids = [r.id for r in rows]
            await session.execute(
                update(TrackingEvent)
                .where(col(TrackingEvent.id).in_(ids))
                .values(state="sent", sent_at=now, attempts=col(TrackingEvent.attempts) + 1)
            )
            sent += len(rows)
        if len(rows) < page:
            return sent


async def _xadd(redis: Redis, stream: str, payloads: list[dict[str, Any]]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for payload in payloads:
            pipe.xadd(stream, {"event": json.dumps(payload, separators=(",", ":"))})
        await pipe.execute()


def backoff(attempts: int, first: timedelta, cap: timedelta) -> timedelta:
    """Exponential: first, 2x, 4x ... capped."""
    factor: int = 2 ** min(max(attempts - 1, 0), 30)
    return min(first * factor, cap)
