"""Purging old rows (services/retention.py purge_expired): resolved dead letters after their
retention, `dead` ones after a longer one, sent outbox rows and sent deliveries of sent digests
after theirs; recent rows, unsent rows and the audit trail are kept. On SQLite and PostgreSQL,
with the time given, not read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from schemas.tables import AuditEntry, DeadLetter, Delivery, Digest, TrackingEvent
from services.platform.audit_trail import AuditRecord, append_audit, verify_chain
from services.platform.retention import purge_expired
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings

pytestmark = pytest.mark.integration

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def letter(status: str, received_days_ago: float) -> DeadLetter:
    return DeadLetter(
        origin="publish",
        line=1,
        reason=f"{status} {received_days_ago}",
        raw="{",
        status=status,
        received_at=ago(received_days_ago),
    )


def outbox(event_id: str, state: str, sent_days_ago: float | None) -> TrackingEvent:
    return TrackingEvent(
        event_id=event_id,
        type="obligation-lapsed",
        payload="{}",
        state=state,
        next_attempt_at=ago(400),
        created_at=ago(400),
        sent_at=None if sent_days_ago is None else ago(sent_days_ago),
    )


async def letters(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(DeadLetter.reason).order_by(col(DeadLetter.id)))
        return list(rows.scalars())


async def setup(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add_all(
            [
                letter("replayed", 120),  # resolved, older than 90 days: goes
                letter("discarded", 91),  # goes
                letter("replayed", 10),  # resolved but recent: stays
                letter("dead", 120),  # nobody has looked at it: stays until 365 days
                letter("dead", 400),  # goes
                outbox("sent-old", "sent", 31),
                outbox("sent-recent", "sent", 5),
                outbox("pending-old", "pending", None),  # never sent: never purged
            ]
        )
        sent = Digest(recipient="S1", slot=ago(60), created_at=ago(60), state="sent")
        waiting = Digest(recipient="S2", slot=ago(60), created_at=ago(60), state="pending")
        session.add_all([sent, waiting])
        await session.flush()
        session.add_all(
            [
                Delivery(digest_id=sent.id, channel="email", state="sent", sent_at=ago(40),
                         next_attempt_at=ago(60)),  # goes
                Delivery(digest_id=sent.id, channel="webhook", state="sent", sent_at=ago(2),
                         next_attempt_at=ago(60)),  # recent: stays
                # Its digest still waits for the webhook: kept until the digest is sent.
                Delivery(digest_id=waiting.id, channel="email", state="sent", sent_at=ago(40),
                         next_attempt_at=ago(60)),
                Delivery(digest_id=waiting.id, channel="webhook", state="pending",
                         next_attempt_at=ago(60)),
            ]
        )  # fmt: skip
        await append_audit(
            session=session,
            records=[
                AuditRecord(
                    entity="alert",
                    entity_id=str(n),
                    action="sent",
                    actor="alerts",
                    caused_by=f"digest:{sent.id}",
                    detail={"n": n},
                )
                for n in range(5)
            ],
            at=ago(500),
        )


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> Runtime:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=database_url)  # type: ignore[call-arg]
    async with open_runtime(settings) as opened:
        await setup(opened)
        yield opened


async def test_old_resolved_rows_go_and_the_rest_stays(runtime: Runtime) -> None:
    purged = await purge_expired(
        sessions=runtime.sessions, settings=runtime.settings, now=NOW, batch=1
    )

    assert purged == {
        "dead_letters_resolved": 2,
        "dead_letters_dead": 1,
        "tracking_outbox_sent": 1,
        "deliveries_sent": 1,
    }
    assert await letters(runtime) == ["replayed 10", "dead 120"]
    async with runtime.sessions() as session:
        events = await session.execute(select(TrackingEvent.event_id).order_by("event_id"))
        assert list(events.scalars()) == ["pending-old", "sent-recent"]
        deliveries = await session.execute(
            select(Delivery.digest_id, Delivery.channel, Delivery.state).order_by(col(Delivery.id))
        )
        assert [(channel, state) for _, channel, state in deliveries] == [
            ("webhook", "sent"),
            ("email", "sent"),
            ("webhook", "pending"),
        ]
        assert await session.scalar(select(func.count()).select_from(Digest)) == 2
        # The audit trail is never purged, however old: all five entries, chain intact.
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 5
        check = await verify_chain(session=session)
    assert check.ok


async def test_the_retention_settings_decide_and_zero_keeps_forever(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(
        update={
            "dead_letter_retention_days": 5,
            "dead_letter_unresolved_retention_days": 0,
            "outbox_retention_days": 0,
        }
    )

    purged = await purge_expired(sessions=runtime.sessions, settings=settings, now=NOW)

    assert purged == {"dead_letters_resolved": 3}
    assert await letters(runtime) == ["dead 120", "dead 400"]
