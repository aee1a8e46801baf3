"""A stored address that is not one plain address fails that recipient's digest at once, for
good and with its reason, while everyone else's digest goes out: on SQLite and PostgreSQL,
through a real SMTP server."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from events import parse_event
from schemas.tables import Alert, AuditEntry, Delivery, Digest, StaffMember
from services.alerts.service import AlertService
from services.platform.runtime import Runtime, open_runtime
from services.tracker.handlers import apply_events
from tests.e2e.conftest import free_port
from tests.factories import event
from tests.integration.alerting import SimClock, london, start_smtp
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration

# Stored before addresses were checked on the way in: both sort before the good one, so the
# good digest is sent after them in the same round.
BAD = {
    "P1": "p1@cps.example>,<intruder@evil.example",
    "P2": "p2@cps.example\r\nBcc: intruder@evil.example",
}
GOOD = ("P3", "p3@cps.example")


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> AsyncIterator[tuple[Runtime, int]]:
    smtp_port = free_port()
    settings = settings_for(
        tmp_path,
        database_url,
        redis_server,
        namespace,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        alert_retry_seconds=60,
    )
    async with open_runtime(settings) as opened:
        yield opened, smtp_port


async def seed(runtime: Runtime) -> None:
    t = "2024-01-01T09:00:00+00:00"
    events = []
    for n, staff_id in enumerate(("P1", "P2", "P3"), start=1):
        events += [
            event(
                "staff-updated",
                t,
                staff_id=staff_id,
                name=f"Prosecutor {n}",
                email=f"{staff_id.lower()}@cps.example",
                role="prosecutor",
                area="w",
                unit="crown",
                line_manager=None,
            ),
            event("case-registered", t, urn=f"U{n}", area="w", unit="crown", owner=staff_id),
            event(
                "victim-letter-due",
                "2024-01-08T07:00:00+00:00",
                urn=f"U{n}",
                victim_id=f"V{n}",
                decision="no-charge",
                decision_date="2024-01-05",
                enhanced=True,
            ),
        ]
    parsed = [parse_event(json.dumps(e)) for e in events]
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=parsed,  # type: ignore[arg-type]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=london("2024-01-08 08:00").date(),
            now=london("2024-01-08 08:00"),
        )
        for staff_id, address in BAD.items():  # as an older release may have stored them
            await session.execute(
                update(StaffMember)
                .where(StaffMember.staff_id == staff_id)  # type: ignore[arg-type]
                .values(email=address)
            )


async def test_a_bad_address_fails_its_digest_alone_and_for_good(
    runtime: tuple[Runtime, int], caplog: pytest.LogCaptureFixture
) -> None:
    rt, smtp_port = runtime
    redis = Redis.from_url(rt.settings.redis_url or "")
    clock = SimClock(london("2024-01-08 08:00"))
    service = AlertService(rt, redis, now=clock)
    await service.step()
    await seed(rt)  # each due Mon 8 Jan: lapses at 00:00 Tue 9 Jan
    inbox, smtp = start_smtp(smtp_port)
    try:
        with caplog.at_level(logging.ERROR, logger="followup.alerts.delivery"):
            clock.at = london("2024-01-09 09:00:01")
            await service.step()
        clock.at = london("2024-01-09 12:00:01")  # hours later: nothing is tried again
        await service.step()
    finally:
        smtp.stop()
        await redis.aclose()

    [message] = inbox.messages
    assert message["To"] == GOOD[1]
    assert message["X-RcptTo"] == GOOD[1]  # the envelope too: nobody else
    async with rt.sessions() as session:
        deliveries = list((await session.execute(select(Delivery))).scalars())
        digests = {d.id: d for d in (await session.execute(select(Digest))).scalars()}
        alerts = list((await session.execute(select(Alert))).scalars())
        audit = list(
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.action == "undeliverable")  # type: ignore[arg-type]
                )
            ).scalars()
        )
    by_recipient = {digests[d.digest_id].recipient: d for d in deliveries}
    for staff_id in BAD:
        failed = by_recipient[staff_id]
        assert (failed.state, failed.attempts) == ("failed", 1)
        assert (failed.last_error or "").startswith("address refused: ")
        assert digests[failed.digest_id].state == "failed"
    assert by_recipient["P3"].state == "sent"
    assert {(a.recipient, a.state) for a in alerts} == {
        ("P1", "undeliverable"),
        ("P2", "undeliverable"),
        ("P3", "sent"),
    }
    details = [json.loads(e.detail) for e in audit]
    reasons = {d["recipient"]: d["reason"] for d in details}
    assert reasons.keys() == BAD.keys()
    assert "',<>'" in reasons["P1"]  # says what was wrong with it
    assert "whitespace or a control character" in reasons["P2"]
    refused = [r for r in caplog.records if r.getMessage() == "alert delivery refused; not retried"]
    assert sorted(r.__dict__["recipient"] for r in refused) == ["P1", "P2"]
