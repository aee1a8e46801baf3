"""A clock catching up after a bulk load reads tens of thousands of obligations by id in one
statement: more than SQLite allows variables in a statement (32,766 by default, 250,000
in Debian's build) and asyncpg parameters (32,767)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from services.alerts.clock import store
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings

pytestmark = pytest.mark.integration
MANY = 260_000


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as opened:
        yield opened


async def test_the_lapse_store_reads_more_ids_than_a_statement_has_variables(
    runtime: Runtime,
) -> None:
    ids = [f"victim-letter/U{n}/V1" for n in range(MANY)]
    now = datetime(2024, 1, 9, tzinfo=UTC)
    async with runtime.sessions() as session:
        assert await store.open_by_id(session=session, ids=ids) == []
        assert (
            await store.alarmed(session=session, keys=[(i, date(2024, 1, 8)) for i in ids]) == set()
        )
        held = await store.holds(session=session, ids=ids, now=now)
        assert (held.acknowledged, held.snoozed) == (set(), {})
