"""Acceptance for case reviews and reallocations through the real pipeline (Redis Streams, the
consumer, SQLite and PostgreSQL): held-back events published shuffled, with duplicates and in
several batches, give the expected obligations, due dates and owners; each reallocation is one
audit-trail entry (entity `case`, action `reallocated`) and the chain verifies."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from schemas.tables import AuditEntry
from services.platform.audit_trail import verify_chain
from tests.factories import case, event, hearing, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

URN = "41TC0017001"
JUDGED_ON = date(2017, 7, 31)


def review_due(time: str, stage: str, hearing_id: str) -> dict[str, Any]:
    return event("case-review-due", time, urn=URN, stage=stage, hearing_id=hearing_id)


def reviewed(stage: str, on: str) -> dict[str, Any]:
    return event(
        "case-reviewed", f"{on}T15:00:00+01:00", urn=URN, stage=stage, reviewed_by="P-1",
        reviewed_date=on,
    )  # fmt: skip


def reallocated(
    on: str, to: str, by: str | None = "DCCP-1", reason: str = "workload"
) -> dict[str, Any]:
    data: dict[str, Any] = {"urn": URN, "new_owner": to, "reason": reason, "reallocated_date": on}
    if by:
        data["reallocated_by"] = by
    return event("case-reallocated", f"{on}T12:00:00+01:00", **data)


def listed(time: str, hearing_date: str, hearing_id: str, status: str = "listed") -> dict[str, Any]:
    return hearing(status, hearing_date, time=time, urn=URN, hearing_id=hearing_id)


HISTORY = [
    case(URN, time="2017-07-03T09:00:00+01:00", owner="P-1"),
    review_due("2017-07-05T09:00:00+01:00", "magistrates-first-hearing", "H1"),
    listed("2017-07-04T09:00:00+01:00", "2017-07-24", "H1"),
    listed("2017-07-11T09:00:00+01:00", "2017-07-26", "H1"),  # relisted: due Tue 25 July
    reviewed("magistrates-first-hearing", "2017-07-25"),  # met
    review_due("2017-07-05T10:00:00+01:00", "crown-ptph", "C1"),
    listed("2017-07-05T11:00:00+01:00", "2017-07-28", "C1"),  # due Fri 21 July
    reviewed("crown-ptph", "2017-07-24"),  # met late
    review_due("2017-07-06T09:00:00+01:00", "crown-trial", "C2"),
    listed("2017-07-06T10:00:00+01:00", "2017-08-07", "C2"),  # due Mon 24 July: lapsed
    review_due("2017-07-06T11:00:00+01:00", "magistrates-trial", "H2"),
    listed("2017-07-06T12:00:00+01:00", "2017-08-14", "H2"),
    listed("2017-07-20T09:00:00+01:00", "2017-08-14", "H2", status="vacated"),  # cancelled
    reallocated("2017-07-19", "P-2", reason="P-1 on leave"),
    reallocated("2017-07-26", "P-3", by=None, reason="P-3 has capacity"),
]
EXPECTED = {
    f"case-review/{URN}/magistrates-first-hearing": ("2017-07-25", "met", "P-2"),
    f"case-review/{URN}/crown-ptph": ("2017-07-21", "met-late", "P-2"),
    f"case-review/{URN}/crown-trial": ("2017-07-24", "lapsed", "P-3"),
    f"case-review/{URN}/magistrates-trial": ("2017-07-31", "cancelled", "P-2"),
}


async def _reallocation_entries(pipeline: Pipeline) -> list[AuditEntry]:
    async with pipeline.runtime.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.entity == "case").order_by(AuditEntry.seq)
        found = list((await session.execute(query)).scalars())
        assert (await verify_chain(session=session)).ok
    return found


@pytest.mark.parametrize("settings", [{"batch_size": 4}], indirect=True)
async def test_shuffled_reviews_and_reallocations_give_the_expected_obligations(
    pipeline: Pipeline,
) -> None:
    shuffle = random.Random(30)
    arrival = [*HISTORY, *shuffle.sample(HISTORY, 4)]  # some delivered twice
    shuffle.shuffle(arrival)
    half = len(arrival) // 2
    for part in (arrival[:half], arrival[half:]):
        report = await pipeline.publish(lines(*part))
        assert not report.rejected
    await pipeline.settle()

    found = await pipeline.obligations(JUDGED_ON, urn=URN)
    assert {i: (o["due"], o["state"], o["owner"]) for i, o in found.items()} == EXPECTED
    assert all(o["area"] == "thames-and-chiltern" for o in found.values())
    entries = await _reallocation_entries(pipeline)
    # One entry per reallocation, however often it was delivered.
    assert [(e.entity_id, e.action, e.actor) for e in entries] in (
        [(URN, "reallocated", "DCCP-1"), (URN, "reallocated", "/cms/thames-and-chiltern")],
        [(URN, "reallocated", "/cms/thames-and-chiltern"), (URN, "reallocated", "DCCP-1")],
    )
    details = sorted((json.loads(e.detail) for e in entries), key=lambda d: d["to"])
    assert [(d["to"], d["reason"], d["reallocated_date"]) for d in details] == [
        ("P-2", "P-1 on leave", "2017-07-19"),
        ("P-3", "P-3 has capacity", "2017-07-26"),
    ]


async def test_a_reallocation_moves_the_open_obligations_on_the_audit_trail(
    pipeline: Pipeline,
) -> None:
    letter = event(
        "victim-letter-due", "2017-07-17T09:00:00+01:00", urn=URN, victim_id="V1",
        decision="discontinued", decision_date="2017-07-17", enhanced=False,
    )  # fmt: skip
    before = [
        case(URN, time="2017-07-03T09:00:00+01:00", owner="P-1"),
        review_due("2017-07-05T09:00:00+01:00", "crown-ptph", "C1"),
        listed("2017-07-05T10:00:00+01:00", "2017-07-28", "C1"),
        letter,
    ]
    await pipeline.publish(lines(*before))
    await pipeline.settle()
    moving = reallocated("2017-07-19", "P-2", reason="P-1 on leave")
    await pipeline.publish(lines(moving))
    await pipeline.settle()
    # Earlier (by time) than the one that stands, delivered after it: its entry says what it
    # moved on its date (from P-1 to P-9), though P-2 has them now.
    superseded = reallocated("2017-07-18", "P-9", reason="first thought")
    await pipeline.publish(lines(superseded, moving))  # `moving` again: a duplicate
    await pipeline.settle()

    found = await pipeline.obligations(JUDGED_ON, urn=URN)
    assert {i: o["owner"] for i, o in found.items()} == {
        f"case-review/{URN}/crown-ptph": "P-2",
        f"victim-letter/{URN}/V1": "P-2",
    }
    first, second = await _reallocation_entries(pipeline)
    assert (first.entity, first.entity_id, first.action, first.actor) == (
        "case", URN, "reallocated", "DCCP-1",
    )  # fmt: skip
    assert first.caused_by == f"{moving['source']}#{moving['id']}"
    assert json.loads(first.detail) == {
        "from": "P-1",
        "to": "P-2",
        "reason": "P-1 on leave",
        "reallocated_date": "2017-07-19",
        "at": "2017-07-19T11:00:00+00:00",
        "moved": [f"case-review/{URN}/crown-ptph", f"victim-letter/{URN}/V1"],
        "owners_before": ["P-1"],
    }
    assert json.loads(second.detail) == json.loads(first.detail) | {
        "to": "P-9",
        "reason": "first thought",
        "reallocated_date": "2017-07-18",
        "at": "2017-07-18T11:00:00+00:00",
    }
    async with pipeline.runtime.sessions() as session:
        query = select(AuditEntry).where(
            AuditEntry.entity == "obligation", AuditEntry.caused_by == first.caused_by
        )
        moved = list((await session.execute(query)).scalars())
    assert sorted(
        (e.entity_id, json.loads(e.detail)["owner_before"], json.loads(e.detail)["owner_after"])
        for e in moved
    ) == [
        (f"case-review/{URN}/crown-ptph", "P-1", "P-2"),
        (f"victim-letter/{URN}/V1", "P-1", "P-2"),
    ]
