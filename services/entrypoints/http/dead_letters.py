"""GET /dead-letters and /dead-letters/{id}: what could not be accepted, with the reason, as
`followup dead-letters list` and `show --json` give it; for HQ and systems' read tokens
(docs/contract.md section 12, "Area and inspection pages")."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Query

from services.access.principal import Principal
from services.entrypoints.http.auth import Caller
from services.entrypoints.http.models import RowId
from services.platform.runtime import Runtime
from services.tracker.dead_letters import (
    STATUSES,
    dead_letter_json,
    get_dead_letters,
    list_dead_letters,
)

MOST = 1000


def _national(caller: Principal) -> None:
    # Dead letters hold raw input of every Area: only a national reader sees them.
    if not caller.scope.national:
        raise HTTPException(status_code=403, detail="dead letters are for HQ and read tokens")


def add_dead_letter_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/dead-letters")
    async def dead_letters(
        caller: Caller,
        status: str = Query(default="dead", description="dead, replayed, discarded or all"),
        limit: int = Query(default=100, ge=1, le=MOST),
    ) -> list[dict[str, Any]]:
        _national(caller)
        if status != "all" and status not in STATUSES:
            raise HTTPException(
                status_code=400, detail=f"status is one of {', '.join(STATUSES)} or all"
            )
        async with runtime.sessions() as session:
            found = await list_dead_letters(
                session=session, status=None if status == "all" else status, limit=limit
            )
        return [dead_letter_json(letter) for letter in found]

    @api.get("/dead-letters/{letter_id}")
    async def dead_letter(caller: Caller, letter_id: RowId) -> dict[str, Any]:
        """One of them with the raw input (a conflict's: and the stored content)."""
        _national(caller)
        async with runtime.sessions() as session:
            found = await get_dead_letters(session=session, ids=[letter_id])
        if not found:
            raise HTTPException(status_code=404, detail=f"no dead letter {letter_id}")
        return dead_letter_json(found[0], raw=True)
