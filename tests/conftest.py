"""Where the real services are. Integration and end-to-end tests fail, never skip, without them."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

SCREENSHOTS = Path(__file__).parents[1] / "test-artifacts" / "screenshots"
REDIS_URL = os.environ.get("FOLLOWUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "FOLLOWUP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis_server(namespace: str) -> AsyncIterator[str]:
    """The real Redis; every key the test made under its namespace is removed afterwards."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({error}); run .ci/services")
    yield REDIS_URL
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new PostgreSQL database, dropped afterwards."""
    name = f"followup_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_URL)
    except Exception as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}); run .ci/services")
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using this runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/followup.db"
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, for tests that need several writing processes."""
    async with fresh_postgres() as url:
        yield url


@pytest.fixture(autouse=True)
async def _no_task_outlives_its_test() -> AsyncIterator[None]:
    """A task still running when a test's loop closes is a service that did not shut down
    (one such task, closing a connection of a disposed engine, hung CI for 90 minutes)."""
    yield
    me = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
    if left:  # a connection's close or a callback may finish a moment later; a hang never does
        await asyncio.wait(left, timeout=5)
        left = [task for task in left if not task.done()]
    if left:
        pytest.fail(f"tasks still running 5 s after the test: {left}")


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the browser tests (tests/e2e/browser) put this run's screenshots of every page."""
    taken = [p for p in SCREENSHOTS.rglob("*.png") if p.stat().st_mtime >= _STARTED]
    if taken:
        terminalreporter.write_line(f"{len(taken)} screenshots of the pages in {SCREENSHOTS}")
