"""Publishing due summaries: claim each (scope, week) once, email it to every recipient with
the chart, then record a `summary-published` event and an audit entry. A failure leaves the
claim pending; it is retried after its lease, skipping recipients who already have it. A
recipient whose stored address is refused (not one plain address) is skipped for good: the
others get it, and the refusal is logged and kept in the row's `last_error` and the audit
entry."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import select

from events.outbound import SUMMARIES_SOURCE, SummaryPublished, outbound_event
from schemas.tables import PublishedSummary
from services.platform import clock
from services.platform.audit_trail import AuditRecord, append_audit
from services.platform.mail import AddressRefused, Attachment, Email, send_email
from services.platform.outbox import add_events, flush_outbox
from services.platform.runtime import Runtime
from services.rules.calendar import LONDON
from services.summaries import schedule
from services.summaries.build import build_summary, call_time
from services.summaries.chart import on_time_chart
from services.summaries.model import Summary, Timeliness
from services.summaries.render_html import summary_html
from services.summaries.render_md import summary_markdown
from services.summaries.weeks import IsoWeek

log = logging.getLogger("followup.summaries")
ACTOR = "followup-scheduler"


class SummaryPublisher:
    """One tick claims what is due and delivers what is pending; `now` is injected."""

    def __init__(
        self, runtime: Runtime, redis: Redis, *, now: Callable[[], datetime] = clock.now
    ) -> None:
        self.runtime, self.redis, self.now = runtime, redis, now

    async def tick(self) -> None:
        """What `serve` runs every `summary_check_seconds` (unless the schedule is off)."""
        if self.runtime.settings.summary_schedule:
            await self.publish_due(self.now())

    async def publish_due(self, now: datetime) -> list[str]:
        """Claim what is due at `now`, deliver what is pending; the summaries (`kind/id/week`)
        delivered."""
        await self.claim_due(now)
        return await self.deliver_pending(now)

    async def claim_due(self, now: datetime) -> int:
        settings = self.runtime.settings
        async with self.runtime.sessions() as session, session.begin():
            since = await schedule.first_start(session=session, now=now)
        # Never a week that ended before the first start (docs/contract.md, section 9, "Going
        # live"): going live emails no summaries of weeks nobody was waiting for.
        weeks = schedule.due_weeks(
            now=now,
            day=settings.summary_day,
            at=settings.summary_time,
            catch_up=settings.summary_catch_up_weeks,
            since=since,
        )
        if not weeks:
            return 0
        async with self.runtime.sessions() as session, session.begin():
            audiences = await schedule.audiences(session=session)
            table = PublishedSummary.__table__  # type: ignore[attr-defined]
            known = {
                tuple(row)
                for row in (
                    await session.execute(
                        select(table.c.scope_kind, table.c.scope_id, table.c.week).where(
                            table.c.week.in_([str(w.week) for w in weeks])
                        )
                    )
                ).all()
            }
            claimed = 0
            for audience in audiences:
                for due in weeks:
                    if (audience.scope.kind, audience.scope.id, str(due.week)) in known:
                        continue
                    claimed += await schedule.claim(
                        session=session, audience=audience, due=due, now=now
                    )
        if claimed:
            log.info("summaries due", extra={"claimed": claimed})
        return claimed

    async def deliver_pending(self, now: datetime) -> list[str]:
        async with self.runtime.sessions() as session:
            rows = await schedule.pending(session=session, now=now)
        delivered = []
        for row in rows:
            if await self._deliver(row, now):
                delivered.append(f"{row.scope_kind}/{row.scope_id}/{row.week}")
        return delivered

    async def _deliver(self, row: PublishedSummary, now: datetime) -> bool:
        assert row.id is not None
        lease = timedelta(seconds=self.runtime.settings.summary_retry_seconds)
        async with self.runtime.sessions() as session, session.begin():
            if not await schedule.take_lease(session=session, row_id=row.id, now=now, lease=lease):
                return False  # another process has it
        try:
            await self._send(row, now)
        except Exception as error:
            log.warning(
                "summary delivery failed; will retry",
                extra={
                    "summary": f"{row.scope_kind}/{row.scope_id}/{row.week}",
                    "error": repr(error),
                },
            )
            async with self.runtime.sessions() as session, session.begin():
                await schedule.note_failure(session=session, row_id=row.id, error=repr(error))
            return False
        return True

    async def _send(self, row: PublishedSummary, now: datetime) -> None:
        assert row.id is not None
        settings = self.runtime.settings
        week = IsoWeek.parse(row.week)
        as_of = row.due_at.astimezone(LONDON).date()
        async with self.runtime.sessions() as session:
            audience = await schedule.audience_of(
                session=session, kind=row.scope_kind, scope_id=row.scope_id, area=row.area
            )
            summary = await build_summary(
                session=session,
                scope=audience.scope,
                week=week,
                as_of=as_of,
                call=call_time(settings),
                as_of_from="publication",
            )
        timeliness = summary.section("timeliness")
        assert isinstance(timeliness, Timeliness)
        # Drawing and rendering take CPU for most of a second: off the event loop, so the
        # consumer beside it in `serve` keeps applying batches meanwhile.
        chart, html, text = await asyncio.to_thread(_render, summary, timeliness)
        done = list(row.delivered)
        refused: dict[str, str] = {}
        for person in audience.recipients:
            if person.staff_id in done:
                continue
            try:
                await send_email(
                    settings=settings,
                    email=Email(
                        to=person.email,
                        subject=f"Weekly summary {week}: {summary.scope.label()}",
                        text=text,
                        html=html,
                        attachments=[Attachment(f"on-time-{week}.png", chart, "image", "png")],
                        message_id=_message_id(row, person.staff_id),
                        date=now,
                    ),
                )
            except AddressRefused as error:  # final for this person; the others still get it
                refused[person.staff_id] = f"address refused: {error}"
                log.error(
                    "summary delivery refused; not retried",
                    extra={
                        "summary": f"{row.scope_kind}/{row.scope_id}/{row.week}",
                        "recipient": person.staff_id,
                        "reason": refused[person.staff_id],
                    },
                )
                continue
            done.append(person.staff_id)
            async with self.runtime.sessions() as session, session.begin():
                await schedule.note_delivered(session=session, row_id=row.id, delivered=done)
        # The id is stable per scope and week: the outbox keeps one, and a consumer of the
        # tracking stream recognises a resend as the same event.
        event = outbound_event(
            event_id=f"summary-published/{row.scope_kind}/{row.scope_id}/{row.week}",
            source=SUMMARIES_SOURCE,
            time=now,
            data=_event_data(summary, timeliness, done),
        )
        # Through the outbox, in the transaction that marks the row sent: on the stream once
        # and only if the summary counts as published.
        async with self.runtime.sessions() as session, session.begin():
            note = "; ".join(f"{who}: {why}" for who, why in refused.items()) or None
            if not await schedule.mark_sent(session=session, row_id=row.id, now=now, note=note):
                return  # another process finished it after our lease ran out
            await add_events(session=session, events=[event], now=now)
            await append_audit(
                session=session,
                records=[
                    AuditRecord(
                        entity="summary",
                        entity_id=f"{row.scope_kind}/{row.scope_id}/{row.week}",
                        action="published",
                        actor=ACTOR,
                        caused_by=f"clock:{row.due_at.astimezone(LONDON).isoformat()}",
                        detail={
                            "recipients": done,
                            "as_of": as_of.isoformat(),
                            "event": f"{event.source}#{event.id}",
                        }
                        | ({"refused": refused} if refused else {}),
                    )
                ],
                at=now,
            )
        await flush_outbox(
            sessions=self.runtime.sessions, redis=self.redis, settings=settings, now=now
        )
        log.info("summary published", extra={"summary": event.id, "week": row.week})


def _render(summary: Summary, timeliness: Timeliness) -> tuple[bytes, str, str]:
    chart = on_time_chart(timeliness)
    return chart, summary_html(summary, chart=chart), summary_markdown(summary)


def _event_data(summary: Summary, section: Timeliness, recipients: list[str]) -> SummaryPublished:
    counts, scope = section.all.week, summary.scope
    return SummaryPublished(
        scope_kind=scope.kind,
        scope_id=scope.id,
        area=scope.area,
        week=str(summary.week),
        as_of=summary.as_of,
        recipients=recipients,
        due=counts.due,
        met=counts.met,
        met_late=counts.late,
        lapsed=counts.lapsed,
        open=counts.open,
        on_time_pct=counts.on_time_pct,
    )


def _message_id(row: PublishedSummary, staff_id: str) -> str:
    """The same for every attempt, so a receiving system can tell a resend from a new mail."""
    key = f"{row.scope_kind}/{row.scope_id}/{row.week}/{staff_id}"
    return f"<summary.{hashlib.sha256(key.encode()).hexdigest()[:32]}@followup>"
