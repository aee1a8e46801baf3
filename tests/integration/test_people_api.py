"""GET /obligations and GET /alerts as the people's API gives them: filters validated and cut
to the caller's scope, keyset pages, and obligation references instead of ids for readers who
oversee rather than carry the casework (docs/contract.md section 12, "People's API")."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from events.outbound import obligation_ref
from schemas.tables import Alert
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from tests.access import bearer
from tests.integration.people_api import TODAY, apply, office, victim_letters

pytestmark = pytest.mark.integration
AT = datetime(2024, 2, 1, 9, tzinfo=UTC)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        await apply(
            runtime,
            office()
            + victim_letters("U1", [0, 0, 3, 10, 20, 40])
            + victim_letters("U2", [0, 5, 15, 45])
            + victim_letters("U3", [2, 12, 50])
            + victim_letters("U4", [1, 30]),
        )
        app = build_api(runtime=runtime, redis=redis, today=lambda: TODAY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield runtime, client
        await redis.aclose()


async def _get(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    answer = await client.get("/obligations", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _walk(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int, **params: Any
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = await _get(client, headers, limit=limit, **params)
    while True:
        assert len(page["items"]) <= limit
        found += page["items"]
        if page["next_cursor"] is None:
            return found
        page = await _get(client, headers, limit=limit, cursor=page["next_cursor"], **params)


async def test_pages_walk_every_row_once_in_order(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    hq = await bearer(runtime, staff_id="HQ")
    everything = await _get(client, hq)
    assert len(everything) == 15
    assert [(o["due"], o["id"]) for o in everything] == sorted(
        (o["due"], o["id"]) for o in everything
    )
    for limit in (1, 4, 15, 1000):
        walked = await _walk(client, hq, limit)
        assert [o["obligation_ref"] for o in walked] == [o["obligation_ref"] for o in everything]
    first = await client.get("/obligations", params={"limit": 4}, headers=hq)
    cursor = first.json()["next_cursor"]
    assert first.headers["link"] == f'</obligations?limit=4&cursor={cursor}>; rel="next"'
    # Rows written between pages: one due before the cursor is not read again (nor are the
    # rows already read), one due after it is met in its place.
    await apply(runtime, victim_letters("U1", [-30, 60], prefix="NEW"))
    rest: list[dict[str, Any]] = []
    page = first.json()
    while page["next_cursor"]:
        page = await _get(client, hq, limit=4, cursor=page["next_cursor"])
        rest += page["items"]
    refs = [o["obligation_ref"] for o in first.json()["items"] + rest]
    assert len(refs) == len(set(refs)) == 16
    assert refs[-1] == obligation_ref("victim-letter/U1/NEWU1-1")
    last = await _get(client, hq, limit=100, cursor=page["next_cursor"] or cursor)
    assert "link" not in (await client.get("/obligations", headers=hq)).headers
    assert last["next_cursor"] is None
    # A cursor names the last row by reference: no reader is shown an id through it.
    assert "VU1" not in base64.urlsafe_b64decode(cursor + "==").decode()


async def test_alerts_page_newest_first_with_references(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    async with runtime.sessions() as session, session.begin():
        for n in range(7):
            the_id = f"victim-letter/U1/VU1-{n}"
            session.add(_alert(the_id, recipient="P1" if n % 2 else "LM1"))
    hq, p1 = await bearer(runtime, staff_id="HQ"), await bearer(runtime, staff_id="P1")
    everything = (await client.get("/alerts", headers=hq)).json()
    assert [a["id"] for a in everything] == sorted((a["id"] for a in everything), reverse=True)
    assert all(a["obligation"] is None and a["obligation_ref"] for a in everything)
    walked, params = [], {"limit": 3}
    while True:
        answer = await client.get("/alerts", params=params, headers=hq)
        walked += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            assert "link" not in answer.headers
            break
        assert answer.headers["link"] == f'</alerts?limit=3&cursor={cursor}>; rel="next"'
        params = {"limit": 3, "cursor": cursor}
    assert walked == everything
    own = (await client.get("/alerts", params={"limit": 10}, headers=p1)).json()["items"]
    assert {a["recipient"] for a in own} == {"P1"} and len(own) == 3
    assert all(a["obligation"].startswith("victim-letter/U1/") for a in own)


def _alert(obligation_id: str, *, recipient: str) -> Alert:
    return Alert(
        obligation_id=obligation_id,
        obligation_ref=obligation_ref(obligation_id),
        due=TODAY,
        level="lapse",
        recipient=recipient,
        role="owner",
        rule="victim-letter",
        urn="U1",
        area="w",
        state="sent",
        fell_due_at=AT,
        raised_at=AT,
        deliver_after=AT,
    )


async def test_each_filter_narrows_within_scope(api: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = api
    hq, lm1 = await bearer(runtime, staff_id="HQ"), await bearer(runtime, staff_id="LM1")
    uh, p1 = await bearer(runtime, staff_id="UH"), await bearer(runtime, staff_id="P1")

    async def owners(headers: dict[str, str], **params: Any) -> set[str]:
        return {o["owner"] for o in await _get(client, headers, **params)}

    assert await owners(hq, owner="P3") == {"P3"}
    assert await owners(hq, team="LM1") == {"P1", "P2"}
    assert await owners(hq, team="UH") == {"P1", "P2", "P3"}
    assert await owners(hq, unit="crown") == {"P1", "P2", "P4"}
    assert await owners(hq, unit="crown", area="w") == {"P1", "P2"}
    assert await owners(hq, area="e") == {"P4"}
    assert await owners(hq, urn="U3") == {"P3"}
    assert await owners(hq, rule="custody-time-limit") == set()
    due = await _get(client, hq, due_from="2024-01-10", due_to="2024-01-24")
    assert due and all("2024-01-10" <= o["due"] <= "2024-01-24" for o in due)
    # Lapsed is judged on `as_of`: nothing had lapsed by the first letter's due date.
    assert {o["state"] for o in await _get(client, hq, as_of="2024-01-05")} == {"open"}
    lapsed = await _get(client, hq, state="lapsed")
    assert lapsed and all(o["due"] < TODAY.isoformat() for o in lapsed)
    assert await _get(client, hq, state="lapsed", as_of="2024-01-05") == []
    # A filter reaching outside the caller's scope yields nothing more than the scope.
    assert await owners(lm1, team="LM2") == set()
    assert await owners(lm1, owner="P3") == set()
    assert await owners(lm1, area="e") == set()
    assert await owners(uh, unit="mags") == {"P3"}
    assert await owners(p1, team="LM1") == {"P1"}
    assert await owners(p1) == {"P1"}


async def test_bad_filters_answer_422_naming_the_parameter(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    hq = await bearer(runtime, staff_id="HQ")
    for path, params, name, says in [
        ("/obligations", {"state": "late"}, "state", "'open', 'met'"),
        ("/obligations", {"rule": "nope"}, "rule", "victim-letter"),
        ("/obligations", {"due_from": "1/2/2024"}, "due_from", "YYYY-MM-DD"),
        ("/obligations", {"due_to": "1704067200"}, "due_to", "YYYY-MM-DD"),
        ("/obligations", {"as_of": "2024-02-30"}, "as_of", ""),
        ("/obligations", {"limit": "0"}, "limit", "1"),
        ("/obligations", {"limit": "1001"}, "limit", "1000"),
        ("/obligations", {"cursor": "!!"}, "cursor", "cursor"),
        ("/obligations", {"cursor": "WzFd"}, "cursor", "obligations cursor"),
        ("/alerts", {"state": "lost"}, "state", "'pending'"),
        ("/alerts", {"cursor": "WyJ4Il0"}, "cursor", "alerts cursor"),
    ]:
        answer = await client.get(path, params=params, headers=hq)
        assert answer.status_code == 422, (params, answer.text)
        [error] = answer.json()["detail"]
        assert error["loc"] == ["query", name] and says in error["msg"], error


async def test_ids_only_for_the_line_references_for_the_rest(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = api
    the_id = "victim-letter/U1/VU1-0"
    seen = {}
    for staff_id in ("P1", "LM1", "UH", "DCCP", "HQ", None):
        headers = await bearer(runtime, staff_id=staff_id, system="dash", scope="read")
        page = await _get(client, headers, urn="U1", due_to="2024-01-08", limit=1)
        listed = page["items"][0]
        answer = await client.get(f"/obligations/{the_id}", headers=headers)
        assert answer.status_code == 200
        seen[staff_id] = (listed, answer.json())
    for staff_id in ("P1", "LM1", "UH"):
        for found in seen[staff_id]:
            assert found["id"] == the_id and found["key"] == "U1/VU1-0"
            assert found["obligation_ref"] == obligation_ref(the_id)
    for staff_id in ("DCCP", "HQ", None):
        for found in seen[staff_id]:
            assert found["id"] is None and found["key"] is None
            assert found["obligation_ref"] == obligation_ref(the_id)
            assert "VU1-0" not in str(found) and found["urn"] == "U1"
    # Outside scope reads as unknown.
    outsider = await bearer(runtime, staff_id="P4")
    hidden = await client.get(f"/obligations/{the_id}", headers=outsider)
    unknown = await client.get("/obligations/victim-letter/U1/nobody", headers=outsider)
    assert hidden.status_code == unknown.status_code == 404


async def test_openapi_describes_answers_and_security(
    api: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = api
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert {"Obligation", "ObligationPage", "ObligationExplained", "Alert", "EventsAnswer"} <= set(
        schemas
    )
    assert set(document["components"]["securitySchemes"]) >= {"apiToken", "session"}
    listing = document["paths"]["/obligations"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names >= {"state", "rule", "as_of", "owner", "team", "unit", "area", "cursor"}
    events = document["paths"]["/events"]["post"]["requestBody"]["content"]
    assert set(events) == {"application/cloudevents+json", "application/cloudevents-batch+json"}
