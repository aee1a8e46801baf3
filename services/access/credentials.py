"""Secrets people and systems present (sign-in links, sessions, API tokens, calendar feeds),
kept only as their SHA-256: a stolen database holds nothing that signs anyone in
(docs/contract.md section 12)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlmodel import col

from schemas.tables import Credential

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

Kind = Literal["sign-in-link", "session", "api-token", "calendar-feed"]
# Readable in logs and secret scanners: what a leaked string is, at a glance.
PREFIXES: dict[str, str] = {
    "sign-in-link": "ful_",
    "session": "fus_",
    "api-token": "fut_",
    "calendar-feed": "fuc_",
}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue(
    *,
    session: AsyncSession,
    kind: Kind,
    scope: str,
    now: datetime,
    expires_at: datetime | None,
    staff_id: str | None = None,
    system: str | None = None,
    label: str = "",
    csrf: bool = False,
) -> tuple[str, Credential]:
    """A new secret, returned once: only its hash is stored."""
    secret = PREFIXES[kind] + secrets.token_urlsafe(32)
    row = Credential(
        secret_hash=hash_secret(secret),
        kind=kind,
        staff_id=staff_id,
        system=system,
        scope=scope,
        label=label,
        csrf=secrets.token_urlsafe(24) if csrf else None,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return secret, row


async def find_live(
    *, session: AsyncSession, secret: str, kinds: tuple[Kind, ...], now: datetime
) -> Credential | None:
    """The credential behind a secret, unless unknown, of another kind, revoked, expired or
    (a sign-in link) already used."""
    if not secret or len(secret) > 200:
        return None
    row = (
        await session.execute(
            select(Credential).where(col(Credential.secret_hash) == hash_secret(secret))
        )
    ).scalar_one_or_none()
    if row is None or row.kind not in kinds or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.kind == "sign-in-link" and row.used_at is not None:
        return None
    return row


async def revoke(
    *, session: AsyncSession, credential_id: int, now: datetime, staff_id: str | None = None
) -> Credential | None:
    """Revoke one credential (`staff_id`: only if it is theirs); None when there is no such."""
    row = await session.get(Credential, credential_id)
    if row is None or (staff_id is not None and row.staff_id != staff_id):
        return None
    if row.revoked_at is None:
        row.revoked_at = now
    return row


async def list_credentials(
    *, session: AsyncSession, kinds: tuple[Kind, ...], staff_id: str | None = None
) -> list[Credential]:
    statement = select(Credential).where(col(Credential.kind).in_(kinds))
    if staff_id is not None:
        statement = statement.where(col(Credential.staff_id) == staff_id)
    return list((await session.execute(statement.order_by(col(Credential.id)))).scalars())
