"""`/healthz` and `/readyz` against the real database and Redis (docs/contract.md, section
10): alive whatever the dependencies say; ready only when both answer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from services.entrypoints.http.api import build_api
from services.platform.runtime import open_runtime
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration


async def _get(api: object, path: str) -> tuple[int, dict[str, object]]:
    transport = httpx.ASGITransport(app=api)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        answer = await client.get(path)
    return answer.status_code, answer.json()


async def test_ready_and_alive_with_the_database_and_redis_up(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(tmp_path, database_url, redis_server, namespace)
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(redis_server)
        api = build_api(
            runtime=runtime,
            redis=redis,
            today=lambda: date(2025, 7, 1),
            parts=lambda: {"reclaimer": "stopped: returned"},  # /readyz does not ask parts
        )
        try:
            assert await _get(api, "/readyz") == (200, {"status": "ready"})
            assert await _get(api, "/healthz") == (200, {"status": "alive"})
            assert (await _get(api, "/health"))[0] == 503  # which does ask them
        finally:
            await redis.aclose()


async def test_not_ready_naming_redis_when_it_is_unreachable(
    tmp_path: Path, database_url: str, namespace: str
) -> None:
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings = settings_for(tmp_path, database_url, dead, namespace)
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(dead, socket_connect_timeout=1)
        api = build_api(runtime=runtime, redis=redis, today=lambda: date(2025, 7, 1))
        try:
            code, body = await _get(api, "/readyz")
            alive = await _get(api, "/healthz")
        finally:
            await redis.aclose()
    assert code == 503
    assert body["status"] == "not ready"
    failing = body["failing"]
    assert isinstance(failing, dict)
    assert list(failing) == ["redis"]  # the database is fine
    assert alive == (200, {"status": "alive"})
