"""On SQLite the tracker looks up which events are stored, then inserts the rest without
RETURNING (services/tracker/store.py). An event another process stores between the lookup and
the insert must fail the batch on the key, never be applied twice (real SQLite files, two
engines as two processes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from schemas import bulk
from schemas.tables import AuditEntry, Obligation, ReceivedEvent
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import BatchOutcome, apply_entries
from tests.factories import letter_due

pytestmark = pytest.mark.integration


async def apply(runtime: Runtime, *events: Mapping[str, Any]) -> BatchOutcome:
    entries = [
        (f"{n}-0".encode(), {ENTRY_FIELD: json.dumps(e).encode()}) for n, e in enumerate(events, 1)
    ]
    return await apply_entries(
        sessions=runtime.sessions,
        entries=entries,
        rules=runtime.rules,
        calendar=runtime.calendar,
        today=runtime.today(),
    )


async def test_an_event_stored_after_the_lookup_fails_the_batch_and_is_applied_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    raced = letter_due("2018-02-01", victim_id="V1")
    other = letter_due("2018-02-02", victim_id="V2")
    async with open_runtime(settings) as first, open_runtime(settings) as second:
        real = bulk.select_where

        async def blind(session: Any, query: str, *conditions: Any) -> list[Any]:
            # The lookup ran before the first process stored `raced`.
            if "FROM events_received" in query:
                return []
            return await real(session, query, *conditions)

        await apply(first, raced)
        monkeypatch.setattr(bulk, "select_where", blind)
        with pytest.raises(IntegrityError):
            await apply(second, raced, other)
        monkeypatch.undo()
        outcome = await apply(second, raced, other)  # the consumer applies the batch again
        async with second.sessions() as session:
            received = await session.scalar(select(func.count()).select_from(ReceivedEvent))
            obligations = (await session.execute(select(Obligation.id))).scalars().all()
            opened = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity == "obligation", AuditEntry.action == "opened")
            )
    assert (outcome.received, outcome.duplicates) == (1, 1)
    assert received == 2
    assert len(obligations) == len(set(obligations)) == 2
    assert opened == 2
