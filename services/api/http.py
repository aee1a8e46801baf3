"""The HTTP API: the same reads as the command line, for dashboards and other services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, Query
from redis.asyncio import Redis

from services.runtime import Runtime
from services.status import read_status
from services.tracker.queries import list_obligations


def build_api(*, runtime: Runtime, redis: Redis, today: Callable[[], date]) -> FastAPI:
    api = FastAPI(title="Followup", version="1")

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/status")
    async def status() -> dict[str, Any]:
        return await read_status(runtime=runtime, redis=redis)

    @api.get("/obligations")
    async def obligations(
        state: str | None = Query(default=None),
        rule: str | None = Query(default=None),
        urn: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_obligations(
                session=session, today=today(), state=state, rule=rule, urn=urn
            )

    return api
