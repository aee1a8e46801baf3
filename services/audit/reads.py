"""Reading audit data is itself on the audit trail (docs/contract.md section 12, "Area and
inspection pages"): who read which inspection's follow-up, and how, through the one audit
writer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.platform.audit_trail import AuditRecord, append_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

ENTITY = "audit-report"


async def record_read(
    *,
    session: AsyncSession,
    inspection_id: str,
    actor: str,
    via: str,
    at: datetime,
    fmt: str | None = None,
) -> None:
    """`actor`: a staff id, `system:NAME` or `os:USER`; `via`: what read it (`http GET
    /inspections/X/report`, `cli audit report`). Inside the caller's transaction."""
    detail = {"format": fmt} if fmt else {}
    await append_audit(
        session=session,
        records=[
            AuditRecord(
                entity=ENTITY,
                entity_id=inspection_id,
                action="read",
                actor=actor,
                caused_by=via,
                detail=detail,
            )
        ],
        at=at,
    )
