"""Publishing due monthly and quarterly packs: claim each (Area, period) once, email it to
the Area's CCPs and ABMs with the chart, then an audit entry (entity `summary`, id
`area/{area}/{period}`, action `published`). The weekly publisher
(services/summaries/publisher.py) with its own claims and sending: a failure leaves the claim
pending, retried after its lease and skipping recipients who already have it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime

from schemas.tables import PublishedSummary
from services.platform.audit_trail import AuditRecord, append_audit
from services.platform.mail import AddressRefused, Attachment, Email, send_email
from services.rules.calendar import LONDON
from services.summaries import schedule as weekly
from services.summaries.packs import schedule
from services.summaries.packs.build import build_pack
from services.summaries.packs.chart import pack_chart
from services.summaries.packs.model import Pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import pack_html, pack_markdown
from services.summaries.publisher import ACTOR, SummaryPublisher, log


class PackPublisher(SummaryPublisher):
    """One tick claims the packs due and delivers the pending ones; `now` is injected."""

    async def claim_due(self, now: datetime) -> int:
        settings = self.runtime.settings
        async with self.runtime.sessions() as session, session.begin():
            since = await weekly.first_start(session=session, now=now)
        # Never a period that ended before the first start (docs/contract.md, section 9).
        due = schedule.due_periods(
            now=now,
            calendar=self.runtime.calendar,
            working_day=settings.pack_working_day,
            at=settings.pack_time,
            catch_up_months=settings.pack_catch_up_months,
            since=since,
        )
        if not due:
            return 0
        count = 0
        async with self.runtime.sessions() as session, session.begin():
            audiences = await schedule.pack_audiences(session=session)
            known = await schedule.claimed(session=session, periods=[str(d.period) for d in due])
            for audience in audiences:
                for period in due:
                    if (audience.area, str(period.period)) in known:
                        continue
                    count += await schedule.claim(
                        session=session, area=audience.area, due=period, now=now
                    )
        if count:
            log.info("packs due", extra={"claimed": count})
        return count

    async def deliver_pending(self, now: datetime) -> list[str]:
        async with self.runtime.sessions() as session:
            rows = await weekly.pending(session=session, now=now, packs=True)
        return [
            f"{row.scope_kind}/{row.scope_id}/{row.week}"
            for row in rows
            if await self._deliver(row, now)
        ]

    async def _send(self, row: PublishedSummary, now: datetime) -> None:
        assert row.id is not None
        period = PackPeriod.parse(row.week)
        # As of the period's last day: the pack reports the period as it ended.
        as_of = period.end
        async with self.runtime.sessions() as session:
            recipients = await schedule.recipients_of(session=session, area=row.area)
            pack = await build_pack(
                session=session,
                area=row.area,
                period=period,
                as_of=as_of,
                national=self.runtime.settings.trials_national,
            )
        chart, html, text = await asyncio.to_thread(_render, pack)
        picture = Attachment(f"{pack.kind}-{period}.png", chart, "image", "png")
        done = list(row.delivered)
        refused: dict[str, str] = {}
        for person in recipients:
            if person.staff_id in done:
                continue
            try:
                await send_email(
                    settings=self.runtime.settings,
                    email=Email(
                        to=person.email,
                        subject=pack.title,
                        text=text,
                        html=html,
                        attachments=[picture],
                        message_id=_message_id(row, person.staff_id),
                        date=now,
                    ),
                )
            except AddressRefused as error:
                refused[person.staff_id] = f"address refused: {error}"
                continue
            done.append(person.staff_id)
            async with self.runtime.sessions() as session, session.begin():
                await weekly.note_delivered(session=session, row_id=row.id, delivered=done)
        async with self.runtime.sessions() as session, session.begin():
            note = "; ".join(f"{who}: {why}" for who, why in refused.items()) or None
            if not await weekly.mark_sent(session=session, row_id=row.id, now=now, note=note):
                return
            await append_audit(
                session=session,
                records=[
                    AuditRecord(
                        entity="summary",
                        entity_id=f"{row.scope_kind}/{row.scope_id}/{row.week}",
                        action="published",
                        actor=ACTOR,
                        caused_by=f"clock:{row.due_at.astimezone(LONDON).isoformat()}",
                        detail={"recipients": done, "as_of": as_of.isoformat(), "pack": pack.kind}
                        | ({"refused": refused} if refused else {}),
                    )
                ],
                at=now,
            )
        log.info("pack published", extra={"pack": f"{row.scope_id}/{row.week}"})


def _render(pack: Pack) -> tuple[bytes, str, str]:
    chart = pack_chart(pack)
    return chart, pack_html(pack, chart=chart), pack_markdown(pack)


def _message_id(row: PublishedSummary, staff_id: str) -> str:
    key = f"pack/{row.scope_id}/{row.week}/{staff_id}"
    return f"<pack.{hashlib.sha256(key.encode()).hexdigest()[:32]}@followup>"
