"""The world the access matrix (test_access_matrix.py) asks over: the org chart of
tests/org_chart.py with its lapsed victim letters and their lapse alerts, its inspections and a
dead letter, served in-process on Wed 10 Jan 2024, with a credential for each kind of caller.

Who should see what is written out here again from docs/contract.md section 12, independently
of services/access/scope.py, so a slip there shows as a difference."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import select

from events import parse_event
from schemas.tables import DeadLetter, Obligation
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.dead_letters import add_dead_letters
from services.tracker.handlers import apply_events
from tests.access import bearer, browser
from tests.integration.alerting import SimClock, london
from tests.org_chart import by_id, casework_events, inspection_events, members, staff_events

# One of each kind of caller: `nobody` sends no credential; `system:*` are systems' tokens.
PEOPLE = ("W-MAG-P1", "W-MAG-LM", "W-MAG-UH", "W-DCCP", "W-CCP", "W-ABM", "HQ-1", "HMI-1")
SYSTEMS = ("system:read", "system:publish")
CALLERS = ("nobody", *PEOPLE, *SYSTEMS)
NATIONAL = ("HQ-1", "system:read")
AREA_ROLES = ("dccp", "ccp", "abm")
PAGE = {"Accept": "text/html"}
TODAY = date(2024, 1, 10)  # a Wednesday of 2024-W02
HORIZON = date(2024, 1, 24)  # 10 working days after TODAY: the last due date *My work* shows
# The objects the per-object checks try: one's own, a teammate's, one's manager's, another
# unit's and another Area's (every caller tries every one of them).
SAMPLE_OWNERS = ("W-MAG-P1", "W-MAG-P2", "W-MAG-LM", "W-CRN-P1", "M-MAG-P1")
URN = re.compile(r"52XY\d{7}")


@functools.cache
def sees(caller: str) -> frozenset[str]:
    """Whose casework (obligations they own, alerts they receive) the caller sees: the
    contract's roles table written out again."""
    people = by_id()
    if caller in NATIONAL:
        return frozenset(people)
    me = people.get(caller)
    if me is None or me.role == "inspector":
        return frozenset()
    if me.role == "prosecutor":
        return frozenset({caller})
    if me.role == "legal-manager":
        return frozenset({caller} | below(caller))
    if me.role == "unit-head":
        unit = {p.staff_id for p in members() if (p.area, p.unit) == (me.area, me.unit)}
        return frozenset({caller} | below(caller) | unit)
    assert me.role in AREA_ROLES, me.role
    return frozenset(p.staff_id for p in members() if p.area == me.area)


def below(manager: str) -> set[str]:
    found: set[str] = set()
    for p in members():
        up = p.line_manager
        while up is not None:
            if up == manager:
                found.add(p.staff_id)
                break
            up = by_id()[up].line_manager
    return found


def line_above(staff_id: str) -> set[str]:
    found, up = set(), by_id()[staff_id].line_manager
    while up is not None:
        found.add(up)
        up = by_id()[up].line_manager
    return found


def role_of(caller: str) -> str | None:
    member = by_id().get(caller)
    return member.role if member is not None else None


def area_of(caller: str) -> str | None:
    member = by_id().get(caller)
    return member.area if member is not None and member.role not in ("hq", "inspector") else None


def covers_area(caller: str, area: str | None) -> bool:
    """Inspections and summaries: national ones for everyone signed in, an Area's for its own
    people, HQ, inspectors and read tokens; a publish token nothing."""
    if caller in ("nobody", "system:publish"):
        return False
    if caller in NATIONAL or role_of(caller) == "inspector":
        return True
    return area is None or area == area_of(caller)


class FreshAddresses(httpx.ASGITransport):
    """Each request from an address of its own: the matrix sends hundreds of requests with no
    credential, which from one address would trip the limit on refused credentials (tested
    in test_rate_limits)."""

    _next = itertools.count(1)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        n = next(self._next)
        self.client = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 40000)
        return await super().handle_async_request(request)


