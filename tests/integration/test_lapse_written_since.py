"""The lapse clock's look at obligations written since the last one (real databases): each look
reads the last seconds of writes again, and only rows not seen in that state come back whole."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.alerts.clock.store import written_since
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.rules.model import ObligationDraft
from services.tracker.store import save_obligations

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def draft(n: int, *, state: str = "open", due: date = date(2026, 3, 20)) -> ObligationDraft:
    return ObligationDraft(
        id=f"victim-letter/U{n}/V1",
        rule="victim-letter",
        key=f"U{n}/V1",
        urn=f"U{n}",
        owner="P-1",
        area="thames-and-chiltern",
        opened_by=f"e{n}",
        due=due,
        state=state,  # type: ignore[arg-type]
        closed_on=None,
        explanation="test",
    )


async def test_only_rows_not_seen_in_their_state_come_back(settings: Settings) -> None:
    horizon = date(2026, 4, 30)
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session, session.begin():
            await save_obligations(session=session, drafts=[draft(n) for n in range(3)], now=T0)
            # Due beyond the horizon and still open: the clock has nothing to say about it yet.
            await save_obligations(session=session, drafts=[draft(9, due=date(2027, 1, 1))], now=T0)

        async def look(seen: dict[str, object]) -> tuple[list[str], dict[str, object]]:
            async with runtime.sessions() as session, session.begin():
                found = await written_since(
                    session=session, since=T0 - timedelta(seconds=10), horizon=horizon, seen=seen
                )
            return sorted(row.id for row in found.fresh), found.stamps

        first, stamps = await look({})
        assert first == [f"victim-letter/U{n}/V1" for n in range(3)]
        assert sorted(stamps) == first

        again, same = await look(stamps)
        assert again == [] and same == stamps  # read again, nothing new

        async with runtime.sessions() as session, session.begin():
            met = draft(1, state="met")
            await save_obligations(session=session, drafts=[met], now=T0 + timedelta(seconds=1))
        changed, _ = await look(stamps)
        assert changed == ["victim-letter/U1/V1"]
        async with runtime.sessions() as session, session.begin():
            found = await written_since(
                session=session, since=T0 - timedelta(seconds=10), horizon=horizon, seen=stamps
            )
        [row] = found.fresh
        assert (row.state, row.due) == ("met", date(2026, 3, 20))  # the whole row, typed

        after, _ = await look({})
        assert after == first  # nothing seen (a restart): everything in the window
