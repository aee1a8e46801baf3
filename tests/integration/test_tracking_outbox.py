"""Two processes flushing one outbox send each event once, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.tables import TrackingEvent
from services.platform.outbox import flush_tracking
from services.platform.runtime import open_runtime
from services.platform.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime(2024, 1, 9, 9, 0, tzinfo=UTC)


async def test_two_flushers_send_every_event_exactly_once(settings: Settings) -> None:
    stream = settings.tracking_stream
    redis = Redis.from_url(settings.redis_url or "")
    # Two runtimes, two engines, two connections to the one database: as two processes.
    async with open_runtime(settings) as first, open_runtime(settings) as second:
        async with first.sessions() as session, session.begin():
            session.add_all(
                TrackingEvent(
                    event_id=f"e{n}",
                    type="obligation-lapsed",
                    payload=f'{{"n":{n}}}',
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
                for n in range(300)
            )

        async def flush(sessions: async_sessionmaker[AsyncSession]) -> int:
            total = 0
            for _ in range(30):
                total += await flush_tracking(
                    sessions=sessions,
                    redis=redis,
                    stream=stream,
                    now=NOW + timedelta(days=1),
                    retry=timedelta(seconds=30),
                    retry_max=timedelta(hours=1),
                    page=7,
                )
                await asyncio.sleep(0)
            return total

        counts = await asyncio.gather(flush(first.sessions), flush(second.sessions))
    entries = await redis.xrange(stream)
    await redis.aclose()
    sent = sorted(int(fields[b"event"].decode().split(":")[1].rstrip("}")) for _, fields in entries)
    assert sent == list(range(300)), f"{len(sent)} entries for 300 events"
    assert sum(counts) == 300
