"""The consumer refuses an event over FOLLOWUP_MAX_EVENT_BYTES with its size, without reading
it, whichever way its batch is decoded (on the loop, or in the helper from `raw_events`)."""

from __future__ import annotations

import asyncio
import json

from services.tracker import intake, reading
from tests.factories import letter_due

LIMIT = 2048


def event(victim: str, **more: str) -> bytes:
    return json.dumps({**letter_due("2018-02-01", victim_id=victim), "id": victim, **more}).encode()


def entries() -> list[intake.Entry]:
    large = event("V2", pad="x" * 100_000)  # an extension attribute: valid, only too large
    return [
        (b"1-0", {b"event": event("V1")}),
        (b"2-0", {b"event": large}),
        (b"3-0", {b"event": event("V3")}),
    ]


def check(decoded: intake.Decoded) -> None:
    assert sorted(fact.data["victim_id"] for fact in decoded.facts) == ["V1", "V3"]
    [dead] = decoded.dead
    size = len(entries()[1][1][b"event"])
    assert (dead.stream_entry_id, dead.field) == ("2-0", None)
    assert dead.reason == (
        f"event is {size:,} bytes, over the 2,048-byte limit (FOLLOWUP_MAX_EVENT_BYTES)"
    )
    assert len(dead.raw) == LIMIT  # what is kept: at most the limit


def test_on_the_loop() -> None:
    check(intake.decode_entries(entries(), max_bytes=LIMIT))
    check(asyncio.run(intake.decode_between(entries(), max_bytes=LIMIT)))


def test_as_the_helper_does() -> None:
    raws = intake.raw_events(entries(), LIMIT)
    assert len(raws) == 2  # the large one is never read
    check(intake.assemble(entries(), reading.read_outcomes(raws, None), max_bytes=LIMIT))


def test_without_a_limit_the_large_event_is_accepted() -> None:
    decoded = intake.decode_entries(entries())
    assert (len(decoded.facts), decoded.dead) == (3, [])
