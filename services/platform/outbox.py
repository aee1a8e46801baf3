"""The tracking stream as an outbox: events are written in the transaction that decides them
and published (XADD) afterwards, retried with backoff until Redis takes them."""

from __future__ import annotations

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
from schemas.bulk import insert_rows
from schemas.db import among, claim_lock
from schemas.tables import TrackingEvent

log = logging.getLogger("followup.alerts.tracking")


async def add_events(*, session: AsyncSession, events: Sequence[Event], now: datetime) -> None:
    """Record outbound events once each (their id is stable); publishing comes after commit."""
    rows = [
        {
            "event_id": e.id,
            "type": e.type,
            "payload": e.to_json(),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in events
    ]
    await insert_rows(session=session, model=TrackingEvent, rows=rows, conflict=["event_id"])


class _Unsent(Exception):
    def __init__(self, ids: list[int], error: Exception) -> None:
        super().__init__(str(error))
        self.ids, self.error = ids, error


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
        try:
            async with sessions() as session, session.begin():
                # Locked while they are sent; marked sent only once Redis has them (a failure
                # rolls back and records the attempt below).
                await claim_lock(session, TrackingEvent)
                rows = (await session.execute(_due(now, page))).all()
                if not rows:
                    return sent
                ids = [i for i, _ in rows]
                try:
                    await _xadd(redis, stream, [payload for _, payload in rows])
                except (RedisError, OSError) as error:
                    raise _Unsent(ids, error) from error
                table = TrackingEvent.__table__  # type: ignore[attr-defined]
                await session.execute(
                    update(table)
                    .where(among(session, table.c.id, ids))
                    .values(state="sent", sent_at=now, attempts=table.c.attempts + 1)
                )
        except _Unsent as unsent:
            await _failed(sessions, unsent, now, retry, retry_max)
            return sent
        sent += len(rows)
        if len(rows) < page:
            return sent


def _due(now: datetime, page: int) -> Any:
    # Two statements, not one UPDATE ... WHERE id IN (SELECT ... LIMIT ... FOR UPDATE): with
    # stale statistics (a new or just-emptied table) PostgreSQL ran that subquery once per
    # row of the table, seconds at a midnight.
    table = TrackingEvent.__table__  # type: ignore[attr-defined]
    return (
        select(table.c.id, table.c.payload)
        .where(table.c.state == "pending", table.c.next_attempt_at <= now)
        .order_by(table.c.id)
        .limit(page)
        .with_for_update(skip_locked=True)
    )


async def _failed(
    sessions: async_sessionmaker[AsyncSession],
    unsent: _Unsent,
    now: datetime,
    retry: timedelta,
    retry_max: timedelta,
) -> None:
    error = unsent.error
    async with sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(TrackingEvent).where(col(TrackingEvent.id).in_(unsent.ids))
            )
        ).scalars()
        for row in rows:
            if row.state != "pending":
                continue  # another process sent it meanwhile
            row.attempts += 1
            row.next_attempt_at = now + backoff(row.attempts, retry, retry_max)
            row.last_error = f"{type(error).__name__}: {error}"[:500]
    log.warning("tracking stream unreachable; will retry", extra={"events": len(unsent.ids)})


# One round trip and one reply for a page of entries: a pipeline of XADDs costs redis-py a
# reply to parse (and a timeout to arm) per entry, which was most of a midnight's publishing.
_XADD_ALL = """
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'event', ARGV[i])
end
return #ARGV
"""


async def _xadd(redis: Redis, stream: str, payloads: list[str]) -> None:
    await redis.register_script(_XADD_ALL)(keys=[stream], args=payloads)


def backoff(attempts: int, first: timedelta, cap: timedelta) -> timedelta:
    """Exponential: first, 2x, 4x ... capped."""
    factor: int = 2 ** min(max(attempts - 1, 0), 30)
    return min(first * factor, cap)
