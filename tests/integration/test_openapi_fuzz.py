"""schemathesis against the API's own OpenAPI document (docs/contract.md section 10): requests
generated from every GET operation's parameters and POST /events' body, sent in-process with a
system's read token (a publish token for POST /events) over the seeded org chart and its
inspections, every GET sent again as a legal manager (whose scope takes the team's and the
404 branches); no answer is a server error and each answers in the content type and shape
it documents.

Hypothesis draws the cases (derandomized, a few per operation) and the test sends them through
httpx's ASGI transport on this test's event loop, where the runtime's connections live."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from events import parse_event
from services.entrypoints.http.api import build_api
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import bearer
from tests.integration.alerting import london
from tests.org_chart import casework_events, inspection_events, staff_events

pytestmark = pytest.mark.integration
EXAMPLES = 15  # per operation: the whole test stays well within a minute
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """A client on the API over the org chart, and the API's OpenAPI document."""
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        at = london("2024-01-09 10:00")
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[
                    parse_event(json.dumps(e))  # type: ignore[misc]
                    for e in staff_events() + casework_events() + inspection_events()
                ],
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=at.date(),
                now=at,
            )
        # Hundreds of requests a minute from one token: the rate limit is tested elsewhere.
        unlimited = settings.model_copy(update={"http_rate_limit": "1000000/minute"})
        api = build_api(runtime=runtime, redis=redis, today=lambda: at.date(), settings=unlimited)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            callers = {
                "read": await bearer(runtime, system="fuzz-read", scope="read"),
                "manager": await bearer(runtime, staff_id="W-MAG-LM"),
                "publish": await bearer(runtime, system="fuzz-publish", scope="publish"),
            }
            yield client, {"openapi": api.openapi(), **callers}
        await redis.aclose()


def fuzzed(operation: Any) -> bool:
    return operation.method.upper() == "GET" or (operation.method.upper(), operation.path) == (
        "POST",
        "/events",
    )


async def test_every_read_and_publish_operation_answers_as_documented(
    served: tuple[httpx.AsyncClient, dict[str, Any]],
) -> None:
    client, found = served
    schema = schemathesis.openapi.from_dict(found["openapi"])
    operations = [r.ok() for r in schema.get_all_operations()]
    chosen = [op for op in operations if fuzzed(op)]
    documented = {(op.method.upper(), op.path) for op in operations}
    assert {(op.method.upper(), op.path) for op in chosen} == {
        (method, path) for method, path in documented if method == "GET"
    } | {("POST", "/events")}
    assert {op.path for op in chosen} >= {
        "/obligations",
        "/alerts",
        "/status",
        "/summaries",
        "/inspections",
        "/inspections/{inspection_id}/report",
        "/dead-letters/{letter_id}",
        "/asyncapi.yaml",
    }
    sent, failed = 0, {}
    for operation in chosen:
        posting = operation.method.upper() == "POST"
        for case in _cases(operation):
            for caller in ("publish",) if posting else ("read", "manager"):
                kwargs = case.as_transport_kwargs(
                    base_url="http://localhost", headers=found[caller]
                )
                kwargs.pop("cookies", None)
                response = await client.request(**kwargs)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as error:  # one an operation is enough to read
                    failed.setdefault(f"{operation.label} as {caller}", str(error)[:2000])
    assert failed == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failed.items())
    assert sent >= len(chosen)


def _cases(operation: Any) -> list[Any]:
    """A few cases drawn for the operation, the same every run."""
    drawn: list[Any] = []

    @given(operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    return drawn
