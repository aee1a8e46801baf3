"""The audit trail: the one function every flow calls to record a change, and its check.

Each entry's hash covers its own fields and the previous entry's hash, so altering, removing or
reordering any stored row breaks every hash after it, and `verify_chain` names the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas import bulk
from schemas.db import dialect_of
from schemas.tables import AuditEntry

GENESIS = "0" * 64
# Any constant: serialises appenders on PostgreSQL so the chain never forks.
_CHAIN_LOCK_ID = 0x61756474  # "audt"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to which thing, and the event (`source#id`) or clock tick that caused it."""

    entity: str
    entity_id: str
    action: str
    actor: str
    caused_by: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChainCheck:
    entries: int
    # The last entry's hash: an inspector who records it can later tell whether entries were
    # appended or the tail cut off, which no chain can show by itself.
    head: str = GENESIS
    first_broken: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


# Built once: json.dumps makes a new encoder on every call given other than its defaults, which
# cost about as much as encoding an audit entry's few fields.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    entity: str,
    entity_id: str,
    action: str,
    actor: str,
    caused_by: str,
    recorded_at: datetime,
    detail: str,
) -> str:
    return _digest(
        prev_hash, [seq, entity, entity_id, action, actor, caused_by, _instant(recorded_at), detail]
    )


def _digest(prev_hash: str, fields: list[Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(fields)}".encode()).hexdigest()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def append_audit(
    *, session: AsyncSession, records: Sequence[AuditRecord], at: datetime
) -> None:
    """Append records in order, inside the caller's transaction: they commit with the change
    they describe or not at all."""
    if not records:
        return
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
    head = await bulk.run(session, "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
    seq, prev = (int(head[0][0]), str(head[0][1])) if head else (0, GENESIS)
    instant = _instant(at)  # the batch's one timestamp, as every hash of it covers it
    rows = []
    for record in records:
        seq += 1
        detail = canonical(dict(record.detail))
        fields = [seq, record.entity, record.entity_id, record.action, record.actor]
        fields += [record.caused_by, instant, detail]
        digest = _digest(prev, fields)
        rows.append(
            {
                "seq": seq,
                "entity": record.entity,
                "entity_id": record.entity_id,
                "action": record.action,
                "actor": record.actor,
                "caused_by": record.caused_by,
                "recorded_at": at,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    await bulk.write(session, AuditEntry, rows)


async def verify_chain(
    *, session: AsyncSession, page: int = 5000, after: tuple[int, str] | None = None
) -> ChainCheck:
    """Recompute every hash in order; the first entry that does not match is named.
    `after` (seq, hash): start after that entry, taking its hash as known good (a signed
    checkpoint's head, already checked against the stored entry)."""
    prev, expected_seq, count = GENESIS, 1, 0
    if after is not None:
        count, prev = after
        expected_seq = count + 1
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(col(AuditEntry.seq) >= expected_seq)
                    .order_by(col(AuditEntry.seq))
                    .limit(page)
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            problem = _problem(row, prev=prev, expected_seq=expected_seq)
            if problem:
                return ChainCheck(entries=count, head=prev, first_broken=row.seq, reason=problem)
            prev, expected_seq, count = row.hash, row.seq + 1, count + 1
        if len(rows) < page:
            return ChainCheck(entries=count, head=prev)


def _problem(row: AuditEntry, *, prev: str, expected_seq: int) -> str | None:
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (next stored entry is {row.seq})"
    if row.prev_hash != prev:
        return "its previous-hash does not match the entry before it"
    recomputed = entry_hash(
        prev_hash=prev,
        seq=row.seq,
        entity=row.entity,
        entity_id=row.entity_id,
        action=row.action,
        actor=row.actor,
        caused_by=row.caused_by,
        recorded_at=row.recorded_at,
        detail=row.detail,
    )
    if recomputed != row.hash:
        return "its content does not match its hash (the entry was altered)"
    return None