@dataclass
class World:
    """The seeded service, a client on it, and credentials for each caller: `headers` an API
    token (people and systems), `pages` a browser session (people) with its CSRF token."""

    runtime: Runtime
    redis: Redis
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    pages: dict[str, dict[str, str]] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    obligations: list[dict[str, Any]] = field(default_factory=list)  # every one, from the table
    alerts: list[dict[str, Any]] = field(default_factory=list)  # every one (HQ's view)
    dead_letter: int = 0

    def covered(self, caller: str) -> list[dict[str, Any]]:
        """The obligations in the caller's scope: owned by someone they see, or for an Area's
        leaders, of their Area."""
        if role_of(caller) in AREA_ROLES:
            return [o for o in self.obligations if o["area"] == area_of(caller)]
        whose = sees(caller)
        return [o for o in self.obligations if o["owner"] in whose]

    def sample(self) -> list[dict[str, Any]]:
        """The sample owners' victim letters, and one action of a national recommendation
        (no Area on the obligation: seen along its owner's line, not by the Area's leaders)."""
        return [
            o
            for o in self.obligations
            if (o["owner"] in SAMPLE_OWNERS and o["rule"] == "victim-letter")
            or o["id"] == "recommendation-action/ACT-NW"
        ]

    def sample_alerts(self) -> list[dict[str, Any]]:
        refs = {o["ref"] for o in self.sample()}
        return [a for a in self.alerts if a["obligation_ref"] in refs]

    def as_page(self, caller: str) -> dict[str, str]:
        """A browser's headers: a person's session, a system's token, or nothing."""
        if caller in self.pages:
            return self.pages[caller]
        return {**self.headers[caller], **PAGE}

    async def get(self, caller: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers={**self.headers[caller], **kw.pop("h", {})})

    async def post(self, caller: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers[caller], **kw.pop("h", {})}
        return await self.client.post(path, headers=headers, **kw)

    async def page(self, caller: str, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.as_page(caller))

    async def form(self, caller: str, path: str, data: dict[str, str]) -> httpx.Response:
        """A form posted from a page: a person's with their session's CSRF token."""
        token = {"csrf_token": self.csrf[caller]} if caller in self.csrf else {}
        return await self.client.post(path, headers=self.as_page(caller), data={**data, **token})


@asynccontextmanager
async def seeded(settings: Settings) -> AsyncIterator[World]:
    """The org chart, its lapsed victim letters and inspections, applied through the tracker's
    handler, and their lapse alerts raised by the alert clock on a simulated clock (Tue 9 Jan
    2024); the pages then answer on Wed 10 Jan."""
    # The matrix asks thousands of times a minute as one caller: the limit is tested elsewhere.
    settings = settings.model_copy(update={"http_rate_limit": "1000000/minute"})
    clock = SimClock(london("2024-01-08 08:00"))
    async with open_runtime(settings, today=lambda: clock.at.date(), now=clock) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        service = AlertService(runtime, redis, now=clock)
        await service.step()
        async with runtime.sessions() as session, session.begin():
            events = staff_events() + casework_events() + inspection_events()
            await apply_events(
                session=session,
                events=[parse_event(json.dumps(e)) for e in events],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=clock.at.date(),
                now=clock.at,
            )
        clock.at = london("2024-01-09 09:00:01")
        await service.step()
        clock.at = london("2024-01-10 10:00")
        async with runtime.sessions() as session, session.begin():
            letter = DeadLetter(origin="publish", line=3, field="type", reason="bad", raw="{}")
            await add_dead_letters(session=session, letters=[letter], now=clock.at)
            rows = (await session.execute(select(Obligation))).scalars().all()
        api = build_api(runtime=runtime, redis=redis, today=lambda: TODAY, settings=settings)
        headers: dict[str, dict[str, str]] = {"nobody": {}}
        world = World(runtime, redis, httpx.AsyncClient(), headers)
        for person in PEOPLE:
            headers[person] = await bearer(runtime, staff_id=person)
            cookies, world.csrf[person] = await browser(runtime, staff_id=person)
            world.pages[person] = {
                **PAGE,
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            }
        world.pages["nobody"] = PAGE
        for system in SYSTEMS:
            grant = system.partition(":")[2]
            headers[system] = await bearer(runtime, system=f"matrix-{grant}", scope=grant)
        world.obligations = [
            {
                "id": o.id,
                "ref": o.ref,
                "owner": o.owner,
                "area": o.area,
                "urn": o.urn,
                "rule": o.rule,
                "due": o.due,
                "open": o.state == "open",
            }
            for o in rows
        ]
        world.dead_letter = letter.id or 0
        transport = FreshAddresses(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            world.client = client
            world.alerts = (await world.get("HQ-1", "/alerts")).json()
            assert {a["level"] for a in world.alerts} == {"lapse"}
            yield world
        await redis.aclose()
