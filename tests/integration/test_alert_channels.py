"""Channels fail and come back: the digest is kept, retried with exponential backoff, and
delivered once over each channel; the tracking stream is published after Redis returns."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from events import parse_event
from schemas.tables import Alert, Delivery
from services.alerts.service import AlertService
from services.platform.runtime import Runtime, open_runtime
from services.tracker.handlers import apply_events
from tests.e2e.conftest import free_port
from tests.factories import event
from tests.integration.alerting import SimClock, Webhook, london, start_smtp
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> AsyncIterator[tuple[Runtime, int, Webhook]]:
    smtp_port, hook = free_port(), Webhook(free_port())
    settings = settings_for(
        tmp_path,
        database_url,
        redis_server,
        namespace,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        alert_webhook_url=hook.url,
        alert_retry_seconds=60,
    )
    async with open_runtime(settings) as opened:
        yield opened, smtp_port, hook


async def apply(runtime: Runtime, events: list[dict[str, object]]) -> None:
    parsed = [parse_event(json.dumps(e)) for e in events]
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=parsed,  # type: ignore[arg-type]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=london("2024-01-08 08:00").date(),
        )


async def test_failed_channels_retry_with_backoff_and_deliver_once(
    runtime: tuple[Runtime, int, Webhook],
) -> None:
    rt, smtp_port, hook = runtime
    redis = Redis.from_url(rt.settings.redis_url or "")
    clock = SimClock(london("2024-01-08 08:00"))
    service = AlertService(rt, redis, now=clock)
    await service.step()
    t = "2024-01-01T09:00:00+00:00"
    await apply(
        rt,
        [
            event(
                "staff-updated",
                t,
                staff_id="P1",
                name="N",
                email="p1@cps.example",
                role="prosecutor",
                area="w",
                unit="crown",
                line_manager=None,
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
        ],
    )  # due Mon 8 Jan: lapses at 00:00 Tue 9 Jan
    hook.failing = True  # webhook answers 503; no SMTP server listening yet
    await hook.start()
    try:
        clock.at = london("2024-01-09 09:00:01")
        await service.step()
        async with rt.sessions() as session:
            deliveries = list((await session.execute(select(Delivery))).scalars())
        assert {(d.channel, d.state, d.attempts) for d in deliveries} == {
            ("email", "pending", 1),
            ("webhook", "pending", 1),
        }
        assert {d.next_attempt_at for d in deliveries} == {london("2024-01-09 09:01:01")}
        clock.at = london("2024-01-09 09:01:30")  # second failure: the wait doubles
        await service.step()
        async with rt.sessions() as session:
            deliveries = list((await session.execute(select(Delivery))).scalars())
        assert {d.next_attempt_at for d in deliveries} == {london("2024-01-09 09:03:30")}
        assert all("Error" in (d.last_error or "") for d in deliveries)

        hook.failing = False
        inbox, smtp = start_smtp(smtp_port)
        try:
            clock.at = london("2024-01-09 09:02:00")  # not yet due: nothing sent
            await service.step()
            assert not inbox.messages and not hook.bodies
            clock.at = london("2024-01-09 09:04:00")
            await service.step()
            await service.step()
        finally:
            smtp.stop()
    finally:
        await hook.stop()
    assert len(inbox.messages) == 1 and len(hook.bodies) == 1
    assert inbox.messages[0]["To"] == "p1@cps.example"
    async with rt.sessions() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
    assert {(a.level, a.recipient, a.state) for a in alerts} == {("lapse", "P1", "sent")}
    stream = await redis.xrange(rt.settings.tracking_stream)
    types = [json.loads(f[b"event"])["type"] for _, f in stream]
    assert sorted(types) == ["alert-sent", "obligation-lapsed"]
    await redis.aclose()
