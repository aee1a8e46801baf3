"""Who may read and do what, over every route of the HTTP API (docs/contract.md section 12):
a table with one check per route, run for every kind of caller over the two-Area org chart of
tests/org_chart.py. A scoped read returns exactly what the caller's role covers; another team's,
unit's or Area's object answers 404 exactly as an unknown one does, naming neither its owner
nor its case; an action outside the caller's line answers 403; nobody signed in gets 401 (a
page: a redirect to sign-in).

A route the table does not name fails `test_the_table_names_every_route`: add its row here."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from events import parse_event
from services.access.credentials import issue
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import bearer
from tests.integration.alerting import SimClock, london
from tests.org_chart import by_id, casework_events, members, staff_events, urn_of

pytestmark = pytest.mark.integration

# One of each kind of caller: `nobody` sends no credential; `system:*` are systems' tokens.
PEOPLE = ("W-MAG-P1", "W-MAG-LM", "W-MAG-UH", "W-DCCP", "W-CCP", "W-ABM", "HQ-1", "HMI-1")
SYSTEMS = ("system:read", "system:publish")
CALLERS = ("nobody", *PEOPLE, *SYSTEMS)
NATIONAL = ("HQ-1", "system:read")
PAGE = {"Accept": "text/html"}
# The objects the per-object checks try: one's own, a teammate's, one's manager's, another
# unit's and another Area's (every caller tries every one of them).
SAMPLE_OWNERS = ("W-MAG-P1", "W-MAG-P2", "W-MAG-LM", "W-CRN-P1", "M-MAG-P1")


def sees(caller: str) -> set[str]:
    """Whose casework (obligations they own, alerts they receive) the caller sees: the
    contract's roles table written out again, independently of services/access/scope.py."""
    people = by_id()
    if caller in NATIONAL:
        return set(people)
    me = people.get(caller)
    if me is None or me.role == "inspector":
        return set()
    if me.role == "prosecutor":
        return {caller}
    if me.role == "legal-manager":
        return {caller} | _below(caller)
    if me.role == "unit-head":
        unit = {p.staff_id for p in members() if (p.area, p.unit) == (me.area, me.unit)}
        return {caller} | _below(caller) | unit
    assert me.role in ("dccp", "ccp", "abm"), me.role
    return {p.staff_id for p in members() if p.area == me.area}


def _below(manager: str) -> set[str]:
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


@dataclass
class World:
    """The seeded service, a client on it, and a credential for each caller."""

    runtime: Runtime
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    obligations: list[dict[str, Any]] = field(default_factory=list)  # every one (HQ's view)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # every one

    def sample(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of the sample owners' obligations."""
        ids = {o["id"] for o in self.obligations if o["owner"] in SAMPLE_OWNERS}
        return [r for r in rows if r.get("obligation", r["id"]) in ids]

    async def get(self, caller: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers={**self.headers[caller], **kw.pop("h", {})})

    async def post(self, caller: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers[caller], **kw.pop("h", {})}
        return await self.client.post(path, headers=headers, **kw)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """The org chart and its lapsed victim letters, applied through the tracker's handler, and
    their lapse alerts raised by the alert clock on a simulated clock (Tue 9 Jan 2024)."""
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        clock = SimClock(london("2024-01-08 08:00"))
        service = AlertService(runtime, redis, now=clock)
        await service.step()
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[
                    parse_event(json.dumps(e))  # type: ignore[misc]
                    for e in staff_events() + casework_events()
                ],
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=clock.at.date(),
                now=clock.at,
            )
        clock.at = london("2024-01-09 09:00:01")
        await service.step()
        day = london("2024-01-10 10:00").date()
        api = build_api(runtime=runtime, redis=redis, today=lambda: day)
        headers: dict[str, dict[str, str]] = {"nobody": {}}
        for person in PEOPLE:
            headers[person] = await bearer(runtime, staff_id=person)
        for system in SYSTEMS:
            grant = system.partition(":")[2]
            headers[system] = await bearer(runtime, system=f"matrix-{grant}", scope=grant)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            found = World(runtime, client, headers)
            found.obligations = (await found.get("HQ-1", "/obligations")).json()
            found.alerts = (await found.get("HQ-1", "/alerts")).json()
            assert len(found.obligations) == len(casework_events()) // 2
            assert {a["level"] for a in found.alerts} == {"lapse"}
            yield found
        await redis.aclose()


Check = Callable[[World], Awaitable[None]]


# --- the checks, one kind of route each ------------------------------------------------------


async def public(world: World, path: str) -> None:
    for caller in CALLERS:
        assert (await world.get(caller, path)).status_code == 200, (caller, path)


def public_at(path: str) -> Check:
    async def check(world: World) -> None:
        await public(world, path)

    return check


async def health(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/health")
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}, caller


