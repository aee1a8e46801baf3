"""Serialise workers that touch the same tracked things (PostgreSQL advisory locks).

Each batch transaction locks every track, case and link it reads before it reads them, so two
workers never derive the same obligations from different snapshots. Locks are taken in sorted
order; one found later (a case's other tracks) may deadlock with another worker, which
PostgreSQL detects and the consumer retries. SQLite has a single writer and needs none of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.db import dialect_of
from services.rules.ledger import TrackState
from services.rules.model import Fact

_LOCK = text(
    "SELECT pg_advisory_xact_lock(k) "
    "FROM (SELECT unnest(CAST(:ids AS bigint[])) AS k ORDER BY k) AS ordered"
)


def lock_id(name: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


async def lock(session: AsyncSession, names: Iterable[str]) -> None:
    if dialect_of(session) != "postgresql":
        return
    if ids := sorted({lock_id(name) for name in names}):
        await session.execute(_LOCK, {"ids": ids})


def names_of_facts(facts: Iterable[Fact]) -> set[str]:
    return {f"u:{urn}" for f in facts if isinstance(urn := f.data.get("urn"), str)}


def names_of_tracks(tracks: Iterable[TrackState]) -> set[str]:
    names: set[str] = set()
    for track in tracks:
        names.add(f"t:{track.rule}:{track.key}")
        if track.link:
            names.add(f"l:{track.rule}:{track.link}")
        names |= names_of_facts(track.facts)
        if track.urn:
            names.add(f"u:{track.urn}")
    return names
