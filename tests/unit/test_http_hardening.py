"""The HTTP shell (docs/contract.md, section 10, "Hardening"): headers on every answer, the
Host allow-list, limits on what a request holds, and the rate limit per caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.entrypoints.http.api import build_api
from services.entrypoints.http.hardening import allowed_hosts
from services.entrypoints.http.rate_limits import caller_key
from services.platform.settings import Settings


def _settings(**more: Any) -> Settings:
    return Settings(_env_file=None, **more)  # type: ignore[call-arg]


def _api(**more: Any) -> FastAPI:
    return build_api(
        runtime=cast(Any, None), redis=cast(Any, None), today=date.today, settings=_settings(**more)
    )


async def _client(api: FastAPI, base: str = "http://localhost") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for found in _client(_api()):
        yield found


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/redoc", "/openapi.json", "/nowhere"])
async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = _directives(answer.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert "strict-transport-security" not in answer.headers  # not served over HTTPS


async def test_only_redoc_may_use_inline_styles(client: httpx.AsyncClient) -> None:
    docs = _directives((await client.get("/docs")).headers["content-security-policy"])
    redoc = _directives((await client.get("/redoc")).headers["content-security-policy"])
    assert docs["style-src"] == ["'self'"]
    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"]
    assert redoc["script-src"] == ["'self'"]


async def test_refusals_carry_the_headers_too(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz", headers={"Host": "attacker.example"})
    assert answer.status_code == 400
    assert answer.headers["x-frame-options"] == "DENY"


async def test_a_server_error_carries_the_headers_too() -> None:
    api = _api()  # no runtime: checking the token fails inside the route
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        answer = await client.get("/status", headers={"Authorization": "Bearer fut_x"})
    assert answer.status_code == 500
    assert answer.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in answer.headers


async def test_strict_transport_security_only_behind_https() -> None:
    async for client in _client(_api(public_url="https://followup.example.org")):
        answer = await client.get("/healthz", headers={"Host": "followup.example.org"})
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    async for client in _client(_api(public_url="http://followup.example.org")):
        answer = await client.get("/healthz", headers={"Host": "followup.example.org"})
        assert "strict-transport-security" not in answer.headers


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:8040", "127.0.0.1:9"])
async def test_local_hosts_are_allowed_by_default(client: httpx.AsyncClient, host: str) -> None:
    assert (await client.get("/healthz", headers={"Host": host})).status_code == 200


async def test_a_rebound_host_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz", headers={"Host": "evil.example:8040"})
    assert answer.status_code == 400


def test_allowed_hosts_derive_from_bind_address_and_public_url() -> None:
    assert allowed_hosts(_settings()) == ("localhost", "127.0.0.1")
    assert allowed_hosts(
        _settings(http_host="10.0.0.5", public_url="https://Followup.Example.org/x")
    ) == ("localhost", "127.0.0.1", "10.0.0.5", "followup.example.org")
    assert allowed_hosts(_settings(http_host="0.0.0.0")) == ("localhost", "127.0.0.1")
    assert allowed_hosts(_settings(http_allowed_hosts="a.example, *.b.example")) == (
        "a.example",
        "*.b.example",
    )


async def test_the_allowed_hosts_setting_replaces_the_defaults() -> None:
    async for client in _client(_api(http_allowed_hosts="followup.internal")):
        ok = await client.get("/healthz", headers={"Host": "followup.internal"})
        refused = await client.get("/healthz", headers={"Host": "localhost"})
    assert (ok.status_code, refused.status_code) == (200, 400)


async def test_an_oversized_body_is_413_naming_the_limit() -> None:
    async for client in _client(_api(http_max_body_bytes=2048)):
        answer = await client.post("/alerts/1/ack", content=b"x" * 4096)
        assert answer.status_code == 413
        assert "2048 bytes" in answer.json()["detail"]
        assert "FOLLOWUP_HTTP_MAX_BODY_BYTES" in answer.json()["detail"]


async def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024

    async for client in _client(_api(http_max_body_bytes=2048)):
        answer = await client.post("/alerts/1/ack", content=chunks())
    assert answer.status_code == 413


async def test_a_long_batch_is_refused_naming_the_limit() -> None:
    async for client in _client(_api(http_max_batch_items=3)):
        answer = await client.post("/alerts/1/ack", json={"by": "x", "items": [1, 2, 3, 4]})
        assert answer.status_code == 422
        assert answer.json()["detail"] == (
            "a list of 4 items is over the limit of 3 (FOLLOWUP_HTTP_MAX_BATCH_ITEMS)"
        )
        top_level = await client.post("/alerts/1/ack", json=[{}, {}, {}, {}])
        assert top_level.status_code == 422


async def test_a_long_string_is_refused_naming_the_limit() -> None:
    async for client in _client(_api(http_max_string_chars=100)):
        value = await client.post("/alerts/1/ack", json={"by": "x" * 101})
        key = await client.post("/alerts/1/ack", json={"k" * 101: 1})
        nested = await client.post("/alerts/1/ack", json={"a": [{"b": ["y" * 101]}]})
        untyped = await client.post(
            "/alerts/1/ack",
            content=b'{"by": "' + b"z" * 101 + b'"}',
            headers={"Content-Type": ""},  # FastAPI reads this as JSON too
        )
    for answer in (value, key, nested, untyped):
        assert answer.status_code == 422
        assert "FOLLOWUP_HTTP_MAX_STRING_CHARS" in answer.json()["detail"]


async def test_very_deep_nesting_is_refused() -> None:
    async for client in _client(_api()):
        answer = await client.post("/alerts/1/ack", content=b"[" * 100_000 + b"]" * 100_000)
    assert answer.status_code in (413, 422)


async def test_after_the_rate_limit_a_caller_gets_429_with_retry_after() -> None:
    # An hour's window: the sliding-window counter weighs the window before, so four requests
    # that straddle a minute's boundary on loaded cores could be let through.
    async for client in _client(_api(http_rate_limit="3/hour")):
        answers = [await client.get("/openapi.json") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert "3 per 1 hour" in refused.json()["detail"]
        assert "FOLLOWUP_HTTP_RATE_LIMIT" in refused.json()["detail"]
        assert refused.headers["x-frame-options"] == "DENY"
        # Another caller has a count of its own; the liveness probe is never counted.
        other = await client.get("/openapi.json", headers={"Authorization": "Bearer other"})
        assert other.status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_callers_are_told_apart_by_token_then_session_then_address() -> None:
    async for client in _client(_api(http_rate_limit="2/hour")):
        for _ in range(2):
            await client.get("/openapi.json", headers={"Authorization": "Bearer one"})
        token = await client.get("/openapi.json", headers={"Authorization": "Bearer one"})
        session = await client.get("/openapi.json", headers={"Cookie": "followup_session=s1"})
        address = await client.get("/openapi.json")
    assert (token.status_code, session.status_code, address.status_code) == (429, 200, 200)


def _scope(headers: dict[str, str], client: str = "192.0.2.1") -> dict[str, Any]:
    encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "headers": encoded, "client": (client, 1234)}


def test_caller_keys_are_digests_never_the_credential() -> None:
    token = caller_key(
        _scope({"Authorization": "Bearer secret-token", "Cookie": "followup_session=s"})
    )
    session = caller_key(_scope({"Cookie": "theme=dark; followup_session=secret-session"}))
    address = caller_key(_scope({}))
    assert token.startswith("token:") and "secret" not in token
    assert session.startswith("session:") and "secret" not in session
    assert address.startswith("address:") and "192.0.2.1" not in address
    assert caller_key(_scope({"Authorization": "Basic abc"})).startswith("address:")
    assert caller_key(_scope({}, client="192.0.2.2")) != address


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="http_rate_limit"):
        _settings(http_rate_limit="plenty")
    with pytest.raises(ValueError, match="public_url"):
        _settings(public_url="followup.example.org")


async def test_made_up_tokens_are_counted_against_their_address() -> None:
    """A new invented token per request is a new caller; its refusals are counted by address."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from services.entrypoints.http.rate_limits import RateLimitMiddleware

    async def refuse(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("sign in", status_code=401)

    app = RateLimitMiddleware(Starlette(routes=[Route("/x", refuse)]), rate="1000/minute")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        codes = [
            (await client.get("/x", headers={"Authorization": f"Bearer guess-{n}"})).status_code
            for n in range(31)
        ]
    assert codes[:30] == [401] * 30
    assert codes[30] == 429


async def test_cloudevents_bodies_are_left_to_their_route_to_judge_event_by_event() -> None:
    """POST /events keeps a refused event as a dead letter; the shape limits must not refuse
    the whole request first (the body size limit still does)."""
    long = b'{"data": {"text": "' + b"x" * 20_000 + b'"}}'
    async for client in _client(_api()):
        kind = {"Content-Type": "application/cloudevents+json"}
        passed = await client.post("/events", content=long, headers=kind)
        refused = await client.post(
            "/events", content=long, headers={"Content-Type": "application/json"}
        )
    assert passed.status_code == 401  # reached the route, which wants a publish token
    assert refused.status_code == 422 and "FOLLOWUP_HTTP_MAX_STRING_CHARS" in refused.text
