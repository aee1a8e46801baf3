"""The API reference (docs/contract.md, section 10, "Reference"): the docs pages load every
file from the service itself, OpenAPI declares both security schemes, and /asyncapi describes
the events stream and the tracking stream with every event type."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, cast
from urllib.parse import urljoin

import httpx
import pytest
import yaml

from events.outbound import OUTBOUND_MODELS
from events.registry import ALL_TYPES
from services.entrypoints.http.api import build_api
from services.platform.settings import Settings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, redis_url="redis://user:hunter2@redis.internal:6380/2")  # type: ignore[call-arg]
    api = build_api(
        runtime=cast(Any, None), redis=cast(Any, None), today=date.today, settings=settings
    )
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as found:
        yield found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_file_from_the_service(
    client: httpx.AsyncClient, page: str
) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "<script>" not in html and "cdn" not in html.lower()  # nothing inline, no CDN
    urls = re.findall(r'(?:src|href|spec-url|data-openapi-url)="([^"]+)"', html)
    assert any(url.endswith(".js") for url in urls)
    for url in urls:
        absolute = urljoin(f"http://localhost{page}", url)
        assert absolute.startswith("http://localhost/"), url
        fetched = await client.get(absolute)
        assert fetched.status_code == 200, url
        assert len(fetched.content) > 0


async def test_only_the_named_assets_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200
    assert (await client.get("/docs/assets/core.py")).status_code == 404
    assert (await client.get("/docs/assets/..%2Fapi.py")).status_code == 404


async def test_openapi_declares_the_bearer_token_and_the_session_cookie(
    client: httpx.AsyncClient,
) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert schemes["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "opaque",
        "description": "An API token, sent as `Authorization: Bearer TOKEN`.",
    }
    assert schemes["session"]["type"] == "apiKey"
    assert schemes["session"]["in"] == "cookie"
    assert schemes["session"]["name"] == "followup_session"


async def test_asyncapi_describes_both_streams_and_every_event_type(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/asyncapi")
    assert answer.status_code == 200
    document = answer.json()
    assert document["asyncapi"].startswith("3.")
    assert set(document["channels"]) == {"followup:events", "followup:tracking"}
    operations = {o["channel"]["$ref"]: o["action"] for o in document["operations"].values()}
    assert operations == {
        "#/channels/followup:events": "receive",
        "#/channels/followup:tracking": "send",
    }
    schemas = document["components"]["schemas"]
    inbound = _types_in(document, "followup:events")
    outbound = _types_in(document, "followup:tracking")
    assert inbound == set(ALL_TYPES)
    assert outbound == {model.type_name for model in OUTBOUND_MODELS}
    assert "CaseRegisteredEvent" in schemas and "ObligationLapsedEvent" in schemas
    assert "hunter2" not in answer.text and "user" not in document["servers"]["development"]["host"]


async def test_asyncapi_yaml_is_the_same_document(client: httpx.AsyncClient) -> None:
    as_json = (await client.get("/asyncapi")).json()
    answer = await client.get("/asyncapi.yaml")
    assert answer.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(answer.text) == as_json


def _types_in(document: dict[str, Any], channel: str) -> set[str]:
    """The `type` of every message the channel carries, read through the references."""
    found: set[str] = set()
    for reference in document["channels"][channel]["messages"].values():
        message = _resolve(document, reference["$ref"])
        payload = message["payload"]
        for option in payload.get("oneOf", [payload]):
            schema = _resolve(document, option["$ref"])
            found.add(schema["properties"]["type"]["const"])
    return found


def _resolve(document: dict[str, Any], reference: str) -> dict[str, Any]:
    found: Any = document
    for part in reference.removeprefix("#/").split("/"):
        found = found[part]
    return cast(dict[str, Any], found)
