"""`publish` cannot lose a line: rejected lines are stored a chunk at a time as they are found,
the database is connected only for them, and a run stopped by Redis or the database names the
line to resume from, from which nothing rejected is lost or stored twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.tables import DeadLetter
from services.platform.runtime import LazyDatabase
from services.platform.settings import Settings
from services.tracker import publishing
from services.tracker.line_reader import Line, numbered
from services.tracker.publishing import PublishReport, PublishStopped, publish_input
from tests.factories import letter_due
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration

BAD_EVERY = 4  # lines 4, 8, 12, ... are not JSON


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing, "CHUNK", 10)


def mixed(count: int) -> list[str]:
    return [
        "{not json" if number % BAD_EVERY == 0 else json.dumps(valid(number))
        for number in range(1, count + 1)
    ]


def valid(number: int) -> dict[str, Any]:
    return {**letter_due("2018-02-01", victim_id=f"V{number}"), "id": f"line-{number}"}


def bad_lines(count: int) -> list[int]:
    return [n for n in range(1, count + 1) if n % BAD_EVERY == 0]


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[LazyDatabase]:
    database = LazyDatabase(settings)
    yield database
    await database.aclose()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


class RedisGoingAway(Redis):
    """Publishes `chunks` chunks, then every pipeline fails as a dropped connection does."""

    chunks = 0

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        if self.chunks <= 0:
            raise RedisConnectionError("Connection closed by server.")
        self.chunks -= 1
        return super().pipeline(*args, **kwargs)


async def run(
    settings: Settings,
    redis: Redis,
    database: Any,
    lines: list[str],
    *,
    from_line: int = 1,
) -> PublishReport:
    return await publish_input(
        settings=settings,
        redis=redis,
        lines=from_(numbered(lines), from_line),
        database=database,
        from_line=from_line,
    )


def from_(lines: Iterator[Line], first: int) -> Iterator[Line]:
    return (line for line in lines if line.number >= first)


async def stored_lines(database: LazyDatabase) -> list[int]:
    async with (await database.sessions())() as session:
        rows = await session.execute(select(DeadLetter.line).order_by(DeadLetter.id))
    return [line for (line,) in rows]


async def published_ids(redis: Redis, settings: Settings) -> list[str]:
    entries = await redis.xrange(settings.events_stream)
    return [json.loads(fields[b"event"])["id"] for _, fields in entries]


async def test_redis_going_away_stops_at_a_chunk_and_resuming_loses_and_repeats_nothing(
    settings: Settings, redis: Redis, database: LazyDatabase
) -> None:
    assert settings.redis_url
    lines = mixed(35)  # chunks of 10 lines: 1-10, 11-20, 21-30, 31-35
    failing = RedisGoingAway.from_url(settings.redis_url)
    failing.chunks = 2
    try:
        with pytest.raises(PublishStopped) as stopped:
            await run(settings, failing, database, lines)
    finally:
        await failing.aclose()
    assert stopped.value.resume_from == 21
    assert "Redis failed while publishing (ConnectionError" in stopped.value.why
    # What was rejected before the stop is stored already, as it was found.
    assert await stored_lines(database) == [4, 8, 12, 16, 20]
    assert (stopped.value.report.published, stopped.value.report.rejected_lines) == (15, 5)

    report = await run(settings, redis, database, lines, from_line=21)
    assert (report.published, report.rejected_lines, report.through) == (12, 3, 35)
    assert await stored_lines(database) == bad_lines(35)  # each once
    assert await published_ids(redis, settings) == [
        f"line-{n}" for n in range(1, 36) if n % BAD_EVERY
    ]


class DatabaseGoingAway:
    """A database that works for `calls` chunks, then cannot be reached."""

    name = "test database"

    def __init__(self, real: LazyDatabase, calls: int) -> None:
        self.real, self.calls = real, calls
        self.now = real.now

    async def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.calls <= 0:
            raise ConnectionRefusedError(111, "Connect call failed")
        self.calls -= 1
        return await self.real.sessions()


async def test_the_database_going_away_stops_at_the_chunk_whose_rejected_lines_were_not_stored(
    settings: Settings, redis: Redis, database: LazyDatabase
) -> None:
    lines = mixed(35)
    with pytest.raises(PublishStopped) as stopped:
        await run(settings, redis, DatabaseGoingAway(database, calls=1), lines)
    assert stopped.value.resume_from == 11
    assert stopped.value.why.startswith(
        "line 12 was rejected and must be kept as a dead letter, but the database "
        "(test database) cannot be reached (ConnectionRefusedError"
    )
    assert await stored_lines(database) == [4, 8]

    await run(settings, redis, database, lines, from_line=stopped.value.resume_from)
    assert await stored_lines(database) == bad_lines(35)
    # Lines 11-20 were published before their rejected lines failed to be stored, and again
    # on resuming: harmless, (source, id) is the idempotency key.
    ids = await published_ids(redis, settings)
    assert set(ids) == {f"line-{n}" for n in range(1, 36) if n % BAD_EVERY}
    assert len(ids) == 27 + 7  # lines 11-20 hold 7 valid ones


def losing_commits(gone_after: bool) -> type[AsyncSession]:
    """Sessions whose first commit is applied but reported failed (the connection lost while
    the answer was on its way); with `gone_after`, the database then answers nothing."""
    state = {"lost": False}

    class Losing(AsyncSession):
        async def commit(self) -> None:
            await super().commit()
            if not state["lost"]:
                state["lost"] = True
                raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            if gone_after and state["lost"]:
                raise OperationalError("SELECT", {}, ConnectionRefusedError("refused"))
            return await super().execute(*args, **kwargs)

    return Losing


class LosingCommits:
    name = "test database"

    def __init__(self, real: LazyDatabase, *, gone_after: bool) -> None:
        self.real, self.session = real, losing_commits(gone_after)
        self.now = real.now

    async def sessions(self) -> async_sessionmaker[AsyncSession]:
        engine = (await self.real.sessions()).kw["bind"]
        return async_sessionmaker(engine, class_=self.session, expire_on_commit=False)


async def test_a_commit_reported_failed_but_applied_is_found_and_not_stored_again(
    settings: Settings, redis: Redis, database: LazyDatabase
) -> None:
    report = await run(settings, redis, LosingCommits(database, gone_after=False), mixed(35))
    assert (report.published, report.rejected_lines, report.through) == (27, 8, 35)
    assert await stored_lines(database) == bad_lines(35)


async def test_a_commit_of_unknown_outcome_names_both_lines_to_resume_from(
    settings: Settings, redis: Redis, database: LazyDatabase
) -> None:
    with pytest.raises(PublishStopped) as stopped:
        await run(settings, redis, LosingCommits(database, gone_after=True), mixed(35))
    # The commit was applied; the database could not say so.
    assert await stored_lines(database) == [4, 8]
    assert stopped.value.resume_from == 1
    assert stopped.value.why.endswith(
        "; if `followup dead-letters show 1` finds dead letter 1 (line 4), they were stored: "
        "resume from line 11 instead"
    )


async def test_a_report_keeps_a_sample_of_the_rejected_lines_and_counts_them_all(
    settings: Settings, redis: Redis, database: LazyDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing, "SAMPLE", 3)
    report = await run(settings, redis, database, mixed(60))
    assert [rejection.line for rejection in report.rejected] == [4, 8, 12]
    assert report.rejected_lines == 15
    assert len(await stored_lines(database)) == 15


@pytest.mark.parametrize("database_url", ["postgresql://127.0.0.1:1/x"])
async def test_valid_lines_are_published_with_the_database_unreachable(
    tmp_path: Path, redis_server: str, namespace: str, redis: Redis
) -> None:
    settings = settings_for(tmp_path, "postgresql://127.0.0.1:1/x", redis_server, namespace)
    database = LazyDatabase(settings)
    valid_only = [json.dumps(valid(n)) for n in range(1, 26)]
    report = await run(settings, redis, database, valid_only)
    assert (report.published, report.rejected_lines, database.connected) == (25, 0, False)

    with pytest.raises(PublishStopped) as stopped:
        await run(settings, redis, database, [*valid_only[:12], "{not json", *valid_only[12:]])
    assert stopped.value.resume_from == 11  # lines 1-10 published; 11-20 not all kept
    assert stopped.value.why.startswith(
        "line 13 was rejected and must be kept as a dead letter, but the database "
        "(postgresql+asyncpg://127.0.0.1:1/x) cannot be reached (ConnectionRefusedError"
    )
