"""The dead-letter store: what could not be accepted, why, and what became of it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events import EventRejected, parse_event
from schemas import bulk
from schemas.tables import DeadLetter
from services.platform.broker.streams import publish_entries
from services.platform.runtime import Runtime
from services.tracker.conflicts import Conflict, canonical, differences

CONFLICT = "conflict"  # the origin of a conflicting duplicate's dead letter

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


async def add_dead_letters(
    *, session: AsyncSession, letters: Sequence[DeadLetter], now: datetime
) -> None:
    """Store dead letters, stamped as received `now`."""
    for letter in letters:
        letter.received_at = now
    session.add_all(letters)
    await session.flush()


def letter_of(conflict: Conflict) -> DeadLetter:
    received, standing = conflict.received, conflict.standing
    where = "an event stored before" if conflict.stored_before else "an earlier event of its batch"
    return DeadLetter(
        origin=CONFLICT,
        event_source=received.source,
        event_id=received.id,
        field=", ".join(differences(standing, received)) or None,
        reason=f"same source and id as {where}, other content: that one stands, this one "
        "changed nothing",
        raw=canonical(received),
        stored=canonical(standing),
    )


async def keep_conflicts(
    *, session: AsyncSession, conflicts: Sequence[Conflict], now: datetime
) -> int:
    """Add a dead letter for each conflicting content not kept before under its key (entries
    are delivered at least once: a redelivered conflict is kept once); how many were added."""
    if not conflicts:
        return 0
    query = "SELECT event_source, event_id, raw, origin FROM dead_letters"
    keys = [(c.received.source, c.received.id) for c in conflicts]
    rows = await bulk.select_where(session, query, bulk.PairsIn("event_source", "event_id", keys))
    kept = {(s, i, raw) for s, i, raw, origin in rows if origin == CONFLICT}
    letters = []
    for conflict in conflicts:
        letter = letter_of(conflict)
        mark = (letter.event_source, letter.event_id, letter.raw)
        if mark not in kept:
            kept.add(mark)
            letters.append(letter)
    await add_dead_letters(session=session, letters=letters, now=now)
    return len(letters)


@dataclass(slots=True)
class ReplayReport:
    replayed: list[int] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)  # still invalid: the reason
    skipped: dict[int, str] = field(default_factory=dict)  # not in the store as dead


async def replay_dead_letters(
    *, runtime: Runtime, redis: Redis, ids: Sequence[int] | None
) -> ReplayReport:
    """Validate each dead letter again (after a fix) and publish the ones that now pass.

    Effects stay exactly-once: a replayed event that was in fact applied before, or is
    replayed twice, is a duplicate by (source, id) and changes nothing.
    """
    report = ReplayReport()
    async with runtime.sessions() as session:
        if ids is None:
            letters = await list_dead_letters(session=session, status="dead", limit=100_000)
        else:
            letters = await get_dead_letters(session=session, ids=ids)
    found = {letter.id for letter in letters}
    report.skipped.update({i: "no such dead letter" for i in ids or () if i not in found})
    payloads: list[bytes] = []
    for letter in letters:
        assert letter.id is not None
        if letter.status != "dead":
            report.skipped[letter.id] = f"already {letter.status}"
            continue
        if (why := unreplayable(letter)) is not None:
            report.skipped[letter.id] = why
            continue
        try:
            parse_event(letter.raw, ratings=runtime.settings.ratings)
        except EventRejected as rejected:
            report.rejected[letter.id] = str(rejected)
            continue
        payloads.append(letter.raw.encode())
        report.replayed.append(letter.id)
    await publish_entries(redis, stream=runtime.settings.events_stream, payloads=payloads)
    async with runtime.sessions() as session, session.begin():
        await set_status(session=session, ids=report.replayed, status="replayed")
    return report
