"""What `GET /metrics` shows (docs/contract.md, section 11, "Added: latency histograms" and
"Added: operations gauges"): the tracker's counters and stream figures, the latency
histograms, and gauges read from the database that the alerting rules of
deploy/prometheus/alerts.yml watch. Every figure is the whole deployment's (Redis and the
database are shared), so any one `serve` answers for all of them."""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from redis.asyncio import Redis

from services.alerts.clock import store as clock_store
from services.alerts.queries import delivery_backlog
from services.entrypoints.http.timing import HTTP_DURATION
from services.platform.histograms import histograms_key
from services.platform.runtime import Runtime
from services.summaries.schedule import overdue
from services.tracker.metrics import BATCH_APPLY, EVENT_LATENCY, prometheus_text, read_status

HISTOGRAMS = (BATCH_APPLY, EVENT_LATENCY, HTTP_DURATION)


async def metrics_text(*, runtime: Runtime, redis: Redis) -> bytes:
    status = await read_status(runtime=runtime, redis=redis)
    raw = await redis.hgetall(histograms_key(runtime.settings.namespace))
    fields = {_text(k): _text(v) for k, v in raw.items()}
    histograms = [histogram.family(fields) for histogram in HISTOGRAMS]
    gauges = await operations_gauges(runtime=runtime, now=runtime.now())
    return prometheus_text(status, extra=[*histograms, *gauges])


# The gauges read from the database, by name: what each means.
GAUGES = {
    "followup_lapse_clock_behind_seconds": "How far the lapse clock's cursor is behind now (it "
    "moves every FOLLOWUP_LAPSE_TICK_SECONDS while serve runs).",
    "followup_alert_deliveries_pending": "Alert digests' deliveries (one per channel) not yet "
    "gone: due or waiting for a retry.",
    "followup_alert_delivery_oldest_pending_seconds": "Age of the digest of the oldest delivery "
    "not yet gone; 0 when none.",
    "followup_weekly_summaries_overdue": "Scopes (Areas, legal managers' teams) whose weekly "
    "summary of the latest week due is not sent yet.",
}


async def operations_gauges(*, runtime: Runtime, now: datetime) -> list[Metric]:
    """The lapse clock's and alert delivery's gauges when `serve` runs them
    (FOLLOWUP_ALERTS_ENABLED), the weekly summaries' when it publishes them
    (FOLLOWUP_SUMMARY_SCHEDULE): a part switched off is never reported behind."""
    settings = runtime.settings
    found: dict[str, float] = {}
    async with runtime.sessions() as session:
        if settings.alerts_enabled:
            cursor = await clock_store.cursor(session=session)
            if cursor is not None:  # never started: never behind
                found["followup_lapse_clock_behind_seconds"] = _seconds(now, cursor)
            count, oldest = await delivery_backlog(session=session)
            found["followup_alert_deliveries_pending"] = count
            found["followup_alert_delivery_oldest_pending_seconds"] = (
                _seconds(now, oldest) if oldest is not None else 0.0
            )
        if settings.summary_schedule:
            found["followup_weekly_summaries_overdue"] = await overdue(
                session=session, now=now, day=settings.summary_day, at=settings.summary_time
            )
    return [_gauge(name, value) for name, value in found.items()]


def _seconds(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())


def _gauge(name: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, GAUGES[name])
    gauge.add_metric([], value)
    return gauge


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
