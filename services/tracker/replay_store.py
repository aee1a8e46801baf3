"""Data access for `followup replay`: the recorded events, read in pages (docs/contract.md
section 6, "Added: replay")."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas import bulk
from schemas.tables import ReceivedEvent
from services.rules.model import Fact

PAGE = 5000


async def count_recorded(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0)


async def recorded_facts(*, session: AsyncSession, page: int = PAGE) -> AsyncIterator[list[Fact]]:
    """Every event in `events_received` as its fact (the content that stands for its key), a
    page at a time, by (source, event_id): keyset pages, so the read never restarts."""
    after: tuple[str, str] | None = None
    source, event_id = col(ReceivedEvent.source), col(ReceivedEvent.event_id)
    while True:
        statement = (
            select(source, event_id, col(ReceivedEvent.payload))
            .order_by(source, event_id)
            .limit(page)
        )
        if after is not None:
            statement = statement.where(
                (source > after[0]) | ((source == after[0]) & (event_id > after[1]))
            )
        rows = (await session.execute(statement)).all()
        if not rows:
            return
        yield [Fact.from_json(bulk.json_value(payload)) for _, _, payload in rows]
        after = (rows[-1][0], rows[-1][1])
        if len(rows) < page:
            return
