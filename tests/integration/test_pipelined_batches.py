"""The consumer takes a batch and returns before applying it, so the next batch is read and
decoded meanwhile; batches are still applied one at a time, in order, and acknowledged only
once committed (real Redis, both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from schemas.tables import ReceivedEvent
from services.platform.broker.streams import ensure_group, publish_entries
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker import consumer as consumer_module
from services.tracker.consumer import StreamConsumer
from services.tracker.handlers import BatchOutcome
from tests.factories import letter_due, lines

pytestmark = pytest.mark.integration

Entry = tuple[bytes, Mapping[bytes, bytes]]


@pytest.fixture
async def connected(settings: Settings) -> AsyncIterator[tuple[Runtime, Redis]]:
    assert settings.redis_url
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url)
        try:
            yield runtime, redis
        finally:
            await redis.aclose()


async def _delivered(runtime: Runtime, redis: Redis, count: int) -> list[Entry]:
    settings = runtime.settings
    await ensure_group(redis, stream=settings.events_stream, group=settings.tracker_group)
    events = [letter_due("2018-02-01", victim_id=f"V{i}") for i in range(count)]
    await publish_entries(
        redis, stream=settings.events_stream, payloads=[line.encode() for line in lines(*events)]
    )
    taken = await redis.xreadgroup(
        settings.tracker_group, "worker", {settings.events_stream: ">"}, count=count
    )
    return list(taken[0][1])


async def _pending(runtime: Runtime, redis: Redis) -> int:
    settings = runtime.settings
    summary = await redis.xpending(settings.events_stream, settings.tracker_group)
    return int(summary["pending"])


async def _received(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0)


async def test_batches_are_applied_in_order_after_submit_returns(
    connected: tuple[Runtime, Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, redis = connected
    entries = await _delivered(runtime, redis, 10)
    gate = asyncio.Event()
    order: list[bytes] = []
    real = consumer_module.apply_entries

    async def held(*, entries: Sequence[Entry], **given: Any) -> BatchOutcome:
        await gate.wait()
        order.append(entries[0][0])
        return await real(entries=list(entries), **given)

    monkeypatch.setattr(consumer_module, "apply_entries", held)
    consumer = StreamConsumer(runtime, redis, "worker")
    await consumer.submit(entries[:4])  # returns with the batch not yet applied
    second = asyncio.create_task(consumer.submit(entries[4:]))
    await asyncio.sleep(0.2)
    assert not second.done()  # decoded, and waiting for the first to be applied
    assert await _pending(runtime, redis) == 10
    assert await _received(runtime) == 0

    gate.set()
    await second
    await consumer.drain()
    assert order == [entries[0][0], entries[4][0]]
    assert await _received(runtime) == 10
    assert await _pending(runtime, redis) == 0
    await consumer.drain()  # nothing in flight: returns at once


async def test_a_batch_whose_apply_fails_is_left_pending_and_the_next_goes_through(
    connected: tuple[Runtime, Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, redis = connected
    entries = await _delivered(runtime, redis, 6)
    real = consumer_module.apply_entries
    refused = entries[1][0]

    async def one_refused(*, entries: Sequence[Entry], **given: Any) -> BatchOutcome:
        if any(entry_id == refused for entry_id, _ in entries):
            raise ValueError("an engine bug on this entry")
        return await real(entries=list(entries), **given)

    monkeypatch.setattr(consumer_module, "apply_entries", one_refused)
    consumer = StreamConsumer(runtime, redis, "worker")
    await consumer.submit(entries[:3])
    await consumer.submit(entries[3:])
    await consumer.drain()
    assert await _received(runtime) == 5
    assert await _pending(runtime, redis) == 1  # for the reclaimer, then dead letters
    failures = await redis.hgetall(f"{runtime.settings.namespace}:failures")
    assert list(failures) == [refused]
    assert b"an engine bug on this entry" in failures[refused]
