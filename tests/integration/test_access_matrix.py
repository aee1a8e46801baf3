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
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.access.credentials import issue
from services.entrypoints.http.api import build_api
from services.platform.settings import Settings
from tests.integration import matrix_area as area
from tests.integration import matrix_packs as packs
from tests.integration import matrix_pages as pages
from tests.integration.matrix_world import (
    CALLERS,
    NATIONAL,
    PAGE,
    PEOPLE,
    SYSTEMS,
    World,
    line_above,
    seeded,
    sees,
)
from tests.org_chart import by_id, members, urn_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with seeded(settings) as found:
        yield found


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
        expected = {o["ref"] for o in world.covered(caller)}
        assert {o["obligation_ref"] for o in answer.json()} == expected, caller
        # A filter narrows within the scope, never past it.
        urn = urn_of("W-CRN-P1")
        narrowed = (await world.get(caller, f"/obligations?urn={urn}&state=lapsed")).json()
        assert {o["obligation_ref"] for o in narrowed} == {
            o["ref"] for o in world.covered(caller) if o["urn"] == urn
        }, caller
    await redirected_to_sign_in(world, "/obligations")


async def obligation_one(world: World) -> None:
    for caller in CALLERS:
        unknown = await world.get(caller, "/obligations/victim-letter/NOSUCHURN/V1")
        for obligation in world.sample():
            path = f"/obligations/{obligation['id']}"
            answer = await world.get(caller, path)
            if caller == "nobody":
                assert answer.status_code == 401
            elif obligation in world.covered(caller):
                assert answer.status_code == 200, (caller, answer.text)
                assert answer.json()["obligation_ref"] == obligation["ref"]
            else:
                hidden(answer, obligation["id"], unknown, "victim-letter/NOSUCHURN/V1")
                pages.not_leaking(answer, obligation, obligation["id"])


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
        done: set[int] = set()
        for caller in CALLERS:
            unknown = await world.post(caller, f"/alerts/999999/{action}", json=body)
            for alert in world.sample_alerts():
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


async def doc_assets(world: World) -> None:
    await public(world, "/docs/assets/swagger-ui.css")
    assert (await world.get("HQ-1", "/docs/assets/secret.key")).status_code == 404


INSPECTION = "/inspections/{inspection_id}"
ROUTES: dict[tuple[str, str], Check] = {
    # The service's own reference, probes and files: anyone.
    ("GET", "/openapi.json"): public_at("/openapi.json"),
    ("GET", "/docs"): public_at("/docs"),
    ("GET", "/docs/assets/{name}"): doc_assets,
    ("GET", "/redoc"): public_at("/redoc"),
    ("GET", "/asyncapi"): public_at("/asyncapi"),
    ("GET", "/asyncapi.yaml"): public_at("/asyncapi.yaml"),
    ("GET", "/static"): public_at("/static/followup.css"),
    ("GET", "/health"): health,
    ("GET", "/healthz"): public_at("/healthz"),
    ("GET", "/readyz"): public_at("/readyz"),
    ("GET", "/status"): national_only("/status"),
    ("GET", "/metrics"): national_only("/metrics"),
    # The JSON API.
    ("GET", "/obligations"): obligations_list,
    ("GET", "/obligations/{obligation_id:path}"): obligation_one,
    ("GET", "/alerts"): alerts_list,
    ("POST", "/alerts/{alert_id}/ack"): alert_action("ack"),
    ("POST", "/alerts/{alert_id}/snooze"): alert_action("snooze"),
    ("POST", "/events"): area.events_in,
    # Sign-in.
    ("GET", "/sign-in"): sign_in_form,
    ("POST", "/sign-in"): sign_in_requested,
    ("GET", "/sign-in/{secret}"): sign_in_link_opened,
    ("POST", "/sign-in/{secret}"): sign_in_link_used,
    ("POST", "/sign-out"): sign_out,
    # The people's pages.
    ("GET", "/"): pages.my_work,
    ("GET", "/team"): pages.team("/team"),
    ("GET", "/team.csv"): pages.team("/team.csv"),
    ("GET", "/my-alerts"): pages.my_alerts,
    ("GET", "/o"): pages.search_box,
    ("GET", "/o/{reference:path}"): pages.obligation_page,
    ("POST", "/alert-actions/{alert_id}/ack"): pages.alert_form("ack"),
    ("POST", "/alert-actions/{alert_id}/snooze"): pages.alert_form("snooze"),
    ("GET", "/act/{token}"): pages.act_confirm,
    ("POST", "/act/{token}"): pages.act_done,
    ("GET", "/calendar/{secret}.ics"): pages.calendar,
    ("POST", "/calendar-feeds"): pages.calendar_feed_made,
    ("POST", "/calendar-feeds/{feed_id}/revoke"): pages.calendar_feed_revoked,
    # Area, summaries, inspections, dead letters.
    ("GET", "/area"): area.area_page,
    ("GET", "/summaries"): area.summaries,
    ("GET", "/area/packs"): packs.area_packs,
    ("GET", "/inspections"): area.inspections_list,
    ("GET", "/inspections/report.css"): area.report_css,
    ("GET", INSPECTION): area.inspection_read(""),
    ("GET", f"{INSPECTION}/report"): area.inspection_read("/report?format=json"),
    ("POST", f"{INSPECTION}/actions/{{action_id}}/evidence"): area.inspection_forms,
    ("POST", f"{INSPECTION}/actions/{{action_id}}/completion"): area.inspection_forms,
    ("POST", f"{INSPECTION}/recommendations/{{recommendation_id}}/assessment"): (
        area.inspection_forms
    ),
    ("GET", "/dead-letters"): area.national_only("/dead-letters"),
    ("GET", "/dead-letters/{letter_id}"): area.dead_letter_unknown,
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


# The two that acknowledge the sample's alerts (after which the other could only answer 409)
# run on a world of their own; the rest share one per database, each route's failure reported
# by name. What they change no other check reads: a snooze (a snoozed alert can still be
# acknowledged or snoozed again), an email's acknowledgement of an alert outside the sample,
# a form's event published, one's own calendar feed made or stopped, a sign-in link sent, a
# session signed out.
CHANGING = {
    ("POST", "/alerts/{alert_id}/ack"),
    ("POST", "/alert-actions/{alert_id}/ack"),
}


async def test_the_reading_routes(world: World) -> None:
    failed = []
    ran: set[Check] = set()
    for route in sorted(set(ROUTES) - CHANGING):
        if ROUTES[route] in ran:  # one check covering several routes
            continue
        ran.add(ROUTES[route])
        try:
            await ROUTES[route](world)
        except AssertionError as error:
            # The failing line as well: a bare `assert` says nothing of itself.
            where = traceback.format_exc(limit=-1).splitlines()[-3:-1]
            failed.append(f"{' '.join(route)}: {error}\n" + "\n".join(where))
    assert failed == [], "\n\n".join(failed)


@pytest.mark.parametrize("route", sorted(CHANGING), ids=" ".join)
async def test_a_changing_route(world: World, route: tuple[str, str]) -> None:
    await ROUTES[route](world)


def test_the_callers_cover_every_role() -> None:
    """The matrix asks as one person of each role the org chart has."""
    roles = {by_id()[p].role for p in PEOPLE}
    assert roles == {m.role for m in members()}
