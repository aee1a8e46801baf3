"""Signing in by an emailed one-time link (docs/contract.md section 12, "Sign-in"): the link is
single use and lasts 15 minutes; following it opens a page whose button (a POST) starts a
browser session, so a mail scanner that fetches the link uses nothing up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from services.access.credentials import find_live, issue, revoke
from services.access.people import load_person, person_by_email
from services.platform.audit_trail import AuditRecord, append_audit
from services.platform.mail import Email
from services.platform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

LINK_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str
    staff_id: str
    expires_at: datetime


async def request_link(
    *, session: AsyncSession, settings: Settings, email: str, now: datetime, today: date
) -> Email | None:
    """The message to send, or None when nobody current has that address (the page says the
    same either way, so it cannot be used to find out who works here)."""
    person = await person_by_email(session=session, email=email.strip())
    if person is None or person.has_left(today):
        return None
    secret, _ = await issue(
        session=session,
        kind="sign-in-link",
        scope="staff",
        now=now,
        expires_at=now + LINK_LIFETIME,
        staff_id=person.staff_id,
    )
    url = f"{settings.base_url()}/sign-in/{secret}"
    return Email(
        to=person.email,
        subject="Sign in to Followup",
        text=(
            f"Hello {person.name},\n\nOpen this link to sign in to Followup. It works once, "
            f"for 15 minutes:\n\n{url}\n\nIf you did not ask to sign in, ignore this message.\n"
        ),
    )


async def complete_sign_in(
    *, session: AsyncSession, settings: Settings, secret: str, now: datetime, today: date
) -> NewSession | None:
    """Use up a sign-in link and start a session; None for a used, expired or unknown link,
    or a person who has left since it was sent."""
    link = await find_live(session=session, secret=secret, kinds=("sign-in-link",), now=now)
    if link is None or link.staff_id is None:
        return None
    person = await load_person(session=session, staff_id=link.staff_id)
    if person is None or person.has_left(today):
        return None
    link.used_at = now
    expires_at = now + timedelta(hours=settings.session_hours)
    session_secret, row = await issue(
        session=session,
        kind="session",
        scope="staff",
        now=now,
        expires_at=expires_at,
        staff_id=person.staff_id,
        csrf=True,
    )
    await append_audit(
        session=session,
        records=[
            AuditRecord(
                entity="staff",
                entity_id=person.staff_id,
                action="signed-in",
                actor=person.staff_id,
                caused_by=f"credential:{link.id}",
                detail={"session": row.id},
            )
        ],
        at=now,
    )
    return NewSession(session_secret, person.staff_id, expires_at)


async def end_session(*, session: AsyncSession, credential_id: int, now: datetime) -> None:
    await revoke(session=session, credential_id=credential_id, now=now)
