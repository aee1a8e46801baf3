"""A small office for the people's API tests: two Areas, two teams, a unit head, a DCCP and
HQ, and victim letters and custody time limits owned across them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from events import parse_event
from services.platform.runtime import Runtime
from services.tracker.handlers import apply_events
from tests.factories import event

T = "2024-01-01T09:00:00+00:00"
TODAY = date(2024, 2, 1)
# staff id: (role, area, unit, line manager)
STAFF = {
    "LM1": ("legal-manager", "w", "crown", "UH"),
    "P1": ("prosecutor", "w", "crown", "LM1"),
    "P2": ("prosecutor", "w", "crown", "LM1"),
    "LM2": ("legal-manager", "w", "mags", "UH"),
    "P3": ("prosecutor", "w", "mags", "LM2"),
    "UH": ("unit-head", "w", "crown", "DCCP"),
    "DCCP": ("dccp", "w", None, None),
    "HQ": ("hq", "hq", None, None),
    "LM4": ("legal-manager", "e", "crown", None),
    "P4": ("prosecutor", "e", "crown", "LM4"),
}
CASES = {"U1": "P1", "U2": "P2", "U3": "P3", "U4": "P4"}


def office() -> list[dict[str, Any]]:
    found = [
        event(
            "staff-updated",
            T,
            staff_id=staff_id,
            name=staff_id,
            email=f"{staff_id.lower()}@x",
            role=role,
            area=area,
            unit=unit,
            line_manager=manager,
        )
        for staff_id, (role, area, unit, manager) in STAFF.items()
    ]
    for urn, owner in CASES.items():
        area, unit = STAFF[owner][1], STAFF[owner][2]
        found.append(event("case-registered", T, urn=urn, area=area, unit=unit, owner=owner))
    return found


def victim_letters(urn: str, days: Iterable[int], prefix: str = "V") -> list[dict[str, Any]]:
    """A letter per day offset from 1 Jan 2024 (due five working days after), two victims on
    the first day so that rows share a due date."""
    found = []
    for n, day in enumerate(days):
        decided = (date(2024, 1, 1) + timedelta(days=day)).isoformat()
        found.append(_letter(urn, f"{prefix}{urn}-{n}", decided))
    return found


def _letter(urn: str, victim: str, decided: str) -> dict[str, Any]:
    return event(
        "victim-letter-due",
        T,
        urn=urn,
        victim_id=victim,
        decision="no-charge",
        decision_date=decided,
        enhanced=False,
    )


async def apply(runtime: Runtime, raw: list[dict[str, Any]]) -> None:
    at = datetime(2024, 1, 2, 9, tzinfo=UTC)
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(e)) for e in raw],  # type: ignore[misc]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=at.date(),
            now=at,
        )
