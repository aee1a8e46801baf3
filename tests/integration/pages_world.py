"""A small office for the page tests, on Tue 9 Jan 2024 at 10:00 in London: prosecutor P1
(line manager LM, unit head UH, all in unit `crown` of Area `w`) owns case U9, whose victim
letter lapsed at the start of the day and whose hearing H1 at Leeds needs its record sheet
today; prosecutor P2 (another team, unit `mags`) owns case U7, whose victim letter is due on
Thu 11 Jan. The lapse's alerts went to P1 and LM."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from redis.asyncio import Redis

from events import parse_event
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import browser
from tests.factories import event
from tests.integration.alerting import SimClock, london

NOW = london("2024-01-09 10:00")
T = "2024-01-01T09:00:00+00:00"


def staff(
    staff_id: str, role: str, line_manager: str | None, unit: str, name: str
) -> dict[str, Any]:
    return event(
        "staff-updated",
        T,
        staff_id=staff_id,
        name=name,
        email=f"{staff_id.lower()}@x",
        role=role,
        area="w",
        unit=unit,
        line_manager=line_manager,
    )


EVENTS = [
    staff("P1", "prosecutor", "LM", "crown", "Pat One"),
    staff("LM", "legal-manager", None, "crown", "Lee Manager"),
    staff("UH", "unit-head", None, "crown", "Una Head"),
    staff("P2", "prosecutor", "LM2", "mags", "=SUM(1)"),  # a name a spreadsheet would run
    staff("LM2", "legal-manager", None, "mags", "Lou Other"),
    event("case-registered", T, urn="U9", area="w", unit="crown", owner="P1"),
    event("case-registered", T, urn="U7", area="w", unit="mags", owner="P2"),
    event(
        "victim-letter-due",
        "2024-01-08T07:00:00+00:00",
        urn="U9",
        victim_id="V9",
        decision="no-charge",
        decision_date="2024-01-05",
        enhanced=True,
    ),
    event(
        "hearing-updated",
        "2024-01-08T17:00:00+00:00",
        urn="U9",
        hearing_id="H1",
        court="Leeds Crown Court",
        court_type="crown",
        hearing_date="2024-01-08",
        status="held",
        advocate="P1",
    ),
    event(
        "victim-letter-due",
        "2024-01-08T07:00:00+00:00",
        urn="U7",
        victim_id="V7",
        decision="no-charge",
        decision_date="2024-01-08",
        enhanced=True,
    ),
]


@dataclass
class World:
    runtime: Runtime
    client: httpx.AsyncClient

    async def signed_in(self, staff_id: str) -> tuple[dict[str, str], str]:
        cookies, csrf = await browser(self.runtime, staff_id=staff_id)
        return {
            "Accept": "text/html",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }, csrf

    async def alerts(self) -> list[dict[str, Any]]:
        from services.alerts.queries import list_alerts

        async with self.runtime.sessions() as session:
            return await list_alerts(session=session, now=NOW)


@asynccontextmanager
async def world(settings: Settings, *, now: datetime = NOW) -> AsyncIterator[World]:
    clock = SimClock(london("2024-01-08 08:00"))
    async with open_runtime(settings, today=lambda: clock.at.date(), now=clock) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        service = AlertService(runtime, redis, now=clock)
        await service.step()
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[parse_event(json.dumps(e)) for e in EVENTS],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=clock.at.date(),
                now=clock.at,
            )
        clock.at = london("2024-01-09 09:00:01")
        await service.step()
        clock.at = now
        api = build_api(runtime=runtime, redis=redis, today=lambda: clock.at.date())
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield World(runtime, client)
        await redis.aclose()
