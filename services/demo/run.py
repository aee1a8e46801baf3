"""Run the demo week through the real pipeline: publish, consume, report."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import date
from typing import Any

from redis.asyncio import Redis

from services.app import build_app
from services.demo.week import demo_week
from services.publishing import publish_lines
from services.runtime import Runtime
from services.status import read_status
from services.tracker.queries import list_obligations


async def run_demo(
    *, runtime: Runtime, redis: Redis, redis_url: str, as_of: date, within: float = 120.0
) -> list[dict[str, Any]]:
    app = build_app(runtime, redis_url, http=False)
    task = asyncio.create_task(app.run())
    try:
        lines = [json.dumps(event) for event in demo_week()]
        await publish_lines(runtime=runtime, redis=redis, lines=lines)
        deadline = time.monotonic() + within
        while (await read_status(runtime=runtime, redis=redis))["lag"] > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the demo events were not all applied in time")
            await asyncio.sleep(0.1)
    finally:
        app.exit()
        await task
    async with runtime.sessions() as session:
        return await list_obligations(session=session, today=as_of)


def summary(rows: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    by_rule: dict[str, Counter[str]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], Counter())[row["state"]] += 1
    return by_rule
