"""An event over FOLLOWUP_MAX_EVENT_BYTES put straight onto the stream (not through
`publish`) becomes a dead letter naming its size; the batch's other events are applied."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from schemas.tables import DeadLetter
from tests.factories import letter_due
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("settings", [{"max_event_bytes": 4096}], indirect=True)
async def test_an_over_size_stream_entry_is_a_dead_letter_with_its_size(
    pipeline: Pipeline,
) -> None:
    stream = pipeline.runtime.settings.events_stream
    large = json.dumps({**letter_due("2018-02-01", victim_id="V2"), "pad": "x" * 10_000})
    await pipeline.redis.xadd(stream, {"event": json.dumps(letter_due("2018-02-01"))})
    await pipeline.redis.xadd(stream, {"event": large})
    status = await pipeline.settle()
    assert status["dead_letters"] == 1
    async with pipeline.runtime.sessions() as session:
        [dead] = (await session.execute(select(DeadLetter))).scalars()
    assert dead.origin == "stream"
    assert dead.reason == (
        f"event is {len(large):,} bytes, over the 4,096-byte limit (FOLLOWUP_MAX_EVENT_BYTES)"
    )
    assert len(dead.raw) == 4096  # the prefix kept: at most the limit
