"""`followup status`: how far behind the consumers are and what is in the dead-letter store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from services.broker.streams import group_lag
from services.runtime import Runtime
from services.tracker.queries import count_dead_letters


async def read_status(*, runtime: Runtime, redis: Redis) -> dict[str, Any]:
    settings = runtime.settings
    lag = await group_lag(redis, stream=settings.events_stream, group=settings.tracker_group)
    async with runtime.sessions() as session:
        dead = await count_dead_letters(session=session)
    return {
        "lag": lag["undelivered"] + lag["pending"],
        "dead_letters": dead,
        "streams": {settings.events_stream: {"group": settings.tracker_group, **lag}},
    }


async def wait_until_applied(
    *,
    runtime: Runtime,
    redis: Redis,
    within: float,
    on_wait: Callable[[int], None] = lambda _lag: None,
) -> dict[str, Any]:
    """Poll until every published event is applied; `on_wait(lag)` may report or raise."""
    deadline = time.monotonic() + within
    while (status := await read_status(runtime=runtime, redis=redis))["lag"] > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{status['lag']} events still unapplied after {within:.0f}s")
        on_wait(status["lag"])
        await asyncio.sleep(0.05)
    return status
