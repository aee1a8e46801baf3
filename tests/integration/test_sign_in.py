"""Sign-in by emailed one-time link, the session it starts, CSRF on its forms, and leavers
losing access (docs/contract.md section 12), on both databases."""

from __future__ import annotations

import email
import json
import re
from collections.abc import AsyncIterator
from datetime import date
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from events import parse_event
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import bearer
from tests.factories import event

pytestmark = pytest.mark.integration
T = "2026-01-05T09:00:00+00:00"
TODAY = date(2026, 1, 6)


def _staff(staff_id: str, role: str, manager: str | None, **more: object) -> dict[str, object]:
    return event(
        "staff-updated",
        T,
        staff_id=staff_id,
        name=staff_id.title(),
        email=f"{staff_id.lower()}@cps.example",
        role=role,
        area="north",
        unit="u1",
        line_manager=manager,
        **more,
    )


async def _apply(runtime: Runtime, *raw: dict[str, object]) -> None:
    async with runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(e)) for e in raw],  # type: ignore[misc]
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=TODAY,
            now=runtime.now(),
        )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    async with open_runtime(settings, today=lambda: TODAY) as runtime:
        await _apply(runtime, _staff("LM", "legal-manager", None), _staff("P1", "prosecutor", "LM"))
        redis = Redis.from_url(settings.redis_url or "")
        api = build_api(runtime=runtime, redis=redis, today=lambda: TODAY)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http, runtime
        await redis.aclose()


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def _link_in_outbox(outbox: Path, before: set[Path]) -> str:
    new = sorted(set(outbox.glob("*.eml")) - before)
    assert len(new) == 1, new
    message = email.message_from_bytes(new[0].read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "p1@cps.example"
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/sign-in/(\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


async def test_sign_in_by_emailed_link_starts_a_session_used_once(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = client
    outbox = runtime.settings.data_dir / "outbox"
    form = (await http.get("/sign-in")).text
    token = _hidden(form, "csrf_token")
    # Another site's form (no signed token) sends nothing.
    forged = await http.post("/sign-in", data={"email": "P1@cps.example", "csrf_token": "x"})
    assert forged.status_code == 403 and not list(outbox.glob("*.eml"))
    # An unknown address reads the same as a known one: nothing tells who works here.
    unknown = await http.post("/sign-in", data={"email": "who@x.example", "csrf_token": token})
    sent = await http.post("/sign-in", data={"email": "P1@CPS.example", "csrf_token": token})
    assert unknown.status_code == sent.status_code == 200
    assert "a sign-in link is on its way" in sent.text
    secret = _link_in_outbox(outbox, set())
    # Opening the link changes nothing (a mail scanner may fetch it); the button signs in.
    opened = await http.get(f"/sign-in/{secret}")
    assert opened.status_code == 200 and "followup_session" not in opened.headers.get(
        "set-cookie", ""
    )
    pressed = await http.post(
        f"/sign-in/{secret}", data={"csrf_token": _hidden(opened.text, "csrf_token")}
    )
    assert pressed.status_code == 303 and pressed.headers["location"] == "/"
    cookie = pressed.headers["set-cookie"]
    assert "followup_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    mine = await http.get("/alerts")
    assert mine.status_code == 200
    # The link is single use.
    again = await http.post(
        f"/sign-in/{secret}", data={"csrf_token": _hidden(opened.text, "csrf_token")}
    )
    assert again.status_code == 400 and "has been used" in again.text


async def test_sign_out_needs_the_session_s_csrf_token_and_ends_it(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = client
    token = _hidden((await http.get("/sign-in")).text, "csrf_token")
    await http.post("/sign-in", data={"email": "p1@cps.example", "csrf_token": token})
    secret = _link_in_outbox(runtime.settings.data_dir / "outbox", set())
    opened = await http.get(f"/sign-in/{secret}")
    await http.post(f"/sign-in/{secret}", data={"csrf_token": _hidden(opened.text, "csrf_token")})
    assert (await http.get("/alerts")).status_code == 200
    refused = await http.post("/sign-out", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert (await http.get("/alerts")).status_code == 200
    async with runtime.sessions() as session:
        from services.access.credentials import list_credentials

        sessions = await list_credentials(session=session, kinds=("session",))
    csrf = sessions[0].csrf
    assert csrf
    done = await http.post("/sign-out", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/sign-in"
    http.cookies.clear()
    assert (await http.get("/alerts")).status_code == 401


async def test_a_leaver_loses_every_access_the_day_they_leave(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = client
    headers = await bearer(runtime, staff_id="P1")
    assert (await http.get("/alerts", headers=headers)).status_code == 200
    await _apply(
        runtime,
        event(
            "staff-updated",
            "2026-01-06T09:00:00+00:00",
            staff_id="P1",
            name="P1",
            email="p1@cps.example",
            role="prosecutor",
            area="north",
            unit="u1",
            line_manager="LM",
            left_date="2026-01-06",
        ),
    )
    assert (await http.get("/alerts", headers=headers)).status_code == 401
    token = _hidden((await http.get("/sign-in")).text, "csrf_token")
    await http.post("/sign-in", data={"email": "p1@cps.example", "csrf_token": token})
    assert not list((runtime.settings.data_dir / "outbox").glob("*.eml"))


async def test_status_and_metrics_are_for_hq_and_read_tokens(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = client
    prosecutor = await bearer(runtime, staff_id="P1")
    reader = await bearer(runtime, system="prometheus", scope="read")
    publisher = await bearer(runtime, system="cms", scope="publish")
    assert (await http.get("/metrics")).status_code == 401
    assert (await http.get("/metrics", headers=prosecutor)).status_code == 403
    assert (await http.get("/metrics", headers=publisher)).status_code == 403
    assert (await http.get("/metrics", headers=reader)).status_code == 200
    # A publish token reads no casework at all.
    assert (await http.get("/obligations", headers=publisher)).json() == []
