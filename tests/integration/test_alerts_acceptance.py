"""Acceptance: an org chart, several rules lapsing, an acknowledgement that stops escalation,
a snooze, and the clock stopped over Christmas 2023 (Fri 22 Dec to Wed 27 Dec, bank holidays
on the 25th and 26th) then restarted as two processes at once. Every expectation below is
written by hand from the default pack and the calendar, not computed by the code under test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from events.outbound import obligation_ref, parse_outbound
from schemas.tables import Alert, AuditEntry
from services.alerts.actions import acknowledge, snooze
from services.alerts.service import AlertService
from services.platform.audit_trail import verify_chain
from services.platform.settings import Settings
from tests.e2e.conftest import free_port
from tests.factories import event
from tests.integration.alerting import SimClock, Webhook, london, start_smtp
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

VICTIMS = ("VICTIM-7Q4Z", "VICTIM-3M8P")
DEFENDANT = "DEF-9K2X"
STAFF = [  # staff_id, name, role, unit, line manager
    ("W-CCP", "Aurelia Stint", "ccp", None, None),
    ("W-DCCP", "Bertram Oxley", "dccp", None, "W-CCP"),
    ("W-ABM", "Cressida Vale", "abm", None, "W-CCP"),
    ("W-UH", "Dorian Fell", "unit-head", "magistrates", "W-DCCP"),
    ("W-LM", "Esme Tolliver", "legal-manager", "magistrates", "W-UH"),
    ("W-P1", "Fabian Crouch", "prosecutor", "magistrates", "W-LM"),
    ("W-P2", "Gwendolyn Ashby", "prosecutor", "magistrates", None),  # no manager on record
]
IDS = {
    "A": f"victim-letter/U1/{VICTIMS[0]}",  # due Fri 22 Dec, never sent
    "B": f"victim-letter/U2/{VICTIMS[1]}",  # enhanced, due Thu 21 Dec; owner has no manager
    "C": f"custody-time-limit/U3/{DEFENDANT}",  # expires Wed 3 Jan; released Tue 2 Jan
    "D": "complaint-response/CMP-1/1",  # no owner; due Fri 22 Dec
    "E": "hearing-record-sheet/U1/H1",  # due Tue 19 Dec, uploaded that day
}
DUE = {
    "A": "2023-12-22",
    "B": "2023-12-21",
    "C": "2024-01-03",
    "D": "2023-12-22",
    "E": "2023-12-19",
}

# (obligation, level, recipient, sent at Europe/London). The clock steps at 00:00:01 and at
# one second past each digest slot (09:00 ... 16:00), so a digest goes at slot + 1 s; the
# restart on Wed 27 Dec is at 10:30:00 and sends everything that fell due while it was down.
EXPECTED = {
    ("D", "warning-5", "W-UH", "2023-12-15 09:00:01"),  # no owner: the Area's unit head
    ("C", "warning-10", "W-P1", "2023-12-15 09:00:01"),
    ("C", "warning-10", "W-LM", "2023-12-15 09:00:01"),
    ("C", "warning-10", "W-UH", "2023-12-15 09:00:01"),
    ("B", "warning-3", "W-P2", "2023-12-18 09:00:01"),
    ("E", "warning-1", "W-P1", "2023-12-18 09:00:01"),
    ("A", "warning-3", "W-P1", "2023-12-19 09:00:01"),
    ("B", "warning-1", "W-P2", "2023-12-20 09:00:01"),
    ("A", "warning-1", "W-P1", "2023-12-21 09:00:01"),
    ("D", "warning-1", "W-UH", "2023-12-21 09:00:01"),
    ("B", "lapse", "W-P2", "2023-12-22 09:00:01"),
    ("B", "lapse", "W-UH", "2023-12-22 09:00:01"),  # W-P2 has no line manager: unit head
    ("B", "lapse", "W-ABM", "2023-12-22 09:00:01"),  # business lapse: ABM copied
    ("C", "warning-5", "W-P1", "2023-12-22 09:00:01"),
    ("C", "warning-5", "W-LM", "2023-12-22 09:00:01"),
    ("C", "warning-5", "W-UH", "2023-12-22 09:00:01"),
    # stopped Fri 22 Dec 17:00, restarted Wed 27 Dec 10:30: lapses of Sat 23 Dec 00:00
    ("A", "lapse", "W-P1", "2023-12-27 10:30:00"),
    ("A", "lapse", "W-LM", "2023-12-27 10:30:00"),
    ("A", "lapse", "W-ABM", "2023-12-27 10:30:00"),
    ("D", "lapse", "W-UH", "2023-12-27 10:30:00"),
    ("D", "lapse", "W-ABM", "2023-12-27 10:30:00"),
    # B acknowledged at its lapse: its escalations (Sat 23, Fri 29) and reminders never come
    ("A", "escalation-1", "W-UH", "2023-12-28 09:00:01"),  # 1 working day after: Wed 27
    ("D", "escalation-1", "W-UH", "2023-12-29 09:00:01"),  # fell due Thu 28; snoozed to Fri 29
    ("C", "warning-2", "W-P1", "2023-12-29 09:00:01"),
    ("C", "warning-2", "W-LM", "2023-12-29 09:00:01"),
    ("C", "warning-2", "W-UH", "2023-12-29 09:00:01"),
    ("A", "escalation-3", "W-DCCP", "2024-01-02 09:00:01"),  # Sat 30 Dec; Mon 1 Jan holiday
    ("A", "repeat-1", "W-P1", "2024-01-04 09:00:01"),  # 5 working days after the lapse
    ("A", "repeat-1", "W-LM", "2024-01-04 09:00:01"),
    ("A", "repeat-1", "W-ABM", "2024-01-04 09:00:01"),
    ("D", "escalation-5", "W-DCCP", "2024-01-04 09:00:01"),
    ("D", "repeat-1", "W-UH", "2024-01-04 09:00:01"),
    ("D", "repeat-1", "W-ABM", "2024-01-04 09:00:01"),
}
EXPECTED_STREAM = Counter(
    {
        "obligation-warning": 10,
        "obligation-lapsed": 3,
        "obligation-escalated": 6,
        "obligation-met": 2,
        "alert-sent": len(EXPECTED),
    }
)


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def webhook_port() -> int:
    return free_port()


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    redis_server: str,
    namespace: str,
    smtp_port: int,
    webhook_port: int,
) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=database_url,  # type: ignore[call-arg]
        redis_url=redis_server,
        namespace=namespace,
        batch_size=50,
        alerts_enabled=False,  # this test drives its own clocks
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        alert_webhook_url=f"http://127.0.0.1:{webhook_port}/alerts",
    )


@pytest.fixture
async def webhook(webhook_port: int) -> AsyncIterator[Webhook]:
    server = Webhook(webhook_port)
    await server.start()
    yield server
    await server.stop()


def opening_events() -> list[dict[str, Any]]:
    t = "2023-12-01T09:00:00+00:00"
    found = [
        event(
            "staff-updated",
            t,
            staff_id=s,
            name=n,
            email=f"{s.lower()}@cps.example",
            role=r,
            area="wessex",
            unit=u,
            line_manager=m,
        )
        for s, n, r, u, m in STAFF
    ]
    found += [
        event("case-registered", t, urn=urn, area="wessex", unit="magistrates", owner=owner)
        for urn, owner in (("U1", "W-P1"), ("U2", "W-P2"), ("U3", "W-P1"))
    ]
    return [
        *found,
        event(
            "victim-letter-due",
            "2023-12-15T16:00:00+00:00",
            urn="U1",
            victim_id=VICTIMS[0],
            decision="no-charge",
            decision_date="2023-12-15",
            enhanced=False,
        ),
        event(
            "victim-letter-due",
            "2023-12-20T16:00:00+00:00",
            urn="U2",
            victim_id=VICTIMS[1],
            decision="discontinued",
            decision_date="2023-12-20",
            enhanced=True,
        ),
        event(
            "custody-time-limit-set",
            "2023-11-08T12:00:00+00:00",
            urn="U3",
            defendant_id=DEFENDANT,
            limit="summary-56",
            custody_start="2023-11-08",
            expires_on="2024-01-03",
        ),
        event(
            "complaint-received",
            "2023-11-24T12:00:00+00:00",
            complaint_id="CMP-1",
            area="wessex",
            received_date="2023-11-24",
            stage=1,
        ),
        event(
            "hearing-updated",
            "2023-12-18T15:00:00+00:00",
            urn="U1",
            hearing_id="H1",
            court="Salisbury Magistrates' Court",
            court_type="magistrates",
            hearing_date="2023-12-18",
            status="held",
            advocate="W-P1",
        ),
    ]


def instants(start: str, end: str) -> list[Any]:
    """00:00:01 and one second past each hour 09:00-16:00, from start (exclusive) to end."""
    first, last = london(start), london(end)
    day = first.date()
    found = []
    while day <= last.date():
        for hour in (0, 9, 10, 11, 12, 13, 14, 15, 16):
            moment = london(f"{day.isoformat()} {hour:02d}:00:01")
            if first < moment <= last:
                found.append(moment)
        day += timedelta(days=1)
    return found


async def run(clock: SimClock, service: AlertService, start: str, end: str) -> None:
    for moment in instants(start, end):
        clock.at = moment
        await service.step()


async def alert_id(pipeline: Pipeline, key: str, level: str, recipient: str) -> int:
    async with pipeline.runtime.sessions() as session:
        found = await session.execute(
            select(Alert.id).where(
                Alert.obligation_id == IDS[key], Alert.level == level, Alert.recipient == recipient
            )
        )
        return int(found.scalar_one())


def mail(inbox: Any, to: str, date: str) -> Any:
    [found] = [m for m in inbox.messages if (m["X-RcptTo"], m["Date"]) == (to, date)]
    return found


def text_of(message: Any) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return str(part.get_payload(decode=True).decode())


async def test_christmas_2023(
    pipeline: Pipeline,
    settings: Settings,
    smtp_port: int,
    webhook: Webhook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inbox, smtp = start_smtp(smtp_port)
    try:
        await scenario(pipeline, settings, inbox, webhook)
    finally:
        smtp.stop()
    # No victim's or defendant's id anywhere an alert or log line goes; staff names only in
    # the emails, written for the staff who read them (contract section 7, "The digest email").
    stream = await pipeline.redis.xrange(settings.tracking_stream)
    mails = [m.as_string() for m in inbox.messages]
    machines = [json.dumps(b) for b in webhook.bodies]
    machines += [fields[b"event"].decode() for _, fields in stream]
    machines += [  # every log line of ours (the drivers' debug logs are not ours)
        record.getMessage() + json.dumps(vars(record), default=str)
        for record in caplog.records
        if record.name.startswith("followup")
    ]
    for text in mails + machines:
        for secret in (*VICTIMS, DEFENDANT):
            assert secret not in text
    for text in machines:
        for name in (name for _, name, *_ in STAFF):
            assert name not in text


async def scenario(pipeline: Pipeline, settings: Settings, inbox: Any, webhook: Webhook) -> None:
    clock = SimClock(london("2023-12-11 08:00"))
    service = AlertService(pipeline.runtime, pipeline.redis, now=clock)
    await service.step()  # the clock's first start
    report = await pipeline.publish([json.dumps(e) for e in opening_events()])
    assert not report.rejected
    await pipeline.settle()
    obligations = await pipeline.obligations(london("2023-12-11 08:00").date())
    assert {k: obligations[i]["due"] for k, i in IDS.items()} == DUE

    await run(clock, service, "2023-12-11 08:00", "2023-12-19 14:00")
    await pipeline.publish(
        [
            json.dumps(
                event(
                    "hearing-record-sheet-uploaded",
                    "2023-12-19T14:00:00+00:00",
                    urn="U1",
                    hearing_id="H1",
                    uploaded_by="W-P1",
                    uploaded_date="2023-12-19",
                )
            )
        ]
    )
    await pipeline.settle()
    await run(clock, service, "2023-12-19 14:00", "2023-12-22 10:30")
    clock.at = london("2023-12-22 10:30")
    async with pipeline.runtime.sessions() as session, session.begin():
        await acknowledge(
            session=session,
            alert_id=await alert_id(pipeline, "B", "lapse", "W-UH"),
            by="W-UH",
            now=clock.at,
        )
    await run(clock, service, "2023-12-22 10:30", "2023-12-22 17:00")

    # Stopped over Christmas; restarted as two clock processes at once.
    clock.at = london("2023-12-27 10:30")
    first = AlertService(pipeline.runtime, pipeline.redis, now=clock)
    second = AlertService(pipeline.runtime, pipeline.redis, now=clock)
    await asyncio.gather(first.step(), second.step())
    clock.at = london("2023-12-27 10:45")
    async with pipeline.runtime.sessions() as session, session.begin():
        await snooze(
            session=session,
            alert_id=await alert_id(pipeline, "D", "lapse", "W-UH"),
            by="W-UH",
            reason="awaiting the police file",
            until=london("2023-12-29 00:00"),
            now=clock.at,
        )
    await run(clock, first, "2023-12-27 10:45", "2024-01-02 11:00")
    await pipeline.publish(
        [
            json.dumps(
                event(
                    "custody-time-limit-ended",
                    "2024-01-02T11:00:00+00:00",
                    urn="U3",
                    defendant_id=DEFENDANT,
                    reason="released",
                )
            )
        ]
    )
    await pipeline.settle()
    await run(clock, second, "2024-01-02 11:00", "2024-01-04 12:00")

    letter = {i: k for k, i in IDS.items()}
    async with pipeline.runtime.sessions() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
        audit = list(
            (
                await session.execute(select(AuditEntry).where(AuditEntry.entity == "alert"))
            ).scalars()
        )
        assert (await verify_chain(session=session)).ok
    got = [
        (
            letter[a.obligation_id],
            a.level,
            a.recipient,
            a.sent_at.astimezone(london("2024-01-01 00:00").tzinfo).strftime("%Y-%m-%d %H:%M:%S")
            if a.sent_at
            else None,
        )
        for a in alerts
    ]
    assert sorted(got) == sorted(EXPECTED)  # exactly these, once each
    reasons = {(letter[a.obligation_id], a.level, a.recipient): a.reason for a in alerts}
    assert reasons[("D", "warning-5", "W-UH")] == "no owner on record: sent to the Area's unit head"
    assert reasons[("B", "lapse", "W-UH")] == (
        "no line manager on record for owner W-P2: sent to the Area's unit head"
    )
    actions = Counter(e.action for e in audit)
    # escalated: A escalation-1, -3 and 3 reminders; D escalation-1, -5 and 2 reminders
    assert actions == {"raised": 24, "escalated": 9, "sent": 33, "acknowledged": 1, "snoozed": 1}

    stream = await pipeline.redis.xrange(settings.tracking_stream)
    events = [parse_outbound(json.loads(fields[b"event"])) for _, fields in stream]
    assert Counter(e.type for e in events) == EXPECTED_STREAM
    met = {e.data.obligation_ref: e.data.state for e in events if e.type == "obligation-met"}
    assert met == {obligation_ref(IDS["E"]): "met", obligation_ref(IDS["C"]): "met"}

    # Each digest is written for its reader: titles, whose task, the case, how late, what next.
    uh = mail(inbox, "w-uh@cps.example", "Fri, 15 Dec 2023 09:00:01 +0000")
    assert re.sub(r"\r?\n", "", uh["Subject"]) == (  # unfolded
        "Custody time limit expires 2024-01-03: URN U3 - Followup: 2 obligations to act on"
    )
    assert [line.strip() for line in text_of(uh).splitlines()][:6] == [
        "Followup: 2 obligations to act on for Dorian Fell, Fri 15 Dec 2023 09:00 (Europe/London)",
        "",
        "1. Complaint answered",
        "Complaint CMP-1; stage 1",
        "Whose task: no owner on record",
        "Due Fri 22 Dec 2023",
    ]
    abm = mail(inbox, "w-abm@cps.example", "Wed, 27 Dec 2023 10:30:00 +0000")
    assert abm["Message-ID"].startswith("<digest-")
    assert [line.strip() for line in text_of(abm).splitlines()][11:20] == [
        "2. Letter to the victim after a decision (VCL scheme)",
        "Case U1; decision no-charge; decision date 2023-12-15",
        "Whose task: Fabian Crouch (prosecutor)",
        "Due Fri 22 Dec 2023: LAPSED, 1 working day overdue",
        "Next: escalation (1 working day after the lapse) on Thu 28 Dec 2023 to "
        "Dorian Fell (unit head)",
        f"Alert: LAPSED (alert {await alert_id(pipeline, 'A', 'lapse', 'W-ABM')})",
        f"Victim reference: {obligation_ref(IDS['A'])}",
        f"Acknowledge: followup alerts ack {await alert_id(pipeline, 'A', 'lapse', 'W-ABM')} "
        "--by W-ABM",
    ]
    # One digest per recipient per slot, by email and by webhook, each obligation once.
    slots = Counter((r, when) for _, _, r, when in EXPECTED)
    assert len(inbox.messages) == len(slots) == len(webhook.bodies)
    for body in webhook.bodies:
        refs = [o["obligation_ref"] for o in body["obligations"]]
        assert len(refs) == len(set(refs))
    abm = [
        b
        for b in webhook.bodies
        if b["recipient"] == "W-ABM" and b["slot"].startswith("2024-01-04")
    ]
    assert [sorted(a["level"] for o in abm[0]["obligations"] for a in o["alerts"])] == [
        ["repeat-1", "repeat-1"]
    ]
