"""The engine's state kept in SQLite and PostgreSQL between batches: linked facts that arrive
before the thing they reach, recurring periods opening as time passes, and the change history."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from schemas.tables import ObligationChange
from services.entrypoints.http.api import build_api
from services.tracker.handlers import refresh_tracks
from tests.access import bearer
from tests.factories import event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration


def committed(action: str, recommendation: str, time: str, **terms: str) -> dict[str, object]:
    return event(
        "response-committed",
        time,
        recommendation_id=recommendation,
        action_id=action,
        response="agreed",
        text="Weekly conference call on review timeliness",
        owner="DCCP-1",
        **terms,
    )


def assessed(recommendation: str, rating: str, on: str) -> dict[str, object]:
    return event(
        "follow-up-assessed",
        f"{on}T12:00:00+00:00",
        source="/hmcpsi",
        recommendation_id=recommendation,
        rating=rating,
        assessed_by="I-1",
        assessed_date=on,
    )


async def test_an_assessment_stored_before_the_commitment_still_cancels_it(
    pipeline: Pipeline,
) -> None:
    await pipeline.publish(lines(assessed("R1", "no-longer-relevant", "2025-05-01")))
    await pipeline.settle()
    assert await pipeline.obligations(date(2025, 6, 1)) == {}
    await pipeline.publish(
        lines(
            committed("A1", "R1", "2025-01-10T10:00:00+00:00", due_date="2025-06-30"),
            committed("A2", "R2", "2025-01-10T10:00:00+00:00", due_date="2025-06-30"),
        )
    )
    await pipeline.settle()
    found = await pipeline.obligations(date(2025, 6, 1))
    assert (
        found["recommendation-action/A1"]["state"],
        found["recommendation-action/A1"]["closed_on"],
    ) == (
        "cancelled",
        "2025-05-01",
    )
    assert found["recommendation-action/A2"]["state"] == "open"
    # And the other way round: the commitment stored first, the assessment in a later batch.
    await pipeline.publish(lines(assessed("R2", "no-longer-relevant", "2025-05-02")))
    await pipeline.settle()
    found = await pipeline.obligations(date(2025, 6, 1))
    assert found["recommendation-action/A2"]["state"] == "cancelled"


async def test_recurring_periods_open_as_time_passes_and_changes_are_recorded(
    pipeline: Pipeline,
) -> None:
    runtime = pipeline.runtime
    await pipeline.publish(
        lines(
            committed(
                "W1", "R3", "2020-01-06T10:00:00+00:00", recurrence="monthly", starts="2020-01-06"
            )
        )
    )
    await pipeline.settle()
    opened = await pipeline.obligations(date(2020, 1, 1), rule="recurring-commitment")
    assert len(opened) > 12  # every month from January 2020 to the month holding today

    # Pretend the service now runs on a date before the periods it made: nothing is due to
    # refresh. Then run the clock forward past every period it knows.
    last = max(date.fromisoformat(row["due"]) for row in opened.values())
    assert (
        await refresh_tracks(
            sessions=runtime.sessions,
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=last,
            now=runtime.now(),
        )
        == []
    )
    later = date(last.year + 1, last.month, 1)
    changes = await refresh_tracks(
        sessions=runtime.sessions,
        rules=runtime.rules,
        calendar=runtime.calendar,
        today=later,
        now=runtime.now(),
    )
    assert [c.kind for c in changes] == ["opened"] * 12
    assert all(c.cause == (f"clock:{later}",) for c in changes)
    found = await pipeline.obligations(later, rule="recurring-commitment")
    assert len(found) == len(opened) + 12
    async with runtime.sessions() as session:
        history = (
            await session.execute(
                select(ObligationChange.kind, ObligationChange.caused_by).where(
                    col(ObligationChange.obligation_id) == "recurring-commitment/W1/2020-01"
                )
            )
        ).all()
    assert [kind for kind, _ in history] == ["opened"]
    assert history[0][1].startswith("/cms/thames-and-chiltern#evt-")  # the commitment event


async def test_http_explains_one_obligation(pipeline: Pipeline) -> None:
    await pipeline.publish(
        lines(committed("A9", "R9", "2025-01-10T10:00:00+00:00", due_date="2025-06-30"))
    )
    await pipeline.settle()
    api = build_api(runtime=pipeline.runtime, redis=pipeline.redis, today=lambda: date(2025, 7, 1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://localhost"
    ) as client:
        hq = await bearer(pipeline.runtime, system="hq-reporting", scope="read")
        anonymous = await client.get("/obligations/recommendation-action/A9")
        found = (await client.get("/obligations/recommendation-action/A9", headers=hq)).json()
        missing = await client.get("/obligations/recommendation-action/none", headers=hq)
    assert anonymous.status_code == 401
    assert (found["state"], found["owner"], found["due"]) == ("lapsed", "DCCP-1", "2025-06-30")
    assert [h["kind"] for h in found["history"]] == ["opened"]
    assert found["warnings"][0] == {"working_days_before": 10, "on": "2025-06-16"}
    assert missing.status_code == 404
