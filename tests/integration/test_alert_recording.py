"""The two steps of raising an alarm: the alarm and its tracking-stream event commit (and go
out) first, its alerts and their audit entries in the next transaction. A crash between them
loses nothing and doubles nothing; an unreachable Redis holds the event back, never drops it."""

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
from events.outbound import obligation_ref
from schemas.tables import Alarm, Alert, AuditEntry, TrackingEvent
from services.alerts.clock import ticker
from services.alerts.service import AlertService
from services.platform.audit_trail import verify_chain
from services.platform.runtime import Runtime, open_runtime
from services.tracker.handlers import apply_events
from tests.e2e.conftest import free_port
from tests.factories import event
from tests.integration.alerting import SimClock, london
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration
LETTER = "victim-letter/U9/V9"


@pytest.fixture
async def rt(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> AsyncIterator[Runtime]:
    settings = settings_for(
        tmp_path,
        database_url,
        redis_server,
        namespace,
        alert_retry_seconds=30,
    )
    async with open_runtime(settings) as opened:
        yield opened


async def letter_due_monday(runtime: Runtime, clock: SimClock) -> None:
    """P1 (line manager LM) owns a victim letter due Mon 8 Jan 2024: it lapses at 00:00 Tue."""
    t = "2024-01-01T09:00:00+00:00"
    staff = [("P1", "prosecutor", "LM"), ("LM", "legal-manager", None)]
    raw = [
        *(
            event(
                "staff-updated",
                t,
                staff_id=s,
                name=s,
                email=f"{s.lower()}@cps.example",
                role=role,
                area="w",
                unit="crown",
                line_manager=manager,
            )
            for s, role, manager in staff
        ),
        event("case-registered", t, urn="U9", area="w", unit="crown", owner="P1"),
        event(
            "victim-letter-due",
            "2024-01-08T07:00:00+00:00",
            urn="U9",
            victim_id="V9",
            decision="no-charge",
            decision_date="2024-01-05",
            enhanced=True,
        ),
    ]
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(e)) for e in raw],  # type: ignore[misc]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=clock.at.date(),
            now=clock.at,
        )


async def lapses_on(redis: Redis, stream: str) -> list[dict[str, Any]]:
    entries = [json.loads(fields[b"event"]) for _, fields in await redis.xrange(stream)]
    return [e for e in entries if e["type"] == "obligation-lapsed"]


async def test_alerts_left_by_a_crash_are_recorded_once_by_the_next_tick(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = Redis.from_url(rt.settings.redis_url or "")
    stream = rt.settings.tracking_stream
    clock = SimClock(london("2024-01-08 08:00"))
    await AlertService(rt, redis, now=clock).clock.tick()  # first start
    await letter_due_monday(rt, clock)

    async def killed(**_: object) -> tuple[int, int]:
        raise RuntimeError("process killed")

    monkeypatch.setattr(ticker, "record_alerts", killed)
    clock.at = london("2024-01-09 00:00")
    with pytest.raises(RuntimeError, match="killed"):
        await AlertService(rt, redis, now=clock).clock.tick()
    # The lapse went out on the stream before the crash, naming who hears.
    [lapsed] = await lapses_on(redis, stream)
    assert lapsed["data"]["obligation_ref"] == obligation_ref(LETTER)
    assert lapsed["data"]["recipients"] == ["P1", "LM"]
    async with rt.sessions() as session:
        alarms = list((await session.execute(select(Alarm))).scalars())
        assert not list((await session.execute(select(Alert))).scalars())
    assert [(a.level, a.alerted_at) for a in alarms] == [("lapse", None)]

    # Restarted as two clocks at once: the alerts are recorded once, as routed at the lapse.
    monkeypatch.undo()
    clock.at = london("2024-01-09 00:00:05")
    services = [AlertService(rt, redis, now=clock) for _ in range(2)]
    reports = await asyncio.gather(*(s.clock.tick() for s in services))
    assert sorted(r.alerts for r in reports if not r.skipped) in ([2], [0, 2])
    await services[0].clock.tick()
    async with rt.sessions() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
        alarms = list((await session.execute(select(Alarm))).scalars())
        audit = list(
            (
                await session.execute(select(AuditEntry).where(AuditEntry.entity == "alert"))
            ).scalars()
        )
        assert (await verify_chain(session=session)).ok
    assert sorted((a.level, a.recipient, a.role, a.state) for a in alerts) == [
        ("lapse", "LM", "legal-manager", "pending"),
        ("lapse", "P1", "owner", "pending"),
    ]
    assert {a.deliver_after for a in alerts} == {london("2024-01-09 09:00")}
    assert [a.alerted_at for a in alarms] == [london("2024-01-09 00:00:05")]
    assert sorted((e.action, e.entity_id) for e in audit) == sorted(
        ("raised", str(a.id)) for a in alerts
    )
    assert len(await lapses_on(redis, stream)) == 1  # and the lapse was not sent again
    await redis.aclose()


async def test_an_unreachable_stream_holds_events_back_and_retries(rt: Runtime) -> None:
    live = Redis.from_url(rt.settings.redis_url or "")
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    stream = rt.settings.tracking_stream
    clock = SimClock(london("2024-01-08 08:00"))
    await AlertService(rt, dead, now=clock).clock.tick()
    await letter_due_monday(rt, clock)

    clock.at = london("2024-01-09 00:00")
    report = await AlertService(rt, dead, now=clock).clock.tick()
    assert (report.published, report.alerts) == (0, 2)  # alerts are recorded all the same
    async with rt.sessions() as session:
        [row] = list((await session.execute(select(TrackingEvent))).scalars())
    assert (row.type, row.state, row.attempts) == ("obligation-lapsed", "pending", 1)
    assert row.next_attempt_at == london("2024-01-09 00:00:30")
    assert "ConnectionError" in (row.last_error or "")

    service = AlertService(rt, live, now=clock)
    clock.at = london("2024-01-09 00:00:10")  # Redis is back, the retry is not due yet
    assert (await service.clock.tick()).published == 0
    clock.at = london("2024-01-09 00:00:30")
    assert (await service.clock.tick()).published == 1
    assert (await service.clock.tick()).published == 0
    [lapsed] = await lapses_on(live, stream)
    assert json.loads(row.payload) == lapsed
    async with rt.sessions() as session:
        [row] = list((await session.execute(select(TrackingEvent))).scalars())
    assert (row.state, row.attempts, row.sent_at) == ("sent", 2, clock.at)
    await live.aclose()
    await dead.aclose()


async def test_a_cancelled_service_returns_only_when_the_clock_has_stopped(rt: Runtime) -> None:
    """Shutdown disposes the engine after the service's task ends, so that task must not end
    while the clock is still closing its connection (a hang at shutdown, seen in CI)."""
    redis = Redis.from_url(rt.settings.redis_url or "")
    service = AlertService(rt, redis)
    clock_stopped = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:  # as SQLAlchemy does, a connection closed under a shield when cancelled
            await asyncio.shield(asyncio.sleep(0.2))
            clock_stopped.set()

    service.clock.run = slow_to_stop  # type: ignore[method-assign]
    running = asyncio.create_task(service.run())
    await asyncio.sleep(0.1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert clock_stopped.is_set()
    await redis.aclose()
