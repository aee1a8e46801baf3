"""`followup status`: how far behind the consumers are and what is in the dead-letter store."""

from __future__ import annotations

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
