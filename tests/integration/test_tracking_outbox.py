"""Two processes flushing one outbox send each event once, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from schemas.tables import TrackingEvent
from services.alerts.tracking import flush_tracking
from services.runtime import open_runtime
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration
NOW = datetime(2024, 1, 9, 9, 0, tzinfo=UTC)


async def test_two_flushers_send_every_event_exactly_once(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(
        tmp_path,
        database_url,
        redis_server,
        namespace,
    )
    stream = settings.tracking_stream
    redis = Redis.from_url(redis_server)
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

        async def flush(runtime_sessions: object) -> int:
            total = 0
            for _ in range(30):
                total += await flush_tracking(
                    sessions=runtime_sessions,  # type: ignore[arg-type]
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
