"""The demo week through the real pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from events import parse_event
from services.demo.run import run_demo
from services.demo.week import demo_week
from services.runtime import open_runtime
from services.settings import Settings

pytestmark = pytest.mark.integration


def test_every_demo_event_is_valid_and_the_week_is_deterministic() -> None:
    events = demo_week()
    assert all(parse_event(e) for e in events)
    assert events == demo_week()
    assert len({(e["source"], e["id"]) for e in events}) == len(events)


async def test_demo_outcome_follows_from_its_events_and_repeats(settings: Settings) -> None:
    assert settings.redis_url
    sent = {
        (e["data"]["urn"], e["data"]["victim_id"]): e["data"]["sent_date"]
        for e in demo_week()
        if e["type"] == "victim-letter-sent"
    }
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url)
        try:
            first = await run_demo(
                runtime=runtime, redis=redis, redis_url=settings.redis_url, as_of=date(2017, 8, 4)
            )
            again = await run_demo(
                runtime=runtime, redis=redis, redis_url=settings.redis_url, as_of=date(2017, 8, 4)
            )
        finally:
            await redis.aclose()
    assert first == again  # the same events twice: duplicates change nothing
    letters = [row for row in first if row["rule"] == "victim-letter"]
    assert letters
    for row in letters:
        urn, victim = row["key"].split("/")
        if (urn, victim) not in sent:
            assert row["state"] in ("lapsed", "open")
        else:
            expected = "met" if sent[(urn, victim)] <= row["due"] else "met-late"
            assert row["state"] == expected
    states = {row["state"] for row in first}
    assert {"met", "met-late", "lapsed", "cancelled"} <= states
