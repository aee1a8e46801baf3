"""`followup audit verify` as data: the chain recomputed, every follow-up row checked against
its audit entry, and the chain checked against a signed checkpoint (docs/contract.md section 8,
"Added")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from schemas.tables import AuditEntry
from services.audit.checkpoints import (
    Checkpoint,
    CheckpointUnreadable,
    check_checkpoint,
    checkpoint_from_json,
    find_checkpoint,
    latest_checkpoint,
)
from services.audit.integrity import check_follow_up_rows, entry_label
from services.audit.report import chain_json, problem_json
from services.platform.audit_key import AuditKeyError, public_key_from_hex, signing_key
from services.platform.audit_trail import verify_chain
from services.platform.settings import Settings


async def verify_all(
    *,
    session: AsyncSession,
    settings: Settings,
    checkpoint_id: int | None = None,
    checkpoint_text: str | None = None,
    public_key: str | None = None,
) -> dict[str, Any]:
    """`ok` only when the chain, every row and the checkpoint (when there is one) hold."""
    chain = await verify_chain(session=session)
    found_chain = chain_json(chain)
    if chain.first_broken is not None:
        broken = await session.get(AuditEntry, chain.first_broken)
        if broken is not None:
            found_chain["entity"] = broken.entity
            found_chain["entity_id"] = broken.entity_id
            found_chain["about"] = await entry_label(
                session=session, entity=broken.entity, entity_id=broken.entity_id
            )
    problems = await check_follow_up_rows(session=session)
    signed = await _checkpoint(session, settings, chain, checkpoint_id, checkpoint_text, public_key)
    ok = chain.ok and not problems and (signed is None or signed["ok"])
    return {
        "ok": ok,
        "chain": found_chain,
        "rows": {"ok": not problems, "problems": [problem_json(p) for p in problems]},
        "checkpoint": signed,
    }


async def _checkpoint(
    session: AsyncSession,
    settings: Settings,
    chain: Any,
    checkpoint_id: int | None,
    checkpoint_text: str | None,
    public_key: str | None,
) -> dict[str, Any] | None:
    named = checkpoint_id is not None or checkpoint_text is not None
    checkpoint: Checkpoint | None
    if checkpoint_text is not None:
        try:
            checkpoint = checkpoint_from_json(checkpoint_text)
        except CheckpointUnreadable as error:
            return _failed(None, [str(error)])
    elif checkpoint_id is not None:
        checkpoint = await find_checkpoint(session=session, checkpoint_id=checkpoint_id)
        if checkpoint is None:
            return _failed(None, [f"no checkpoint {checkpoint_id} is stored"])
    else:
        checkpoint = await latest_checkpoint(session=session)
    if checkpoint is None:
        return None if not named else _failed(None, ["no checkpoint"])
    try:
        public = (
            public_key_from_hex(public_key)
            if public_key
            else signing_key(settings, create=False).public_key()
        )
    except AuditKeyError as error:
        return _failed(checkpoint, [f"cannot check its signature: {error}"])
    check = await check_checkpoint(
        session=session, checkpoint=checkpoint, public=public, chain=chain
    )
    return {**checkpoint.to_json(), "ok": check.ok, "problems": list(check.problems)}


def _failed(checkpoint: Checkpoint | None, problems: list[str]) -> dict[str, Any]:
    shown = checkpoint.to_json() if checkpoint else {"checkpoint_id": None}
    return {**shown, "ok": False, "problems": problems}
