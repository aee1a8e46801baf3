"""Events through real Redis Streams and the FastStream consumer into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from schemas.tables import DeadLetter, ReceivedEvent
from tests.factories import URN, case, hearing, letter_due, letter_sent, lines, sheet
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

HRS = f"hearing-record-sheet/{URN}/H1"
VL = f"victim-letter/{URN}/V1"


# Decoded in a helper process, as `serve` does (the other tests decode on the event loop).
@pytest.mark.parametrize("settings", [{"decode_helper": True}], indirect=True)
async def test_events_in_obligations_out(pipeline: Pipeline) -> None:
    await pipeline.publish(
        lines(
            case(owner="P-1"),
            hearing("held", "2017-12-22", time="2017-12-22T17:00:00+00:00", advocate="A-9"),
            sheet("2017-12-27"),
            letter_due("2017-12-21", enhanced=False),
        )
    )
    await pipeline.settle()
    found = await pipeline.obligations(date(2018, 1, 15))
    assert found[HRS]["due"] == "2017-12-27"
    assert found[HRS]["state"] == "met"
    assert found[HRS]["owner"] == "A-9"
    assert found[HRS]["area"] == "thames-and-chiltern"
    assert found[VL]["due"] == "2018-01-02"
    assert found[VL]["state"] == "lapsed"
    assert found[VL]["owner"] == "P-1"
    assert (
        "skipping 25 Dec Christmas Day, 26 Dec Boxing Day, 1 Jan New Year's Day"
        in (found[VL]["explanation"])
    )
    assert (await pipeline.obligations(date(2017, 12, 29)))[VL]["state"] == "open"


async def test_duplicates_change_nothing(pipeline: Pipeline) -> None:
    opened = letter_due("2018-02-01", enhanced=True)
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}  # same source+id
    await pipeline.publish(lines(opened, opened, twin))
    await pipeline.settle()
    await pipeline.publish(lines(opened))
    await pipeline.settle()
    found = await pipeline.obligations(date(2018, 2, 1))
    assert found[VL]["due"] == "2018-02-02"
    async with pipeline.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ReceivedEvent))
    assert count == 1


async def test_closing_event_before_opening_event_still_closes(pipeline: Pipeline) -> None:
    await pipeline.publish(lines(letter_sent("2018-02-05"), sheet("2018-02-06")))
    await pipeline.settle()
    assert await pipeline.obligations(date(2018, 3, 1)) == {}
    await pipeline.publish(
        lines(
            letter_due("2018-02-01"),
            hearing("held", "2018-02-05", time="2018-02-05T17:00:00+00:00"),
        )
    )
    await pipeline.settle()
    found = await pipeline.obligations(date(2018, 3, 1))
    assert (found[VL]["state"], found[VL]["closed_on"]) == ("met", "2018-02-05")
    assert (found[HRS]["state"], found[HRS]["closed_on"]) == ("met", "2018-02-06")


async def test_later_time_wins_between_events_about_one_hearing(pipeline: Pipeline) -> None:
    # Arrival order is the reverse of time order in both pairs.
    await pipeline.publish(
        lines(
            hearing(
                "held", "2018-03-06", time="2018-03-06T18:00:00+00:00", urn="U2", hearing_id="H2"
            ),
            hearing(
                "held", "2018-03-05", time="2018-03-05T18:00:00+00:00", urn="U2", hearing_id="H2"
            ),
            hearing(
                "vacated", "2018-03-07", time="2018-03-02T09:00:00+00:00", urn="U3", hearing_id="H3"
            ),
            hearing(
                "held", "2018-03-07", time="2018-03-01T09:00:00+00:00", urn="U3", hearing_id="H3"
            ),
        )
    )
    await pipeline.settle()
    found = await pipeline.obligations(date(2018, 3, 2))
    assert found["hearing-record-sheet/U2/H2"]["due"] == "2018-03-07"  # the corrected date stands
    assert found["hearing-record-sheet/U3/H3"]["state"] == "cancelled"


async def test_case_registered_late_fills_owner_and_area(pipeline: Pipeline) -> None:
    await pipeline.publish(lines(letter_due("2018-02-01")))
    await pipeline.settle()
    assert (await pipeline.obligations(date(2018, 2, 1)))[VL]["owner"] is None
    await pipeline.publish(lines(case(owner="P-7", area="wessex")))
    await pipeline.settle()
    found = (await pipeline.obligations(date(2018, 2, 1)))[VL]
    assert (found["owner"], found["area"]) == ("P-7", "wessex")
    # An older registration arriving afterwards does not undo the newer one.
    await pipeline.publish(
        lines(case(owner="P-0", area="london", time="2017-01-01T09:00:00+00:00"))
    )
    await pipeline.settle()
    assert (await pipeline.obligations(date(2018, 2, 1)))[VL]["owner"] == "P-7"


@pytest.mark.parametrize("settings", [{"decode_helper": True}], indirect=True)
async def test_poison_entries_become_dead_letters_and_the_rest_is_applied(
    pipeline: Pipeline,
) -> None:
    stream = pipeline.runtime.settings.events_stream
    await pipeline.redis.xadd(stream, {"event": b"\xff\xfe not json"})
    await pipeline.redis.xadd(stream, {"something": b"else"})
    await pipeline.redis.xadd(stream, {"event": json.dumps({"specversion": "1.0"}).encode()})
    await pipeline.publish(lines(letter_due("2018-02-01")))
    status = await pipeline.settle()
    assert status["dead_letters"] == 3
    assert VL in await pipeline.obligations(date(2018, 2, 1))
    async with pipeline.runtime.sessions() as session:
        reasons = (await session.execute(select(DeadLetter.field, DeadLetter.reason))).all()
    assert any("no 'event' field" in reason for _, reason in reasons)
    assert any(field == "id" for field, _ in reasons)


async def test_publish_rejects_bad_lines_by_number_and_keeps_them(pipeline: Pipeline) -> None:
    good = letter_due("2018-02-01")
    bad_date = letter_due("2018-02-30", victim_id="V2", time="2018-02-28T12:00:00+00:00")
    report = await pipeline.publish(["", json.dumps(good), "{not json", json.dumps(bad_date)])
    assert report.published == 1
    assert [(d.line, d.field) for d in report.rejected] == [(3, None), (4, "data.decision_date")]
    status = await pipeline.settle()
    assert status["dead_letters"] == 2
    assert list(await pipeline.obligations(date(2018, 2, 1))) == [VL]
