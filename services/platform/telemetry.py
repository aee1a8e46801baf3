"""OpenTelemetry traces of the stream consumers, through FastStream's own middleware
(`faststream.redis.opentelemetry`): off unless FOLLOWUP_OTEL_ENABLED, and then exported by OTLP
over HTTP where the standard OTEL_EXPORTER_OTLP_* variables say (docs/contract.md, section 11,
"Added: traces"). The packages come with the `otel` extra (`pip install 'followup[otel]'`), so
the default install carries none of them; Settings refuses the switch without them."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from services.platform.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


def broker_middlewares(
    settings: Settings, *, tracer_provider: TracerProvider | None = None
) -> tuple[Any, ...]:
    """The broker's middlewares: FastStream's telemetry one when traces are on, with
    `tracer_provider` (a test's in-memory one) or else this process's exporting one."""
    if not settings.otel_enabled:
        return ()
    from faststream.redis.opentelemetry import RedisTelemetryMiddleware

    provider = tracer_provider if tracer_provider is not None else process_tracer_provider()
    return (RedisTelemetryMiddleware(tracer_provider=provider),)


@cache
def process_tracer_provider() -> TracerProvider:
    """One per process, made on first use (`serve` may build its app more than once): spans
    batched to the OTLP/HTTP exporter, which reads OTEL_EXPORTER_OTLP_ENDPOINT (default
    http://localhost:4318) and the other standard variables itself; flushed at exit."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "followup"}
    provider = SdkTracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
