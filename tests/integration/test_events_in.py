"""POST /events: CloudEvents over HTTP for a system's publish token, each event validated as
`followup publish` validates a line (docs/contract.md section 12, "People's API")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from services.access.credentials import issue
from services.entrypoints.http.api import build_api
from services.entrypoints.http.security_schemes import SESSION_COOKIE
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.dead_letters import list_dead_letters
from tests.access import bearer
from tests.factories import event
from tests.integration.people_api import TODAY, apply, office

pytestmark = pytest.mark.integration
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[Runtime, Redis, httpx.AsyncClient]]:
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        await apply(runtime, office())
        app = build_api(runtime=runtime, redis=redis, today=lambda: TODAY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield runtime, redis, client
        await redis.aclose()


def _hearing(id_: str, **change: Any) -> dict[str, Any]:
    found = event(
        "hearing-updated",
        "2024-01-02T09:00:00+00:00",
        id_=id_,
        urn="U1",
        hearing_id="H1",
        court="Reading",
        court_type="crown",
        hearing_date="2024-01-02",
        status="held",
    )
    found["data"].update(change)
    return found


async def _stream(runtime: Runtime, redis: Redis) -> list[dict[str, Any]]:
    entries = await redis.xrange(runtime.settings.events_stream)
    return [json.loads(fields[ENTRY_FIELD]) for _, fields in entries]


async def test_a_structured_event_is_put_on_the_stream(
    api: tuple[Runtime, Redis, httpx.AsyncClient],
) -> None:
    runtime, redis, client = api
    publisher = await bearer(runtime, system="cms", scope="publish")
    sent = _hearing("h-1")
    answer = await client.post(
        "/events", content=json.dumps(sent), headers={**publisher, **STRUCTURED}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "accepted": 1,
        "rejected": 0,
        "results": [
            {
                "index": 0,
                "id": "h-1",
                "source": "/cms/thames-and-chiltern",
                "status": "accepted",
                "field": None,
                "error": None,
                "dead_letter_id": None,
            }
        ],
    }
    assert await _stream(runtime, redis) == [sent]


async def test_a_batch_names_each_rejection_and_keeps_it(
    api: tuple[Runtime, Redis, httpx.AsyncClient],
) -> None:
    runtime, redis, client = api
    publisher = await bearer(runtime, system="cms", scope="publish")
    good, late = _hearing("h-1"), _hearing("h-3", hearing_id="H3")
    bad = _hearing("h-2", hearing_date="2nd of January")
    body = json.dumps([good, bad, "not an event", late])
    answer = await client.post("/events", content=body, headers={**publisher, **BATCH})
    assert answer.status_code == 207, answer.text
    found = answer.json()
    assert (found["accepted"], found["rejected"]) == (2, 2)
    results = found["results"]
    assert [(r["index"], r["id"], r["status"]) for r in results] == [
        (0, "h-1", "accepted"),
        (1, "h-2", "rejected"),
        (2, None, "rejected"),
        (3, "h-3", "accepted"),
    ]
    assert results[1]["field"] == "data.hearing_date" and "YYYY-MM-DD" in results[1]["error"]
    assert "JSON object" in results[2]["error"]
    assert await _stream(runtime, redis) == [good, late]
    async with runtime.sessions() as session:
        letters = {d.id: d for d in await list_dead_letters(session=session)}
    kept = letters[results[1]["dead_letter_id"]]
    assert (kept.origin, kept.event_source, kept.event_id) == (
        "http",
        "/cms/thames-and-chiltern",
        "h-2",
    )
    assert kept.field == "data.hearing_date" and json.loads(kept.raw) == bad
    assert letters[results[2]["dead_letter_id"]].raw == '"not an event"'


async def test_refusals(api: tuple[Runtime, Redis, httpx.AsyncClient]) -> None:
    runtime, redis, client = api
    publisher = await bearer(runtime, system="cms", scope="publish")
    every_bad = json.dumps([_hearing("h-1", status="maybe")])
    answer = await client.post("/events", content=every_bad, headers={**publisher, **BATCH})
    assert answer.status_code == 422 and answer.json()["results"][0]["field"] == "data.status"
    binary = {**publisher, "Content-Type": "application/json", "ce-specversion": "1.0"}
    answer = await client.post("/events", content="{}", headers=binary)
    assert answer.status_code == 415 and "application/cloudevents-batch+json" in answer.text
    answer = await client.post("/events", content="[{}, oops]", headers={**publisher, **BATCH})
    assert answer.status_code == 400 and "kept as dead letter" in answer.json()["detail"]
    too_many = json.dumps([_hearing(f"h-{n}") for n in range(1001)])
    answer = await client.post("/events", content=too_many, headers={**publisher, **BATCH})
    assert answer.status_code == 413 and "1,000" in answer.json()["detail"]
    # A body over FOLLOWUP_HTTP_MAX_BODY_BYTES is refused whole, naming the setting.
    big = _hearing("h-big", notes="x" * runtime.settings.max_event_bytes)
    answer = await client.post(
        "/events", content=json.dumps(big), headers={**publisher, **STRUCTURED}
    )
    assert answer.status_code == 413 and "FOLLOWUP_HTTP_MAX_BODY_BYTES" in answer.text
    assert await _stream(runtime, redis) == []
    async with runtime.sessions() as session:
        origins = [d.origin for d in await list_dead_letters(session=session)]
    assert origins == ["http", "http"]  # the 422's, the unreadable batch


async def test_only_a_publish_token_may_post(
    api: tuple[Runtime, Redis, httpx.AsyncClient],
) -> None:
    runtime, _, client = api
    body = json.dumps(_hearing("h-1"))
    assert (await client.post("/events", content=body, headers=STRUCTURED)).status_code == 401
    reader = await bearer(runtime, system="dash", scope="read")
    staff = await bearer(runtime, staff_id="HQ")
    for headers in (reader, staff):
        answer = await client.post("/events", content=body, headers={**headers, **STRUCTURED})
        assert answer.status_code == 403
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        secret, _ = await issue(
            session=session,
            kind="session",
            scope="staff",
            now=now,
            expires_at=now + timedelta(hours=1),
            staff_id="HQ",
            csrf=True,
        )
    client.cookies.set(SESSION_COOKIE, secret)
    answer = await client.post("/events", content=body, headers=STRUCTURED)
    assert answer.status_code == 403
