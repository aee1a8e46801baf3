"""Recovery on real Redis and both databases: an entry that keeps failing is isolated, retried
and dead-lettered while the rest goes through; entries a crashed worker left are reclaimed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from events import Event
from schemas.tables import DeadLetter, ReceivedEvent
from services.platform.broker.embedded import redis_url
from services.platform.broker.streams import ensure_group, publish_entries
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.rules.ledger import Ledger
from services.rules.model import Change, Fact
from services.tracker import reading
from services.tracker.consumer import StreamConsumer
from services.tracker.dead_letters import add_dead_letters, replay_dead_letters
from services.tracker.metrics import prometheus_text
from tests.factories import hearing, letter_due, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"reclaim_idle_ms": 300, "reclaim_every": 0.2, "max_deliveries": 3}
    )


async def received(pipeline: Pipeline) -> int:
    async with pipeline.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0)


# Batches decoded on the event loop (as in every test here but the next): the patch reaches
# this process only, not a decoding helper's.
async def test_an_event_whose_fact_cannot_be_made_does_not_hold_up_the_batch(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Valid by the contract, but making its fact raises, while decoding and again inside the
    # batch's transaction, where the failure is pinned to its entry.
    real = reading.fact_from_event

    def trips_on_poison(event: Event) -> Fact:
        if event.id == "poison":
            raise OverflowError("date value out of range")
        return real(event)

    monkeypatch.setattr(reading, "fact_from_event", trips_on_poison)
    await _poison_is_dead_lettered(pipeline, "OverflowError: date value out of range")


@pytest.mark.parametrize("settings", [{"decode_helper": True}], indirect=True)
async def test_an_event_the_rules_cannot_apply_does_not_hold_up_the_batch(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decoded (in the helper process) and recorded, but applying it raises every time inside
    # the batch's transaction, as an engine bug tripping on one event would.
    real = Ledger.apply

    def trips_on_poison(self: Ledger, given: Iterable[Fact], *, today: date) -> list[Change]:
        facts = list(given)
        if any(f.id == "poison" for f in facts):
            raise OverflowError("date value out of range")
        return real(self, facts, today=today)

    monkeypatch.setattr(Ledger, "apply", trips_on_poison)
    await _poison_is_dead_lettered(pipeline, "OverflowError: date value out of range")


async def _poison_is_dead_lettered(pipeline: Pipeline, error: str) -> None:
    poison = hearing("held", "2018-01-05", time="2018-01-05T10:00:00+00:00", id_="poison")
    good = [letter_due(f"2018-02-{day:02d}", victim_id=f"V{day}") for day in range(1, 21)]
    await pipeline.publish(lines(*good[:10], poison, *good[10:]))
    status = await pipeline.settle(within=60)
    assert status["lag"] == 0
    assert status["dead_letters"] == 1
    assert await received(pipeline) == 20
    found = await pipeline.obligations(date(2018, 3, 1), rule="victim-letter")
    assert len(found) == 20
    async with pipeline.runtime.sessions() as session:
        [letter] = (await session.execute(select(DeadLetter))).scalars().all()
    assert letter.origin == "stream"
    assert letter.reason.startswith("gave up after 3 failed deliveries; last error: ")
    assert error in letter.reason
    assert json.loads(letter.raw)["id"] == "poison"
    metrics = await pipeline.redis.hgetall(f"{pipeline.runtime.settings.namespace}:metrics")
    assert int(metrics[b"events_applied"]) == 20
    assert int(metrics[b"failed_deliveries"]) >= 3


async def test_entries_left_pending_by_a_crashed_worker_are_reclaimed(pipeline: Pipeline) -> None:
    settings = pipeline.runtime.settings
    await pipeline.app.broker.stop()  # only the crashed worker reads, at first
    await pipeline.publish(lines(*(letter_due("2018-02-01", victim_id=f"V{i}") for i in range(5))))
    taken = await pipeline.redis.xreadgroup(
        settings.tracker_group, "worker-that-died", {settings.events_stream: ">"}, count=10
    )
    assert len(taken[0][1]) == 5  # delivered to the dead worker, never acknowledged
    status = await pipeline.settle(within=30)
    assert status["lag"] == 0
    assert status["dead_letters"] == 0
    assert await received(pipeline) == 5


async def test_replay_after_a_fix_applies_each_dead_letter_exactly_once(
    pipeline: Pipeline,
) -> None:
    fixed = letter_due("2018-02-01", victim_id="V7")
    still_bad = {**letter_due("2018-02-01", victim_id="V8"), "type": "victim-letter-lost"}
    async with pipeline.runtime.sessions() as session, session.begin():
        # As an older version would have kept them: rejected then, valid now (or not).
        await add_dead_letters(
            session=session,
            letters=[
                DeadLetter(origin="publish", line=1, reason="unknown type", raw=json.dumps(fixed)),
                DeadLetter(
                    origin="publish", line=2, reason="unknown type", raw=json.dumps(still_bad)
                ),
            ],
            now=pipeline.runtime.now(),
        )
    runtime, redis = pipeline.runtime, pipeline.redis
    report = await replay_dead_letters(runtime=runtime, redis=redis, ids=None)
    assert (len(report.replayed), len(report.rejected)) == (1, 1)
    assert "unknown event type 'victim-letter-lost'" in next(iter(report.rejected.values()))
    again = await replay_dead_letters(runtime=runtime, redis=redis, ids=report.replayed)
    assert again.replayed == [] and list(again.skipped.values()) == ["already replayed"]
    await pipeline.publish(lines(fixed))  # and the sender resends it too
    status = await pipeline.settle()
    assert status["dead_letters"] == 1  # the one still rejected
    assert await received(pipeline) == 1
    assert "victim-letter/43TC0000117/V7" in await pipeline.obligations(date(2018, 2, 1))


async def test_metrics_in_status_and_prometheus_format(pipeline: Pipeline) -> None:
    await pipeline.publish(lines(*(letter_due("2018-02-01", victim_id=f"V{i}") for i in range(7))))
    await pipeline.publish(lines(letter_due("2018-02-01", victim_id="V1")))  # a new id: applied
    status = await pipeline.settle()
    metrics = status["metrics"]
    assert metrics["events_applied"] == 8
    assert metrics["batches"] >= 1 and metrics["batch_seconds_sum"] > 0
    assert sum(metrics["events_applied_by_consumer"].values()) == 8
    stream = status["streams"][pipeline.runtime.settings.events_stream]
    assert (stream["pending"], stream["oldest_pending_age_seconds"]) == (0, 0)
    text = prometheus_text(status).decode()
    assert "followup_events_applied_total 8.0" in text
    assert f'followup_lag{{group="{stream["group"]}",stream=' in text
    assert "followup_oldest_pending_age_seconds" in text


async def test_the_reclaimer_works_on_the_embedded_redis_6_2(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, reclaim_idle_ms=100)
    with redis_url(settings) as url:
        async with open_runtime(settings) as runtime:
            client = Redis.from_url(url)
            try:
                stream, group = settings.events_stream, settings.tracker_group
                await ensure_group(client, stream=stream, group=group)
                await publish_entries(
                    client, stream=stream, payloads=[json.dumps(letter_due("2018-02-01")).encode()]
                )
                await client.xreadgroup(group, "worker-that-died", {stream: ">"}, count=10)
                await asyncio.sleep(0.3)
                assert await StreamConsumer(runtime, client, "me").reclaim() == 1
                assert (await client.xpending(stream, group))["pending"] == 0
            finally:
                await client.aclose()


async def test_the_delivery_cap_counts_failures_of_the_entry_not_reclaims(
    settings: Settings,
) -> None:
    # Reclaims add to XPENDING's delivery count whatever happens; through a database outage
    # they once used up the cap of entries that never failed, which were dead-lettered.
    async with open_runtime(settings) as runtime:
        client = Redis.from_url(settings.redis_url or "")
        try:
            stream, group = settings.events_stream, settings.tracker_group
            await ensure_group(client, stream=stream, group=group)
            for seq in (9, 10, 11):
                payload = json.dumps(letter_due("2018-02-01", victim_id=f"V{seq}"))
                await client.xadd(stream, {"event": payload}, id=f"5-{seq}")
            taken = await client.xreadgroup(group, "me", {stream: ">"}, count=10)
            entries = list(taken[0][1])
            for _ in range(3 * settings.max_deliveries):  # each claim is one more delivery
                await client.xclaim(stream, group, "me", 0, [i for i, _ in entries])
            consumer = StreamConsumer(runtime, client, "me")
            # 5-10 failed of its own fault as often as allowed; the others never did.
            await client.hset(consumer.failures_key, "5-10", "OverflowError: date value")
            await client.hset(consumer.faults_key, "5-10", settings.max_deliveries)
            await client.hset(consumer.faults_key, "5-11", settings.max_deliveries - 1)
            await consumer._redeliver(entries)
            assert (await client.xpending(stream, group))["pending"] == 0
            async with runtime.sessions() as session:
                letters = (await session.execute(select(DeadLetter))).scalars().all()
                applied = await session.scalar(select(func.count()).select_from(ReceivedEvent))
            assert [(letter.stream_entry_id, letter.reason) for letter in letters] == [
                (
                    "5-10",
                    f"gave up after {settings.max_deliveries} failed deliveries; "
                    "last error: OverflowError: date value",
                )
            ]
            assert applied == 2
            assert await client.hgetall(consumer.faults_key) == {}
            assert await client.hgetall(consumer.failures_key) == {}
        finally:
            await client.aclose()
