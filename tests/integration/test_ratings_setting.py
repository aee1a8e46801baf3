"""FOLLOWUP_RATINGS reaches validation explicitly: `followup publish` refuses a word outside
the list with its line number, the consumer dead-letters one that bypassed publishing, and
two runtimes in one process each keep their own list (a fixed setting, then a replay)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from events.inspection import DEFAULT_RATINGS
from schemas.tables import DeadLetter, FollowUpRating
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.dead_letters import replay_dead_letters
from services.tracker.publishing import publish_lines
from tests.factories import event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

AREA_RATINGS = ("achieved", "excellent")  # the Area's own list: "not-achieved" is not in it


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ratings": AREA_RATINGS, "summary_schedule": False})


def assessed(recommendation: str, rating: str) -> dict[str, Any]:
    return event(
        "follow-up-assessed",
        "2018-03-01T10:00:00+00:00",
        source="/hmcpsi",
        recommendation_id=recommendation,
        rating=rating,
        assessed_by="HMI-7",
        assessed_date="2018-03-01",
    )


def refusal(word: str, allowed: tuple[str, ...]) -> str:
    return (
        f"'{word}' is not one of the configured ratings ({', '.join(allowed)}); "
        "the list is set by FOLLOWUP_RATINGS"
    )


async def ratings(pipeline: Pipeline) -> dict[str, str]:
    async with pipeline.runtime.sessions() as session:
        rows = (await session.execute(select(FollowUpRating))).scalars()
        return {row.recommendation_id: row.rating for row in rows}


async def dead(pipeline: Pipeline) -> list[tuple[str, int | None, str | None, str]]:
    async with pipeline.runtime.sessions() as session:
        rows = (
            await session.execute(select(DeadLetter).where(DeadLetter.status == "dead"))  # type: ignore[arg-type]
        ).scalars()
        return sorted((r.origin, r.line, r.field, r.reason) for r in rows)


async def test_publish_refuses_by_line_and_the_consumer_dead_letters(pipeline: Pipeline) -> None:
    report = await pipeline.publish(
        lines(assessed("R1", "excellent"), assessed("R2", "not-achieved"))
    )
    assert report.published == 1
    assert [(d.line, d.field, d.reason) for d in report.rejected] == [
        (2, "data.rating", refusal("not-achieved", AREA_RATINGS))
    ]
    # Straight onto the stream, as another producer might: the consumer refuses it too.
    stream = pipeline.runtime.settings.events_stream
    await pipeline.redis.xadd(stream, {"event": json.dumps(assessed("R3", "not-achieved"))})
    await pipeline.settle()
    assert await ratings(pipeline) == {"R1": "excellent"}
    assert await dead(pipeline) == [
        ("publish", 2, "data.rating", refusal("not-achieved", AREA_RATINGS)),
        ("stream", None, "data.rating", refusal("not-achieved", AREA_RATINGS)),
    ]


async def test_two_runtimes_in_one_process_keep_their_own_lists(
    pipeline: Pipeline, settings: Settings
) -> None:
    # A second runtime opened after the pipeline's, with the contract's list: it refuses
    # "excellent" while the pipeline's runtime, opened first, still accepts it.
    contract = settings.model_copy(update={"ratings": DEFAULT_RATINGS})
    async with open_runtime(contract) as strict:
        refused = await publish_lines(
            runtime=strict, redis=pipeline.redis, lines=lines(assessed("R4", "excellent"))
        )
        assert [(d.line, d.reason) for d in refused.rejected] == [
            (1, refusal("excellent", DEFAULT_RATINGS))
        ]
        # The setting fixed (here: the pipeline's runtime has the Area's list), a replay of
        # the dead letter passes, and the consumer accepts it.
        replayed = await replay_dead_letters(
            runtime=pipeline.runtime, redis=pipeline.redis, ids=None
        )
        assert (len(replayed.replayed), replayed.rejected) == (1, {})
        await pipeline.settle()
    assert await ratings(pipeline) == {"R4": "excellent"}
    assert await dead(pipeline) == []
