"""Send what is due: digests for the current slot, each channel's pending deliveries (claimed
with a lease so two processes never send one twice), then the tracking stream.

A failed channel is retried with exponential backoff for as long as it takes: a delivery is
never dropped. The one exception is a recipient whose stored address is not one plain address
(services.platform.mail.AddressRefused): no retry can mend that, so the delivery is failed at
once with the reason, and nobody else waits on it. When every channel of a digest is done, its
alerts are sent if any channel took it (recorded in the audit trail, `alert-sent` put on the
tracking stream), undeliverable if none did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from events.outbound import ALERTS_SOURCE, AlertSent, outbound_event
from schemas.db import claim_lock
from schemas.tables import Alert, Delivery, Digest, StaffMember
from services.alerts.clock.hours import WorkingHours
from services.alerts.clock.raise_alarms import Context
from services.alerts.delivery.channels import post_webhook
from services.alerts.delivery.digest_view import LinkMaker
from services.alerts.delivery.digests import alert_audit, gather
from services.alerts.delivery.particulars import Particulars, load_particulars
from services.alerts.delivery.rendering import Line, render_email, render_webhook
from services.platform.audit_trail import append_audit
from services.platform.mail import AddressRefused, send_email
from services.platform.outbox import add_events, backoff
from services.platform.settings import Settings

log = logging.getLogger("followup.alerts.delivery")
LEASE = timedelta(minutes=2)  # a claimed delivery whose sender died is tried again after this


@dataclass(slots=True)
class DeliveryReport:
    digests: int = 0
    sent: int = 0
    failed: int = 0


class Deliverer:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        hours: WorkingHours,
        now: Callable[[], datetime],
        context: Context | None = None,
        links: LinkMaker | None = None,
    ) -> None:
        """`context`: the rules, calendar and reminder interval the digest email describes
        each obligation by (without it, items name their rule id only); `links`: each item's
        links (open, acknowledge, snooze), none without it."""
        self.sessions, self.settings, self.hours, self.now = sessions, settings, hours, now
        self.context, self.links = context, links
        self.channels = ("email", "webhook") if settings.alert_webhook_url else ("email",)

    async def deliver(self) -> DeliveryReport:
        now = self.now()
        report = DeliveryReport()
        slot = self.hours.current_slot(now)
        if slot is not None:  # outside working hours alerts are held, never dropped
            async with self.sessions() as session, session.begin():
                made = await gather(
                    session=session, slot=slot, now=now, hours=self.hours, channels=self.channels
                )
            report.digests = len(made)
        for delivery_id in await self._claim(now):
            if await self._send(delivery_id, now):
                report.sent += 1
            else:
                report.failed += 1
        return report

    async def _claim(self, now: datetime) -> list[int]:
        async with self.sessions() as session, session.begin():
            await claim_lock(session, Delivery)
            rows = list(
                (
                    await session.execute(
                        select(Delivery)
                        .where(
                            col(Delivery.state) == "pending",
                            col(Delivery.next_attempt_at) <= now,
                        )
                        .order_by(col(Delivery.id))
                        .limit(100)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + LEASE
            return [row.id for row in rows if row.id is not None]

    async def _send(self, delivery_id: int, now: datetime) -> bool:
        async with self.sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            digest = await session.get(Digest, delivery.digest_id)
            assert digest is not None
            alerts = await _alerts_of(session, digest.id)
            person = await session.get(StaffMember, digest.recipient)
            email = delivery.channel == "email"
            about = await self._particulars(session, alerts, now) if email else {}
        lines = [
            Line(a.id or 0, a.obligation_ref, a.rule, a.urn, a.due, a.level, a.reason)
            for a in alerts
        ]
        try:
            if delivery.channel == "email":
                if person is None or not person.email:
                    raise LookupError(f"no email address on record for {digest.recipient}")
                await send_email(
                    settings=self.settings,
                    email=render_email(
                        digest_id=digest.id or 0,
                        recipient=digest.recipient,
                        address=person.email,
                        slot=digest.slot,
                        lines=lines,
                        recipient_name=person.name,
                        particulars=about,
                        now=now,
                        links=self.links,
                    ),
                )
            else:
                assert self.settings.alert_webhook_url
                await post_webhook(
                    url=self.settings.alert_webhook_url,
                    body=render_webhook(
                        digest_id=digest.id or 0,
                        recipient=digest.recipient,
                        slot=digest.slot,
                        lines=lines,
                    ),
                )
        except AddressRefused as error:  # final: no retry makes it one plain address
            await self._refused(delivery_id, digest.recipient, error, now)
            return False
        except Exception as error:  # any other failure: keep it, try again later
            await self._failed(delivery_id, delivery.attempts, error, now)
            return False
        await self._sent(delivery_id, now)
        return True

    async def _particulars(
        self, session: AsyncSession, alerts: list[Alert], now: datetime
    ) -> dict[str, Particulars]:
        """By obligation reference, as the digest's lines name obligations."""
        if self.context is None:
            return {}
        found = await load_particulars(
            session=session,
            obligation_ids={a.obligation_id for a in alerts},
            rules=self.context.rules,
            calendar=self.context.calendar,
            now=now,
            repeat_days=self.context.repeat_days,
        )
        return {
            a.obligation_ref: found[a.obligation_id] for a in alerts if a.obligation_id in found
        }

    async def _failed(
        self, delivery_id: int, attempts: int, error: Exception, now: datetime
    ) -> None:
        wait = backoff(
            attempts,
            timedelta(seconds=self.settings.alert_retry_seconds),
            timedelta(seconds=self.settings.alert_retry_max_seconds),
        )
        async with self.sessions() as session, session.begin():
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.next_attempt_at = now + wait
            delivery.last_error = f"{type(error).__name__}: {error}"[:500]
        log.warning(
            "alert delivery failed; will retry",
            extra={
                "delivery_id": delivery_id,
                "channel": delivery.channel,
                "attempts": attempts,
                "retry_in_seconds": wait.total_seconds(),
                "error": type(error).__name__,
            },
        )

    async def _refused(
        self, delivery_id: int, recipient: str, error: AddressRefused, now: datetime
    ) -> None:
        reason = f"address refused: {error}"
        async with self.sessions() as session, session.begin():
            delivery = await session.get(Delivery, delivery_id, with_for_update=True)
            assert delivery is not None
            delivery.state, delivery.last_error = "failed", reason[:500]
            await session.flush()
            alerts = await _alerts_of(session, delivery.digest_id)
            detail = {"recipient": recipient, "channel": delivery.channel, "reason": reason}
            await append_audit(
                session=session,
                records=[
                    alert_audit(
                        a,
                        action="undeliverable",
                        caused_by=f"digest:{delivery.digest_id}",
                        detail=detail,
                    )
                    for a in alerts
                ],
                at=now,
            )
            await _settle(session, delivery.digest_id, now)
        log.error(
            "alert delivery refused; not retried",
            extra={
                "delivery_id": delivery_id,
                "digest_id": delivery.digest_id,
                "recipient": recipient,
                "channel": delivery.channel,
                "reason": reason,
            },
        )

    async def _sent(self, delivery_id: int, now: datetime) -> None:
        async with self.sessions() as session, session.begin():
            delivery = await session.get(Delivery, delivery_id, with_for_update=True)
            assert delivery is not None
            delivery.state, delivery.sent_at = "sent", now
            await session.flush()
            await _settle(session, delivery.digest_id, now)


