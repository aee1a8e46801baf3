"""An event with the (source, id) of a stored one: the same content is a silent duplicate; other
content changes nothing either, but is kept as a dead letter of origin "conflict" with both
contents, counted by status and /metrics (real Redis, the stream consumer, both databases)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from schemas.tables import DeadLetter, ReceivedEvent, Track
from services.platform.broker.streams import ENTRY_FIELD, ensure_group
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.consumer import StreamConsumer
from services.tracker.dead_letters import dead_letter_json, list_dead_letters, replay_dead_letters
from services.tracker.handlers import apply_entries
from services.tracker.metrics import prometheus_text, read_status
from services.tracker.queries import list_obligations
from tests.factories import URN, letter_due, letter_sent

pytestmark = pytest.mark.integration

VL = f"victim-letter/{URN}/V1"
TODAY = date(2018, 2, 5)


@pytest.fixture
async def connected(settings: Settings) -> AsyncIterator[tuple[Runtime, Redis]]:
    assert settings.redis_url
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url)
        try:
            yield runtime, redis
        finally:
            await redis.aclose()


async def feed(runtime: Runtime, redis: Redis, *raws: str) -> None:
    """The raw lines as one batch through the stream consumer, acknowledged."""
    stream, group = runtime.settings.events_stream, runtime.settings.tracker_group
    await ensure_group(redis, stream=stream, group=group)
    for raw in raws:
        await redis.xadd(stream, {ENTRY_FIELD: raw.encode()})
    taken = await redis.xreadgroup(group, "worker", {stream: ">"}, count=len(raws))
    entries = list(taken[0][1])
    assert len(entries) == len(raws)
    handled = await StreamConsumer(runtime, redis, "worker").handle(entries)
    assert not handled.failed and len(handled.done) == len(raws)


async def obligations(runtime: Runtime) -> dict[str, dict[str, Any]]:
    async with runtime.sessions() as session:
        return {r["id"]: r for r in await list_obligations(session=session, today=TODAY)}


async def letters(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        found = await list_dead_letters(session=session, status=None)
    return [dead_letter_json(letter, raw=True) for letter in found]


def respelled(event: Mapping[str, Any]) -> str:
    """The same event written otherwise: keys in another order, no spaces, `time` at another
    offset (the same instant)."""
    moved = {**event, "time": event["time"].replace("T12:00:00+00:00", "T13:00:00+01:00")}
    assert moved["time"] != event["time"]
    return json.dumps(dict(reversed(list(moved.items()))), separators=(",", ":"))


async def test_the_same_content_however_spelled_is_a_silent_duplicate(
    connected: tuple[Runtime, Redis],
) -> None:
    runtime, redis = connected
    opened = letter_due("2018-02-01")
    await feed(runtime, redis, json.dumps(opened))
    before = await obligations(runtime)
    await feed(runtime, redis, respelled(opened), json.dumps(opened))
    status = await read_status(runtime=runtime, redis=redis)
    assert (status["dead_letters"], status["conflicts"]) == (0, 0)
    assert (status["metrics"]["duplicates"], status["metrics"]["conflicts"]) == (2, 0)
    assert await letters(runtime) == []
    assert await obligations(runtime) == before


async def test_other_content_changes_nothing_and_is_kept_once_with_both_contents(
    connected: tuple[Runtime, Redis],
) -> None:
    runtime, redis = connected
    opened = letter_due("2018-02-01")
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}
    await feed(runtime, redis, json.dumps(opened))
    before = await obligations(runtime)
    await feed(runtime, redis, json.dumps(twin))
    assert await obligations(runtime) == before

    [letter] = await letters(runtime)
    assert (letter["origin"], letter["status"]) == ("conflict", "dead")
    assert (letter["event_source"], letter["event_id"]) == (opened["source"], opened["id"])
    assert letter["field"] == "data.decision_date"
    assert "stored before" in letter["reason"]
    assert json.loads(letter["raw"])["data"]["decision_date"] == "2018-03-01"
    assert json.loads(letter["stored"])["data"]["decision_date"] == "2018-02-01"
    async with runtime.sessions() as session:
        [payload] = (await session.execute(select(ReceivedEvent.payload))).scalars().all()
    assert payload["data"]["decision_date"] == "2018-02-01"

    status = await read_status(runtime=runtime, redis=redis)
    assert (status["dead_letters"], status["conflicts"]) == (1, 1)
    assert (status["metrics"]["duplicates"], status["metrics"]["conflicts"]) == (1, 1)
    assert status["metrics"]["dead_letters"] == 0  # no entry was refused
    text = prometheus_text(status).decode()
    assert "followup_conflicts_total 1.0" in text
    assert "followup_conflict_store 1.0" in text
    assert "followup_dead_letter_store 1.0" in text

    # Delivered or sent again: counted again, kept once; the stored content again: silent.
    await feed(runtime, redis, json.dumps(twin), respelled(twin), json.dumps(opened))
    assert len(await letters(runtime)) == 1
    status = await read_status(runtime=runtime, redis=redis)
    assert (status["conflicts"], status["metrics"]["conflicts"]) == (1, 3)
    assert await obligations(runtime) == before

    # Not replayable, by id or with the rest; it stays dead.
    report = await replay_dead_letters(runtime=runtime, redis=redis, ids=[letter["id"]])
    assert report.replayed == [] and "conflicting duplicate" in report.skipped[letter["id"]]
    report = await replay_dead_letters(runtime=runtime, redis=redis, ids=None)
    assert report.replayed == [] and list(report.skipped) == [letter["id"]]
    assert [found["status"] for found in await letters(runtime)] == ["dead"]


async def test_in_one_batch_the_first_content_stands(connected: tuple[Runtime, Redis]) -> None:
    runtime, redis = connected
    opened = letter_due("2018-02-01")
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}
    await feed(runtime, redis, json.dumps(opened), json.dumps(twin), respelled(opened))
    found = (await obligations(runtime))[VL]
    assert found["due"] == "2018-02-08"  # from 2018-02-01, not 2018-03-01
    [letter] = await letters(runtime)
    assert "earlier event of its batch" in letter["reason"]
    assert json.loads(letter["stored"])["data"]["decision_date"] == "2018-02-01"
    assert json.loads(letter["raw"])["data"]["decision_date"] == "2018-03-01"
    status = await read_status(runtime=runtime, redis=redis)
    assert (status["conflicts"], status["metrics"]["conflicts"]) == (1, 1)
    assert status["metrics"]["duplicates"] == 2


async def test_a_track_saved_beside_a_conflict_keeps_the_stored_content(
    settings: Settings, connected: tuple[Runtime, Redis]
) -> None:
    first, redis = connected
    opened = letter_due("2018-02-01")
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}
    await feed(first, redis, json.dumps(opened))
    # Another worker, whose cache does not hold the track: it reads it from the database.
    async with open_runtime(settings) as second:
        await feed(second, redis, json.dumps(twin), json.dumps(letter_sent("2018-02-06")))
        async with second.sessions() as session:
            [facts] = (await session.execute(select(Track.facts))).scalars().all()
    [kept] = [f for f in facts if f["id"] == opened["id"]]
    assert kept["data"]["decision_date"] == "2018-02-01"
    async with open_runtime(settings) as third:  # reads every track from the database
        found = (await obligations(third))[VL]
    assert (found["due"], found["state"], found["closed_on"]) == ("2018-02-08", "met", "2018-02-06")


async def test_workers_racing_with_two_contents_keep_one_and_the_other_as_a_conflict(
    postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=postgres_url)  # type: ignore[call-arg]
    opened = letter_due("2018-02-01")
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}
    async with open_runtime(settings) as one, open_runtime(settings) as two:

        async def apply(runtime: Runtime, event: Mapping[str, Any]) -> int:
            outcome = await apply_entries(
                sessions=runtime.sessions,
                entries=[(b"1-0", {ENTRY_FIELD: json.dumps(event).encode()})],
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=TODAY,
                now=datetime.now(UTC),
            )
            return outcome.received

        applied = await asyncio.gather(apply(one, opened), apply(two, twin))
        async with one.sessions() as session:
            [payload] = (await session.execute(select(ReceivedEvent.payload))).scalars().all()
            [letter] = (await session.execute(select(DeadLetter))).scalars().all()
    assert sorted(applied) == [0, 1]
    assert letter.stored is not None and json.loads(letter.stored) == payload
    assert json.loads(letter.raw) != payload
