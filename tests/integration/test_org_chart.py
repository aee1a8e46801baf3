"""The HTTP service's org chart is read once and again only when the staff table changed
(services/access/people.py), so a change of line or a leaver takes effect at the next request."""

from __future__ import annotations

import json

import pytest

from events import parse_event
from services.access.people import OrgChart
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.factories import event

pytestmark = pytest.mark.integration


def _staff(at: str, staff_id: str, role: str, manager: str | None) -> dict[str, object]:
    return event(
        "staff-updated",
        at,
        staff_id=staff_id,
        name=staff_id,
        email=f"{staff_id.lower()}@x.example",
        role=role,
        area="north",
        unit="u1",
        line_manager=manager,
    )


async def _apply(runtime: Runtime, *raw: dict[str, object]) -> None:
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(e)) for e in raw],  # type: ignore[misc]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=runtime.today(),
            now=runtime.now(),
        )


async def test_the_chart_is_kept_until_staff_change(settings: Settings) -> None:
    async with open_runtime(settings) as runtime:
        t = "2026-01-05T09:00:00+00:00"
        await _apply(
            runtime, _staff(t, "LM", "legal-manager", None), _staff(t, "P1", "prosecutor", "LM")
        )
        chart = OrgChart()
        async with runtime.sessions() as session:
            first = await chart.people(session=session)
            again = await chart.people(session=session)
        assert again is first  # nothing changed: not read again
        assert chart.scope_of(first["LM"]).owners == {"LM", "P1"}
        # P2 joins LM's team: the next reading sees it, and the scope is worked out again.
        await _apply(runtime, _staff("2026-01-06T09:00:00+00:00", "P2", "prosecutor", "LM"))
        async with runtime.sessions() as session:
            changed = await chart.people(session=session)
        assert changed is not first and "P2" in changed
        assert chart.scope_of(changed["LM"]).owners == {"LM", "P1", "P2"}
        # P1 moves to another manager: a later event for a known person, same count.
        await _apply(runtime, _staff("2026-01-07T09:00:00+00:00", "P1", "prosecutor", None))
        async with runtime.sessions() as session:
            moved = await chart.people(session=session)
        assert chart.scope_of(moved["LM"]).owners == {"LM", "P2"}
