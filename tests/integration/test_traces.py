"""Traces (docs/contract.md, section 11, "Added: traces"): with FOLLOWUP_OTEL_ENABLED the
stream consumer's batches are spans, through FastStream's middleware; off, the broker has no
telemetry middleware at all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from faststream.redis.opentelemetry import RedisTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from services.entrypoints.app import build_app
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.metrics import wait_until_applied
from services.tracker.publishing import publish_lines
from tests.factories import letter_due, lines
from tests.integration.conftest import _started, settings_for

pytestmark = pytest.mark.integration


async def test_a_batch_consumed_is_a_span(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    settings = settings_for(
        tmp_path, f"sqlite:///{tmp_path}/f.db", redis_server, namespace, otel_enabled=True
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(redis_server)
        app = build_app(runtime, redis_server, http=False, tracer_provider=provider)
        task = asyncio.create_task(app.run())
        try:
            await _started(app, runtime, task)
            await publish_lines(runtime=runtime, redis=redis, lines=lines(letter_due("2018-02-01")))
            await wait_until_applied(runtime=runtime, redis=redis, within=30)
        finally:
            app.exit()
            await asyncio.wait_for(task, 30)
            await redis.aclose()

    spans = exporter.get_finished_spans()
    consumed = [span for span in spans if span.name == f"{settings.events_stream} process"]
    assert consumed, f"no span of the events stream among {[span.name for span in spans]}"
    assert consumed[0].attributes is not None
    assert consumed[0].attributes.get("messaging.system") == "redis"
    assert consumed[0].attributes.get("messaging.batch.message_count") == 1


async def test_traces_are_off_by_default(tmp_path: Path, redis_server: str, namespace: str) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path}/f.db", redis_server, namespace)
    assert settings.otel_enabled is False
    async with open_runtime(settings) as runtime:
        app = build_app(runtime, redis_server, http=False)
        middlewares = app.broker.middlewares  # type: ignore[union-attr]
    assert not [m for m in middlewares if isinstance(m, RedisTelemetryMiddleware)]


def test_the_switch_is_refused_without_the_otel_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.platform.settings as settings_module

    monkeypatch.setattr(settings_module, "find_spec", lambda _name: None)
    with pytest.raises(ValueError, match=r"pip install 'followup\[otel\]'"):
        Settings(_env_file=None, otel_enabled=True)  # type: ignore[call-arg]
