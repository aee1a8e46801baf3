"""`/healthz` and `/readyz`, for orchestrators (docs/contract.md, section 11, "`/health`"):
alive is the process answering at all; ready is the database and Redis answering too.
`/health` (api.py) goes further and asks every part of `serve`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from services.entrypoints.http.health import unreachable
from services.platform.runtime import Runtime


def add_probe_routes(api: FastAPI, *, runtime: Runtime, redis: Redis) -> None:
    @api.get("/healthz")
    async def alive() -> dict[str, str]:
        """200 whenever the process answers; nothing else is asked."""
        return {"status": "alive"}

    @api.get("/readyz")
    async def ready() -> JSONResponse:
        """200 when the database and Redis answer; else 503 naming which does not."""
        found = await unreachable(runtime=runtime, redis=redis)
        if found:
            return JSONResponse({"status": "not ready", "failing": found}, status_code=503)
        return JSONResponse({"status": "ready"})
