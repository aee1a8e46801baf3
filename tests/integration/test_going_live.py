"""Going live (docs/contract.md, section 7): the lapse clock's first start on a database that
already holds lapsed obligations raises each one's lapse once (FOLLOWUP_GOING_LIVE=alert, the
default), or leaves them as history (=history). Dates checked by hand: a victim letter decided
Tue 2 Jan 2024 is due +5 working days, Tue 9 Jan; it lapses at 00:00 Wed 10 Jan, escalates to
the unit head at 00:00 Thu 11 and to the DCCP at 00:00 Sat 13 (both before the first start on
Mon 15 Jan), and its first reminder falls due at 00:00 Wed 17 Jan (5 working days after)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from events import parse_event
from events.outbound import parse_outbound
from schemas.tables import Alarm, Alert
from services.alerts.service import AlertService
from services.platform.runtime import Runtime, open_runtime
from services.tracker.handlers import apply_events
from tests.factories import event
from tests.integration.alerting import SimClock, london
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration
LETTER = "victim-letter/U1/V1"


def history() -> list[dict[str, Any]]:
    t = "2024-01-01T09:00:00+00:00"
    people = [  # staff_id, role, line manager
        ("P1", "prosecutor", "LM"),
        ("LM", "legal-manager", "UH"),
        ("UH", "unit-head", "DCCP"),
        ("DCCP", "dccp", None),
        ("ABM", "abm", None),
    ]
    found = [
        event(
            "staff-updated",
            t,
            staff_id=s,
            name=f"Name {s}",
            email=f"{s.lower()}@cps.example",
            role=r,
            area="w",
            unit="crown",
            line_manager=m,
        )
        for s, r, m in people
    ]
    letter = {"decision": "no-charge", "decision_date": "2024-01-02", "enhanced": False}
    return [
        *found,
        event("case-registered", t, urn="U1", area="w", unit="crown", owner="P1"),
        event("case-registered", t, urn="U2", area="w", unit="crown", owner="P1"),
        event("victim-letter-due", "2024-01-02T16:00:00+00:00", urn="U1", victim_id="V1", **letter),
        # Met: sent on time, so nothing is owed for it.
        event("victim-letter-due", "2024-01-02T16:00:00+00:00", urn="U2", victim_id="V2", **letter),
        event("victim-letter-sent", "2024-01-05T12:00:00+00:00", urn="U2", victim_id="V2",
              sent_date="2024-01-05"),
    ]  # fmt: skip


@pytest.fixture
async def loaded(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    redis_server: str,
    namespace: str,
) -> AsyncIterator[tuple[Runtime, Redis]]:
    """A database written before the clock ever ran; the setting from the test's parameter."""
    settings = settings_for(
        tmp_path, database_url, redis_server, namespace, going_live=request.param
    )
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[parse_event(json.dumps(e)) for e in history()],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=london("2024-01-08 12:00").date(),
                now=london("2024-01-08 12:00"),
            )
        redis = Redis.from_url(redis_server)
        yield runtime, redis
        await redis.aclose()


async def alarms(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.sessions() as session:
        rows = (await session.execute(select(Alarm.obligation_id, Alarm.level))).all()
    return sorted((str(o), str(level)) for o, level in rows)


async def alerts(runtime: Runtime) -> list[tuple[str, str, str]]:
    async with runtime.sessions() as session:
        rows = (await session.execute(select(Alert.level, Alert.recipient, Alert.state))).all()
    return sorted((str(a), str(b), str(c)) for a, b, c in rows)


@pytest.mark.parametrize("loaded", ["alert"], indirect=True)
async def test_the_first_start_raises_each_lapse_once_and_goes_on_from_there(
    loaded: tuple[Runtime, Redis],
) -> None:
    runtime, redis = loaded
    clock = SimClock(london("2024-01-15 10:00:01"))
    await AlertService(runtime, redis, now=clock).step()  # the first start, in a 10:00 slot
    assert await alarms(runtime) == [(LETTER, "lapse")]  # no warnings, no escalations
    assert await alerts(runtime) == [
        ("lapse", "ABM", "sent"),  # a business lapse copies the ABM
        ("lapse", "LM", "sent"),
        ("lapse", "P1", "sent"),
    ]
    stream = await redis.xrange(runtime.settings.tracking_stream)
    types = [parse_outbound(json.loads(fields[b"event"])).type for _, fields in stream]
    assert types.count("obligation-lapsed") == 1

    # Restarted as two processes at once, later the same day: nothing is raised again.
    clock.at = london("2024-01-15 11:00:01")
    await asyncio.gather(
        AlertService(runtime, redis, now=clock).step(),
        AlertService(runtime, redis, now=clock).step(),
    )
    assert await alarms(runtime) == [(LETTER, "lapse")]

    # Reminders start with the first one after the start, not one owed for before it.
    service = AlertService(runtime, redis, now=clock)
    clock.at = london("2024-01-17 09:00:01")
    await service.step()  # raised now: a reminder is held to the next slot
    assert await alarms(runtime) == [(LETTER, "lapse"), (LETTER, "repeat-1")]
    clock.at = london("2024-01-17 10:00:01")
    await service.step()
    assert [a for a in await alerts(runtime) if a[0] == "repeat-1"] == [
        ("repeat-1", "ABM", "sent"),
        ("repeat-1", "LM", "sent"),
        ("repeat-1", "P1", "sent"),
    ]


@pytest.mark.parametrize("loaded", ["history"], indirect=True)
async def test_with_history_the_first_start_raises_nothing_already_due(
    loaded: tuple[Runtime, Redis],
) -> None:
    runtime, redis = loaded
    clock = SimClock(london("2024-01-15 10:00:01"))
    await AlertService(runtime, redis, now=clock).step()
    clock.at = london("2024-01-17 09:00:01")
    await AlertService(runtime, redis, now=clock).step()
    assert await alarms(runtime) == []
    assert await alerts(runtime) == []
