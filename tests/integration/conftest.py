from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faststream import FastStream
from redis.asyncio import Redis

from services.alerts.clock import store as clock_store
from services.entrypoints.app import ServeApp, build_app
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.metrics import read_status, wait_until_applied
from services.tracker.publishing import PublishReport, publish_lines
from services.tracker.queries import list_obligations


def settings_for(
    tmp_path: Path, database_url: str, redis_url: str, namespace: str, **more: Any
) -> Settings:
    """Settings on the test's own directory, database and Redis namespace, nothing from the
    environment; `more` sets anything else. Batches are decoded on the event loop unless
    `more` says otherwise: a decoding helper process costs a second to start, and
    test_decoding_helper.py, the pipeline test that asks for it and every `serve` of the e2e
    and fault tests run one."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=database_url,  # type: ignore[call-arg]
        redis_url=redis_url,
        namespace=namespace,
        **{"decode_helper": False, **more},
    )


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    redis_server: str,
    namespace: str,
    request: pytest.FixtureRequest,
) -> Settings:
    """A test changes more settings with `@pytest.mark.parametrize("settings", [{...}],
    indirect=True)`."""
    more = {"batch_size": 50, **getattr(request, "param", {})}
    return settings_for(tmp_path, database_url, redis_server, namespace, **more)


@dataclass
class Pipeline:
    runtime: Runtime
    redis: Redis
    app: FastStream

    async def publish(self, lines: list[str]) -> PublishReport:
        return await publish_lines(runtime=self.runtime, redis=self.redis, lines=lines)

    async def status(self) -> dict[str, Any]:
        return await read_status(runtime=self.runtime, redis=self.redis)

    async def settle(self, within: float = 30.0) -> dict[str, Any]:
        """Wait until every published event has been applied."""
        return await wait_until_applied(runtime=self.runtime, redis=self.redis, within=within)

    async def obligations(self, today: date, **filters: str) -> dict[str, dict[str, Any]]:
        async with self.runtime.sessions() as session:
            rows = await list_obligations(session=session, today=today, **filters)
        return {row["id"]: row for row in rows}


@asynccontextmanager
async def running_pipeline(
    settings: Settings, *, today: Callable[[], date] | None = None
) -> AsyncIterator[Pipeline]:
    """The real app consuming in-process; `today` fixes its clock (recurring periods, monthly
    samples) where a test needs it."""
    assert settings.redis_url
    clock: dict[str, Any] = {} if today is None else {"today": today}
    async with open_runtime(settings, **clock) as runtime:
        redis = Redis.from_url(settings.redis_url)
        app = build_app(runtime, settings.redis_url, http=False)
        task = asyncio.create_task(app.run())
        try:
            await _started(app, runtime, task)
            yield Pipeline(runtime, redis, app)
        finally:
            app.exit()
            await asyncio.wait_for(task, 30)
            await redis.aclose()


async def _started(app: ServeApp, runtime: Runtime, task: asyncio.Task[None]) -> None:
    """Until the app has started and its lapse clock has gone live: a clock going live after
    the test's events were applied would raise their lapses then (docs/contract.md, section 7,
    "Going live"), on loaded cores in the middle of a test."""
    deadline = asyncio.get_running_loop().time() + 30
    while not task.done():
        if app.started:
            if not runtime.settings.alerts_enabled:
                return
            async with runtime.sessions() as session:
                if await clock_store.started(session=session):
                    return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the app did not start within 30 s")
        await asyncio.sleep(0.02)
    await task  # it stopped while starting: its error is the test's


@pytest.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    async with running_pipeline(settings) as running:
        yield running