def national_only(path: str) -> Check:
    """Service-wide figures: HQ and systems' read tokens; every other caller 403."""

    async def check(world: World) -> None:
        for caller in CALLERS:
            answer = await world.get(caller, path)
            expected = 401 if caller == "nobody" else 200 if caller in NATIONAL else 403
            assert answer.status_code == expected, (caller, answer.text)
        await redirected_to_sign_in(world, path)

    return check


async def redirected_to_sign_in(world: World, path: str) -> None:
    answer = await world.get("nobody", path, h=PAGE)
    assert answer.status_code == 303 and answer.headers["location"] == f"/sign-in?next={path}"


async def obligations_list(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/obligations")
        if caller == "nobody":
            assert answer.status_code == 401
            continue
        expected = {o["id"] for o in world.obligations if o["owner"] in sees(caller)}
        assert {o["id"] for o in answer.json()} == expected, caller
        # A filter narrows within the scope, never past it.
        urn = urn_of("W-CRN-P1")
        narrowed = (await world.get(caller, f"/obligations?urn={urn}&state=lapsed")).json()
        assert {o["id"] for o in narrowed} == {
            o["id"] for o in world.obligations if o["urn"] == urn and o["id"] in expected
        }, caller
    await redirected_to_sign_in(world, "/obligations")


async def obligation_one(world: World) -> None:
    unknown = await world.get("HQ-1", "/obligations/victim-letter:NOSUCHURN:V1")
    assert unknown.status_code == 404
    for caller in CALLERS:
        for obligation in world.sample(world.obligations):
            path = f"/obligations/{obligation['id']}"
            answer = await world.get(caller, path)
            if caller == "nobody":
                assert answer.status_code == 401
            elif obligation["owner"] in sees(caller):
                assert answer.status_code == 200, (caller, answer.text)
                assert answer.json()["id"] == obligation["id"]
            else:
                hidden(answer, obligation["id"], unknown, "victim-letter:NOSUCHURN:V1")
                assert obligation["owner"] not in answer.text


def hidden(answer: httpx.Response, ref: str, unknown: httpx.Response, unknown_ref: str) -> None:
    """Outside scope: 404, and the same words as an unknown object's (the ref the caller sent
    aside), so a caller cannot tell that it exists."""
    assert answer.status_code == 404, answer.text
    said = answer.text.replace(json.dumps(ref)[1:-1], "REF")
    assert said == unknown.text.replace(json.dumps(unknown_ref)[1:-1], "REF")


async def alerts_list(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/alerts")
        if caller == "nobody":
            assert answer.status_code == 401
            continue
        expected = {a["id"] for a in world.alerts if a["recipient"] in sees(caller)}
        assert {a["id"] for a in answer.json()} == expected, caller
    await redirected_to_sign_in(world, "/alerts")


def alert_action(action: str) -> Check:
    """Acknowledge or snooze: the recipient or someone above them in the line (200); someone
    who sees the alert but is not in its line 403; someone who does not see it 404; a system
    403; nobody 401."""
    body = {} if action == "ack" else {"reason": "in court", "until": "2099-01-01T00:00:00Z"}

    async def check(world: World) -> None:
        unknown = await world.post("HQ-1", f"/alerts/999999/{action}", json=body)
        done: set[int] = set()
        for caller in CALLERS:
            for alert in world.sample(world.alerts):
                if alert["id"] in done:
                    continue
                path = f"/alerts/{alert['id']}/{action}"
                answer = await world.post(caller, path, json=body)
                recipient = alert["recipient"]
                if caller == "nobody":
                    assert answer.status_code == 401
                elif caller in SYSTEMS:
                    assert answer.status_code == 403
                elif recipient not in sees(caller):
                    hidden(answer, str(alert["id"]), unknown, "999999")
                    assert recipient not in answer.text and alert["urn"] not in answer.text
                elif caller == recipient or caller in line_above(recipient):
                    assert answer.status_code == 200, (caller, answer.text)
                    done.add(alert["id"])
                else:
                    assert answer.status_code == 403, (caller, recipient, answer.text)
        # Every caller in someone's line acted at least once.
        assert {a["recipient"] for a in world.alerts if a["id"] in done} >= {"W-MAG-P1"}

    return check


def _form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in_form(world: World) -> None:
    for caller in CALLERS:
        answer = await world.get(caller, "/sign-in", h=PAGE)
        assert answer.status_code == 200 and "<h1>Sign in</h1>" in answer.text


async def sign_in_requested(world: World) -> None:
    """The same page for someone on record and for an unknown address: it cannot be used to
    find out who works here; a post without the form's token is refused."""
    token = _form_token((await world.get("nobody", "/sign-in")).text)
    refused = await world.post("nobody", "/sign-in", data={"email": "x@y.example"})
    assert refused.status_code == 403
    known, stranger = by_id()["W-MAG-P1"].email, "nobody.here@wessex.example"
    pages = []
    for address in (known, stranger):
        form = {"email": address, "csrf_token": token}
        answer = await world.post("nobody", "/sign-in", data=form)
        assert answer.status_code == 200
        pages.append(answer.text.replace(address, "ADDRESS"))
    assert pages[0] == pages[1]


async def sign_in_link_opened(world: World) -> None:
    answer = await world.get("nobody", "/sign-in/sl_not-a-real-link", h=PAGE)
    assert answer.status_code == 200 and "Sign in</button>" in answer.text


async def sign_in_link_used(world: World) -> None:
    token = _form_token((await world.get("nobody", "/sign-in")).text)
    answer = await world.post("nobody", "/sign-in/sl_not-a-real-link", data={"csrf_token": token})
    assert answer.status_code == 400 and "set-cookie" not in answer.headers


async def sign_out(world: World) -> None:
    """A session signs out with its form's CSRF token, and is then refused."""
    assert (await world.post("nobody", "/sign-out")).status_code == 401
    for system in SYSTEMS:
        assert (await world.post(system, "/sign-out")).status_code == 403
    now = world.runtime.now()
    async with world.runtime.sessions() as session, session.begin():
        secret, row = await issue(
            session=session,
            kind="session",
            scope="staff",
            now=now,
            expires_at=now + timedelta(hours=1),
            staff_id="W-MAG-LM",
            csrf=True,
        )
    cookie = {"Cookie": f"followup_session={secret}"}
    assert (await world.post("nobody", "/sign-out", h=cookie)).status_code == 403
    out = await world.post("nobody", "/sign-out", h=cookie, data={"csrf_token": row.csrf})
    assert out.status_code == 303
    assert (await world.get("nobody", "/alerts", h=cookie)).status_code == 401


ROUTES: dict[tuple[str, str], Check] = {
    ("GET", "/openapi.json"): public_at("/openapi.json"),
    ("GET", "/docs"): public_at("/docs"),
    ("GET", "/docs/oauth2-redirect"): public_at("/docs/oauth2-redirect"),
    ("GET", "/redoc"): public_at("/redoc"),
    ("GET", "/static"): public_at("/static/followup.css"),
    ("GET", "/health"): health,
    ("GET", "/status"): national_only("/status"),
    ("GET", "/metrics"): national_only("/metrics"),
    ("GET", "/obligations"): obligations_list,
    ("GET", "/obligations/{obligation_id:path}"): obligation_one,
    ("GET", "/alerts"): alerts_list,
    ("POST", "/alerts/{alert_id}/ack"): alert_action("ack"),
    ("POST", "/alerts/{alert_id}/snooze"): alert_action("snooze"),
    ("GET", "/sign-in"): sign_in_form,
    ("POST", "/sign-in"): sign_in_requested,
    ("GET", "/sign-in/{secret}"): sign_in_link_opened,
    ("POST", "/sign-in/{secret}"): sign_in_link_used,
    ("POST", "/sign-out"): sign_out,
}


def routes_of(api: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the API answers, included routers' and mounts' too."""
    return set(_walk(api.routes))


def _walk(routes: list[Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += _walk(route.original_router.routes)
        elif getattr(route, "methods", None):
            found += [(m, route.path) for m in route.methods if m != "HEAD"]
        elif hasattr(route, "path"):  # a mount: its files are read with GET
            found.append(("GET", route.path))
    return found


def test_the_table_names_every_route() -> None:
    api = build_api(
        runtime=cast(Any, None), redis=cast(Any, None), today=date.today, settings=Settings()
    )
    answered = routes_of(api)
    assert sorted(answered - set(ROUTES)) == [], "routes with no row in ROUTES: add one"
    assert sorted(set(ROUTES) - answered) == [], "rows in ROUTES for routes that are gone"


# Checks that change what they act on (acknowledge, snooze, sign out, a link sent) run on a
# world of their own; the read-only rest share one, each route's failure reported by name.
CHANGING = {
    ("POST", "/alerts/{alert_id}/ack"),
    ("POST", "/alerts/{alert_id}/snooze"),
    ("POST", "/sign-in"),
    ("POST", "/sign-out"),
}


async def test_the_reading_routes(world: World) -> None:
    failed = []
    for route in sorted(set(ROUTES) - CHANGING):
        try:
            await ROUTES[route](world)
        except AssertionError as error:
            failed.append(f"{' '.join(route)}: {error}")
    assert failed == [], "\n\n".join(failed)


@pytest.mark.parametrize("route", sorted(CHANGING), ids=" ".join)
async def test_a_changing_route(world: World, route: tuple[str, str]) -> None:
    await ROUTES[route](world)


def test_the_callers_cover_every_role() -> None:
    """The matrix asks as one person of each role the org chart has."""
    roles = {by_id()[p].role for p in PEOPLE}
    assert roles == {m.role for m in members()}
