"""What a forger with superuser access does to the audit trail, for the tests that must catch
it: recompute every hash from an edited entry onward."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import AuditEntry
from services.platform.audit_trail import GENESIS, entry_hash


async def rehash_from(session: AsyncSession, seq: int) -> None:
    """Recompute every hash from entry `seq` onward (the triggers already switched off)."""
    statement = select(AuditEntry).order_by(col(AuditEntry.seq))
    rows = (await session.execute(statement.execution_options(populate_existing=True))).scalars()
    prev = GENESIS
    for row in rows.all():
        if row.seq < seq:
            prev = row.hash
            continue
        digest = entry_hash(
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
        await session.execute(
            text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": digest, "s": row.seq},
        )
        prev = digest
    session.expire_all()
