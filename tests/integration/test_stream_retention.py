"""Trimming the streams (services/broker/streams.py trim_applied, services/retention.py): an
entry goes once it is older than the retention and, on the events stream, acknowledged by every
group; never one pending or not yet delivered. Against the real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.platform.broker.streams import ENTRY_FIELD, ensure_group, trim_applied
from services.platform.retention import trim_streams
from services.platform.settings import Settings
from services.tracker import cache
from tests.factories import hearing
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # entry ids are made from it: no wall clock


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def add(redis: Redis, stream: str, first_ms: int, count: int) -> list[bytes]:
    """`count` entries with ids first_ms-0, first_ms+1-0, ...: their publishing times."""
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(count):
            pipe.xadd(stream, {ENTRY_FIELD: b"{}"}, id=f"{first_ms + i}-0")
        return list(await pipe.execute())


async def read(redis: Redis, stream: str, group: str, count: int) -> list[bytes]:
    """Deliver the next `count` entries to the group (they are pending until acknowledged)."""
    got = await redis.xreadgroup(group, "worker", {stream: ">"}, count=count)
    return [entry_id for entry_id, _ in got[0][1]] if got else []


async def ids(redis: Redis, stream: str) -> list[bytes]:
    return [entry_id for entry_id, _ in await redis.xrange(stream)]


@pytest.fixture
async def redis(redis_server: str) -> Redis:
    client = Redis.from_url(redis_server)
    yield client
    await client.aclose()


async def test_applied_entries_go_pending_and_undelivered_stay(
    redis: Redis, namespace: str
) -> None:
    stream, group = f"{namespace}:events", f"{namespace}:tracker"
    await ensure_group(redis, stream=stream, group=group)
    added = await add(redis, stream, 1_000, 600)
    delivered = await read(redis, stream, group, 400)
    await redis.xack(stream, group, *delivered[:300])  # 300 applied, 100 pending, 200 not read

    removed = await trim_applied(redis, stream=stream, before_ms=10_000, limit=100)

    left = await ids(redis, stream)
    assert left[-300:] == added[300:]  # every pending and undelivered entry is still there
    assert removed == 600 - len(left)
    assert removed >= 200  # whole nodes of 100 acknowledged entries went


async def test_an_old_pending_entry_holds_back_everything_after_it(
    redis: Redis, namespace: str
) -> None:
    stream, group = f"{namespace}:events", f"{namespace}:tracker"
    await ensure_group(redis, stream=stream, group=group)
    added = await add(redis, stream, 1_000, 500)
    delivered = await read(redis, stream, group, 500)
    await redis.xack(stream, group, *delivered[1:])  # the first is still pending (failing)

    assert await trim_applied(redis, stream=stream, before_ms=10_000, limit=100) == 0
    assert await ids(redis, stream) == added


async def test_every_group_reading_the_stream_is_waited_for(redis: Redis, namespace: str) -> None:
    stream = f"{namespace}:events"
    fast, slow = f"{namespace}:tracker", f"{namespace}:other"
    await ensure_group(redis, stream=stream, group=fast)
    await ensure_group(redis, stream=stream, group=slow)
    added = await add(redis, stream, 1_000, 500)
    await redis.xack(stream, fast, *await read(redis, stream, fast, 500))
    await redis.xack(stream, slow, *await read(redis, stream, slow, 150))  # 350 not read yet

    await trim_applied(redis, stream=stream, before_ms=10_000, limit=100)

    left = await ids(redis, stream)
    assert left[-350:] == added[150:]
    assert len(left) < 500


async def test_nothing_younger_than_the_retention_goes(redis: Redis, namespace: str) -> None:
    stream, group = f"{namespace}:events", f"{namespace}:tracker"
    await ensure_group(redis, stream=stream, group=group)
    added = await add(redis, stream, 1_000, 500)
    await redis.xack(stream, group, *await read(redis, stream, group, 500))

    removed = await trim_applied(redis, stream=stream, before_ms=1_250, limit=100)

    left = await ids(redis, stream)
    assert left[-250:] == added[250:]  # published at 1,250 ms or later
    assert 100 <= removed <= 250


async def test_the_settings_and_an_injected_clock_decide_both_streams(
    redis: Redis, namespace: str
) -> None:
    settings = Settings(
        _env_file=None,
        namespace=namespace,
        stream_retention_hours=24,
        tracking_retention_hours=168,
    )
    events, tracking = settings.events_stream, settings.tracking_stream
    await ensure_group(redis, stream=events, group=settings.tracker_group)
    old_events = await add(redis, events, ms(NOW - timedelta(hours=30)), 300)
    new_events = await add(redis, events, ms(NOW - timedelta(hours=1)), 300)
    read_ = await read(redis, events, settings.tracker_group, 600)
    await redis.xack(events, settings.tracker_group, *read_)
    # Nobody of ours reads the tracking stream: it goes by time alone, read or not.
    await add(redis, tracking, ms(NOW - timedelta(hours=200)), 300)
    new_tracking = await add(redis, tracking, ms(NOW - timedelta(hours=100)), 300)

    trimmed = await trim_streams(redis=redis, settings=settings, now=NOW)

    assert await ids(redis, events) == new_events
    assert await ids(redis, tracking) == new_tracking
    assert trimmed == {events: len(old_events), tracking: 300}


async def test_a_retention_of_zero_keeps_the_stream(redis: Redis, namespace: str) -> None:
    settings = Settings(_env_file=None, namespace=namespace, stream_retention_hours=0)
    await ensure_group(redis, stream=settings.events_stream, group=settings.tracker_group)
    added = await add(redis, settings.events_stream, 1_000, 300)
    applied = await read(redis, settings.events_stream, settings.tracker_group, 300)
    await redis.xack(settings.events_stream, settings.tracker_group, *applied)

    await trim_streams(redis=redis, settings=settings, now=NOW)

    assert await ids(redis, settings.events_stream) == added


@pytest.mark.parametrize(
    "settings",
    [{"stream_retention_hours": 1e-6, "retention_check_seconds": 0.2, "cache_mb": 3}],
    indirect=True,
)
async def test_serve_trims_what_it_applied_as_it_goes(pipeline: Pipeline) -> None:
    settings = pipeline.runtime.settings
    lines = [
        json.dumps(hearing("listed", "2026-02-02", time="2026-01-05T09:00:00+00:00", urn=f"U{n}"))
        for n in range(400)
    ]
    await pipeline.publish(lines)
    await pipeline.settle()
    deadline = time.monotonic() + 20
    while await pipeline.redis.xlen(settings.events_stream) >= 100:  # less than one node left
        assert time.monotonic() < deadline, "serve never trimmed the applied entries"
        await asyncio.sleep(0.2)
    async with pipeline.runtime.sessions() as session:
        assert cache.cache_of(session).budget == 3 * cache.MB  # FOLLOWUP_CACHE_MB
