"""`/health`: whether the database, Redis and every part of `serve` are working.

Cheap enough to poll every few seconds: one `SELECT 1` on a pooled connection and one PING,
side by side, each given a few seconds; the parts report from memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from services.platform.runtime import Runtime

PROBE_SECONDS = 3.0

# What the parts of `serve` say is wrong with them: part name -> what.
Parts = Callable[[], Mapping[str, str]]


async def failing(*, runtime: Runtime, redis: Redis, parts: Parts) -> dict[str, str]:
    """Each failing dependency or part and what is wrong with it; empty when all is well."""
    return {**parts(), **await unreachable(runtime=runtime, redis=redis)}


async def unreachable(*, runtime: Runtime, redis: Redis) -> dict[str, str]:
    """`database` and `redis`, each if it does not answer, with what is wrong."""
    found: dict[str, str] = {}
    database, broker = await asyncio.gather(_probe(_select_one(runtime)), _probe(redis.ping()))
    if database:
        found["database"] = database
    if broker:
        found["redis"] = broker
    return found


async def _select_one(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await session.execute(text("SELECT 1"))


async def _probe(check: Awaitable[Any]) -> str | None:
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            await check
    except TimeoutError:
        return f"no answer within {PROBE_SECONDS:g} s"
    except Exception as error:  # whatever it is, it is the answer
        return f"{type(error).__name__}: {error}".splitlines()[0][:300]
    return None