async def _settle(session: AsyncSession, digest_id: int, now: datetime) -> None:
    """Once no channel of the digest is pending: sent on the channels that took it, or, if
    none did (every one refused), undeliverable. The digest is locked before its deliveries
    are read, so of two channels finishing at once the second sees the first."""
    digest = await session.get(Digest, digest_id, with_for_update=True)
    assert digest is not None and digest.id is not None
    if digest.state != "pending":
        return
    deliveries = (
        await session.execute(select(Delivery).where(col(Delivery.digest_id) == digest_id))
    ).scalars()
    channels = []
    for delivery in deliveries:
        if delivery.state == "pending":
            return
        if delivery.state == "sent":
            channels.append(delivery.channel)
    if channels:
        digest.state, digest.sent_at = "sent", now
        await _mark_sent(session, digest.id, sorted(channels), now)
        return
    digest.state = "failed"
    for alert in await _alerts_of(session, digest.id):
        alert.state = "undeliverable"


async def _alerts_of(session: AsyncSession, digest_id: int | None) -> list[Alert]:
    statement = select(Alert).where(col(Alert.digest_id) == digest_id).order_by(col(Alert.id))
    return list((await session.execute(statement)).scalars())


async def _mark_sent(
    session: AsyncSession, digest_id: int, channels: list[str], now: datetime
) -> None:
    alerts = await _alerts_of(session, digest_id)
    for alert in alerts:
        alert.state, alert.sent_at = "sent", now
    await append_audit(
        session=session,
        records=[
            alert_audit(
                a,
                action="sent",
                caused_by=f"digest:{digest_id}",
                detail={"recipient": a.recipient, "level": a.level, "channels": channels},
            )
            for a in alerts
        ],
        at=now,
    )
    events = [
        outbound_event(
            event_id=f"alert-sent:{a.id}",
            source=ALERTS_SOURCE,
            time=now,
            data=AlertSent(
                alert_id=a.id or 0,
                obligation_ref=a.obligation_ref,
                rule=a.rule,
                urn=a.urn,
                level=a.level,
                recipient=a.recipient,
                digest_id=digest_id,
                channels=channels,
                sent_at=now,
            ),
        )
        for a in alerts
    ]
    await add_events(session=session, events=events, now=now)
