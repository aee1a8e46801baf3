"""Publishing weekly summaries: due moments, catch-up, one per scope and week even when two
schedulers race, email with the chart to a real SMTP server, retries, event and audit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select, update

from schemas.tables import AuditEntry, LapseClockState, PublishedSummary, StaffMember
from services.platform.audit_trail import verify_chain
from services.platform.runtime import Runtime, open_runtime
from services.rules.calendar import LONDON
from services.summaries.publisher import SummaryPublisher
from tests.e2e.conftest import free_port
from tests.integration.conftest import Pipeline
from tests.integration.test_mail import Inbox
from tests.integration.test_summaries import loaded, settings  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

FRIDAY_W20 = datetime(2018, 5, 18, 16, 0, tzinfo=LONDON)
MONDAY_W19 = datetime(2018, 5, 7, 8, 0, tzinfo=LONDON)
SCOPES = {"area/thames-and-chiltern", "team/LM1", "team/LM2"}


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=changes))


def published(keys: list[str], week: str) -> set[str]:
    return {key.rpartition("/")[0] for key in keys if key.endswith(week)}


async def rows(runtime: Runtime) -> list[PublishedSummary]:
    async with runtime.sessions() as session:
        return list((await session.execute(select(PublishedSummary))).scalars())


async def summary_audit(runtime: Runtime) -> list[AuditEntry]:
    async with runtime.sessions() as session:
        statement = select(AuditEntry).where(AuditEntry.entity == "summary")  # type: ignore[arg-type]
        return list((await session.execute(statement)).scalars())


def png_of(message: Message) -> bytes:
    [attachment] = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_content_type() == "image/png"
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def html_of(message: Message) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/html"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def test_due_summaries_are_emailed_with_the_chart_recorded_and_sent_once(
    loaded: Pipeline,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    runtime = with_settings(
        loaded.runtime, smtp_host="127.0.0.1", smtp_port=port, summary_catch_up_weeks=1
    )
    publisher = SummaryPublisher(runtime, loaded.redis)
    # Went live on Monday of week 19: week 18 ended before, so it is never sent.
    assert await publisher.publish_due(MONDAY_W19) == []

    # A minute before Friday 16:00 only the previous week (caught up) is due.
    before = await publisher.publish_due(FRIDAY_W20 - timedelta(minutes=1))
    assert published(before, "2018-W19") == SCOPES and len(before) == 3
    at = await publisher.publish_due(FRIDAY_W20)
    assert published(at, "2018-W20") == SCOPES and len(at) == 3
    assert await publisher.publish_due(FRIDAY_W20 + timedelta(minutes=5)) == []

    assert len(inbox.messages) == 6
    by_recipient: dict[str, list[Message]] = {}
    for message in inbox.messages:
        by_recipient.setdefault(str(message["To"]), []).append(message)
        assert png_of(message).startswith(b"\x89PNG\r\n\x1a\n")
        assert "data:image/png;base64," in html_of(message)
    assert {k: len(v) for k, v in by_recipient.items()} == {
        "dccp1@example.test": 2,
        "lm1@example.test": 2,
        "lm2@example.test": 2,
    }
    [area_w20] = [m for m in by_recipient["dccp1@example.test"] if "2018-W20" in str(m["Subject"])]
    assert "Area thames-and-chiltern" in str(area_w20["Subject"])
    assert '<td class="n">50.0%</td>' in html_of(area_w20)

    entries = await loaded.redis.xrange(runtime.settings.tracking_stream)
    events = [json.loads(fields[b"event"]) for _, fields in entries]
    assert len(events) == 6 and {e["type"] for e in events} == {"summary-published"}
    [area_event] = [
        e for e in events if e["id"] == "summary-published/area/thames-and-chiltern/2018-W20"
    ]
    assert area_event["dataversion"] == 1
    data = area_event["data"]
    assert (data["due"], data["met"], data["met_late"], data["lapsed"], data["open"]) == (
        5, 2, 1, 1, 1,
    )  # fmt: skip
    assert (data["on_time_pct"], data["as_of"], data["recipients"]) == (
        50.0,
        "2018-05-18",
        ["DCCP1"],
    )

    audit = await summary_audit(runtime)
    assert sorted(a.entity_id for a in audit) == sorted(
        f"{scope}/{week}" for scope in SCOPES for week in ("2018-W19", "2018-W20")
    )
    assert {a.action for a in audit} == {"published"}
    async with runtime.sessions() as session:
        assert (await verify_chain(session=session)).ok
    assert {(r.status, r.attempts) for r in await rows(runtime)} == {("sent", 1)}


async def test_weeks_missed_while_down_are_caught_up_once(loaded: Pipeline) -> None:  # noqa: F811
    runtime = with_settings(loaded.runtime, summary_catch_up_weeks=3)
    publisher = SummaryPublisher(runtime, loaded.redis)
    assert await publisher.publish_due(MONDAY_W19) == []  # went live
    # Down from before Friday of week 20 until a Saturday three weeks later (week 23).
    later = datetime(2018, 6, 9, 10, 0, tzinfo=LONDON)
    done = await publisher.publish_due(later)
    weeks = {key.rpartition("/")[2] for key in done}
    assert weeks == {"2018-W20", "2018-W21", "2018-W22", "2018-W23"} and len(done) == 12
    outbox = list((runtime.settings.data_dir / "outbox").glob("*.eml"))
    assert len(outbox) == 12
    # A restart (a new publisher) finds nothing left to do.
    assert await SummaryPublisher(runtime, loaded.redis).publish_due(later) == []
    assert len(list((runtime.settings.data_dir / "outbox").glob("*.eml"))) == 12


async def test_a_failed_delivery_is_retried_after_its_lease_and_not_lost(
    loaded: Pipeline,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    down = with_settings(
        loaded.runtime, smtp_host="127.0.0.1", smtp_port=free_port(), summary_catch_up_weeks=0
    )
    assert await SummaryPublisher(down, loaded.redis).publish_due(FRIDAY_W20) == []
    failed = await rows(down)
    assert len(failed) == 3
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in failed)
    assert await summary_audit(down) == []

    up = with_settings(down, smtp_port=port)
    publisher = SummaryPublisher(up, loaded.redis)
    assert await publisher.publish_due(FRIDAY_W20 + timedelta(seconds=10)) == []  # leased
    retried = await publisher.publish_due(FRIDAY_W20 + timedelta(seconds=301))
    assert len(retried) == 3 and len(inbox.messages) == 3
    assert {(r.status, r.attempts, r.last_error) for r in await rows(up)} == {("sent", 2, None)}
    assert len(await summary_audit(up)) == 3


async def test_two_schedulers_racing_publish_each_summary_once(
    loaded: Pipeline,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    import asyncio

    inbox, port = smtp
    settings_ = loaded.runtime.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "summary_catch_up_weeks": 2}
    )
    went_live = datetime(2018, 4, 30, 8, 0, tzinfo=LONDON)  # Monday of week 18
    assert await SummaryPublisher(loaded.runtime, loaded.redis).publish_due(went_live) == []
    # Two processes' worth of state: separate engines (connection pools) on one database.
    async with open_runtime(settings_) as first, open_runtime(settings_) as second:
        results = await asyncio.gather(
            SummaryPublisher(first, loaded.redis).publish_due(FRIDAY_W20),
            SummaryPublisher(second, loaded.redis).publish_due(FRIDAY_W20),
            SummaryPublisher(first, loaded.redis).publish_due(FRIDAY_W20),
        )
    everything = [key for result in results for key in result]
    assert len(everything) == len(set(everything)) == 9  # 3 scopes x weeks 18, 19, 20
    assert len(inbox.messages) == 9
    assert len({str(m["Message-ID"]) for m in inbox.messages}) == 9
    assert len(await summary_audit(loaded.runtime)) == 9
    assert len(await loaded.redis.xrange(settings_.tracking_stream)) == 9


async def test_a_refused_address_skips_that_recipient_for_good_and_no_one_else(
    loaded: Pipeline,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    runtime = with_settings(
        loaded.runtime, smtp_host="127.0.0.1", smtp_port=port, summary_catch_up_weeks=0
    )
    async with runtime.sessions() as session, session.begin():  # stored by an older release
        await session.execute(
            update(StaffMember)
            .where(StaffMember.staff_id == "LM1")  # type: ignore[arg-type]
            .values(email="lm1@example.test,\r\nBcc: dccp1@example.test")
        )
    publisher = SummaryPublisher(runtime, loaded.redis)
    assert published(await publisher.publish_due(FRIDAY_W20), "2018-W20") == SCOPES
    assert await publisher.publish_due(FRIDAY_W20 + timedelta(hours=1)) == []  # not retried

    assert sorted((str(m["To"]), str(m["X-RcptTo"])) for m in inbox.messages) == [
        ("dccp1@example.test", "dccp1@example.test"),
        ("lm2@example.test", "lm2@example.test"),
    ]
    by_scope = {f"{r.scope_kind}/{r.scope_id}": r for r in await rows(runtime)}
    assert {r.status for r in by_scope.values()} == {"sent"}
    team = by_scope["team/LM1"]
    assert (team.delivered, team.attempts) == ([], 1)
    assert (team.last_error or "").startswith("LM1: address refused: ")
    [entry] = [a for a in await summary_audit(runtime) if a.entity_id.startswith("team/LM1/")]
    assert json.loads(entry.detail)["refused"]["LM1"] == (team.last_error or "").partition(": ")[2]


async def test_going_live_sends_no_week_that_ended_before_the_first_start(
    loaded: Pipeline,  # noqa: F811
) -> None:
    runtime = with_settings(loaded.runtime, summary_catch_up_weeks=4)
    publisher = SummaryPublisher(runtime, loaded.redis)
    # First start on Saturday of week 20: its Friday moment has passed but the week has not
    # ended, so it is sent; weeks 16 to 19 ended before and never are, then or later.
    saturday = datetime(2018, 5, 19, 10, 0, tzinfo=LONDON)
    assert {key.rpartition("/")[2] for key in await publisher.publish_due(saturday)} == {"2018-W20"}
    later = await SummaryPublisher(runtime, loaded.redis).publish_due(
        datetime(2018, 5, 26, 10, 0, tzinfo=LONDON)
    )
    assert {key.rpartition("/")[2] for key in later} == {"2018-W21"}
    assert {r.week for r in await rows(runtime)} == {"2018-W20", "2018-W21"}


async def test_a_database_from_before_the_first_start_was_recorded_keeps_catching_up(
    loaded: Pipeline,  # noqa: F811
) -> None:
    runtime = with_settings(loaded.runtime, summary_catch_up_weeks=2)
    publisher = SummaryPublisher(runtime, loaded.redis)
    assert len(await publisher.publish_due(datetime(2018, 5, 4, 17, 0, tzinfo=LONDON))) == 3
    async with runtime.sessions() as session, session.begin():  # as an older release left it
        await session.execute(delete(LapseClockState))
    # Down over week 19: caught up, since summaries were claimed before it.
    done = await publisher.publish_due(datetime(2018, 5, 19, 10, 0, tzinfo=LONDON))
    assert {key.rpartition("/")[2] for key in done} == {"2018-W19", "2018-W20"}
