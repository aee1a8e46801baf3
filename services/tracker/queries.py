"""Read-side queries used by the CLI and the HTTP API."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import DeadLetter, Obligation
from services.rules.model import effective_state


async def list_obligations(
    *,
    session: AsyncSession,
    today: date,
    state: str | None = None,
    rule: str | None = None,
    urn: str | None = None,
) -> list[dict[str, Any]]:
    statement = select(Obligation).order_by(col(Obligation.due), col(Obligation.id))
    if rule:
        statement = statement.where(col(Obligation.rule) == rule)
    if urn:
        statement = statement.where(col(Obligation.urn) == urn)
    if state == "lapsed":
        statement = statement.where(col(Obligation.state) == "open", col(Obligation.due) < today)
    elif state == "open":
        statement = statement.where(col(Obligation.state) == "open", col(Obligation.due) >= today)
    elif state:
        statement = statement.where(col(Obligation.state) == state)
    rows = (await session.execute(statement)).scalars()
    return [obligation_json(row, today) for row in rows]


def obligation_json(row: Obligation, today: date) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "key": row.key,
        "urn": row.urn,
        "owner": row.owner,
        "area": row.area,
        "opened_by": row.opened_by,
        "due": row.due.isoformat(),
        "state": effective_state(row.state, row.due, today),
        "closed_on": row.closed_on.isoformat() if row.closed_on else None,
        "explanation": row.explanation,
    }


async def count_dead_letters(*, session: AsyncSession) -> int:
    statement = select(func.count()).select_from(DeadLetter).where(col(DeadLetter.status) == "dead")
    return int((await session.execute(statement)).scalar_one())
