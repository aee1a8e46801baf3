"""The dead-letter store: what could not be accepted, why, and what became of it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import DeadLetter
from services.tracker.conflicts import CONFLICT

STATUSES = ("dead", "replayed", "discarded")


async def list_dead_letters(
    *, session: AsyncSession, status: str | None = "dead", limit: int = 1000
) -> list[DeadLetter]:
    statement = select(DeadLetter).order_by(col(DeadLetter.id)).limit(limit)
    if status:
        statement = statement.where(col(DeadLetter.status) == status)
    return list((await session.execute(statement)).scalars())


async def get_dead_letters(*, session: AsyncSession, ids: Collection[int]) -> list[DeadLetter]:
    statement = select(DeadLetter).where(col(DeadLetter.id).in_(ids)).order_by(col(DeadLetter.id))
    return list((await session.execute(statement)).scalars())


async def set_status(*, session: AsyncSession, ids: Collection[int], status: str) -> None:
    if ids:
        await session.execute(
            update(DeadLetter).where(col(DeadLetter.id).in_(ids)).values(status=status)
        )


def unreplayable(letter: DeadLetter) -> str | None:
    """Why this dead letter cannot be replayed, if it cannot: a conflict's key is stored, so
    its content would be a duplicate again (docs/contract.md, section 1, "Decisions:
    conflicting duplicates")."""
    if letter.origin == CONFLICT:
        return (
            "a conflicting duplicate: its source and id are stored with other content, so "
            "replayed it would change nothing; it is kept to be seen (discard it once looked at)"
        )
    return None


def dead_letter_json(letter: DeadLetter, *, raw: bool = False) -> dict[str, Any]:
    """`raw`: with the input as received (a conflict's, and the stored content as `stored`)."""
    found: dict[str, Any] = {
        "id": letter.id,
        "status": letter.status,
        "origin": letter.origin,
        "line": letter.line,
        "stream_entry_id": letter.stream_entry_id,
        "event_source": letter.event_source,
        "event_id": letter.event_id,
        "field": letter.field,
        "reason": letter.reason,
        "received_at": letter.received_at.isoformat(),
    }
    if raw:
        found["raw"] = letter.raw
        if letter.stored is not None:
            found["stored"] = letter.stored
    return found
