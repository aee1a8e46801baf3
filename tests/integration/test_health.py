"""`serve` fails loudly or heals: /health names what fails, a part that stops ends the app
with a failure (a non-zero exit), and a lost consumer group is made again in-process."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from schemas.tables import ReceivedEvent
from services.alerts.service import AlertService
from services.entrypoints.app import ServeApp, build_app
from services.entrypoints.http.api import build_api
from services.platform.runtime import open_runtime
from tests.conftest import POSTGRES_URL, fresh_postgres
from tests.factories import letter_due, lines
from tests.integration.conftest import Pipeline, settings_for

pytestmark = pytest.mark.integration


async def _health(api: object) -> tuple[int, dict[str, object]]:
    transport = httpx.ASGITransport(app=api)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        answer = await client.get("/health")
    return answer.status_code, answer.json()


async def _allow_connections(database: str, allowed: bool) -> None:
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:  # and end the sessions it has, as maintenance would
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await admin.close()


async def test_health_is_503_naming_the_database_while_it_refuses_connections(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    async with fresh_postgres() as url:
        database = url.rpartition("/")[2]
        settings = settings_for(tmp_path, url, redis_server, namespace)
        async with open_runtime(settings) as runtime:
            redis = Redis.from_url(redis_server)
            api = build_api(runtime=runtime, redis=redis, today=lambda: date(2025, 7, 1))
            try:
                assert await _health(api) == (200, {"status": "ok"})
                await _allow_connections(database, False)
                try:
                    code, body = await _health(api)
                finally:
                    await _allow_connections(database, True)
                assert code == 503
                assert body["status"] == "failing"
                failing = body["failing"]
                assert isinstance(failing, dict)
                assert list(failing) == ["database"]  # Redis is fine
                assert "is not currently accepting connections" in failing["database"]
                assert await _health(api) == (200, {"status": "ok"})
            finally:
                await redis.aclose()


async def test_health_names_a_failing_part(tmp_path: Path, namespace: str) -> None:
    settings = settings_for(
        tmp_path, f"sqlite:///{tmp_path}/f.db", "redis://127.0.0.1:1/0", namespace
    )
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "", socket_connect_timeout=1)
        api = build_api(
            runtime=runtime,
            redis=redis,
            today=lambda: date(2025, 7, 1),
            parts=lambda: {"reclaimer": "stopped: returned"},
        )
        try:
            code, body = await _health(api)
        finally:
            await redis.aclose()
    assert code == 503
    failing = body["failing"]
    assert isinstance(failing, dict)
    assert failing["reclaimer"] == "stopped: returned"
    assert "redis" in failing  # nothing listens on port 1
    assert "database" not in failing


async def test_a_background_part_that_stops_fails_the_app(
    tmp_path: Path, redis_server: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stops_at_once(self: AlertService) -> None:
        return None

    monkeypatch.setattr(AlertService, "run", stops_at_once)
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path}/f.db", redis_server, namespace)
    async with open_runtime(settings) as runtime:
        app = build_app(runtime, redis_server, http=False)
        await asyncio.wait_for(app.run(), 30)  # it ends on its own
    assert app.failure == "alerts stopped: returned"


async def test_a_lost_consumer_group_is_made_again_and_events_flow(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    settings = pipeline.runtime.settings
    await pipeline.publish(lines(letter_due("2018-02-01", victim_id="V1")))
    await pipeline.settle()
    # What FLUSHDB or a Redis restarted without its data does to the consumer's stream.
    await pipeline.redis.delete(settings.events_stream)
    with caplog.at_level(logging.WARNING, logger="followup.app"):
        for _ in range(100):  # FastStream notices at its next read (every 0.2 s)
            if "consumer group lost" in caplog.text and "started again" in caplog.text:
                break
            await asyncio.sleep(0.1)
    assert "consumer group lost" in caplog.text
    assert "events subscriber started again" in caplog.text
    await pipeline.publish(lines(letter_due("2018-02-02", victim_id="V2")))
    await pipeline.settle()
    async with pipeline.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReceivedEvent)) == 2
    assert isinstance(pipeline.app, ServeApp)
    assert pipeline.app.failure is None
