"""`followup status` and `/metrics`: how far behind the consumers are, what they have done,
and what is in the dead-letter store. Counters live in Redis, so they add up across every
worker process and machine."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.asyncio import Redis

from services.platform.broker.streams import group_lag, oldest_pending_age_ms
from services.platform.histograms import Histogram
from services.platform.runtime import Runtime
from services.tracker.dead_letters import CONFLICT
from services.tracker.queries import count_dead_letters

COUNTERS = (
    ("events_applied", "Events applied (first sightings) by the tracker."),
    ("duplicates", "Events received again and ignored (same source and id)."),
    (
        "conflicts",
        "Duplicates with other content than the event that stands (kept as dead letters).",
    ),
    ("batches", "Batches handled by the tracker consumers."),
    ("failed_deliveries", "Entries whose application failed and were left pending for retry."),
    ("reclaimed", "Entries taken over from another consumer after being pending too long."),
    ("dead_letters", "Entries moved to the dead-letter store by the consumers."),
)

# Latency distributions (services/platform/histograms.py; docs/contract.md, section 11,
# "Added: latency histograms"). Event latency runs from the entry's publication onto the
# stream (its id is that moment) to the commit of its batch, so it holds the wait in the
# stream and the batch's own time; the event's `time` is the source system's, which a
# backfill or a late sender puts days earlier, and is not used.
BATCH_APPLY = Histogram(
    "followup_batch_apply_seconds",
    "Time to apply and commit one batch of stream entries.",
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
EVENT_LATENCY = Histogram(
    "followup_event_latency_seconds",
    "From an entry's publication onto the events stream to the commit of its batch.",
    (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)


def published_ages(entry_ids: Iterable[bytes], *, now: float) -> list[tuple[float, int]]:
    """Seconds since the entries were published, each with how many entries were published
    then (a stream id is `MILLISECONDS-SEQUENCE`; a batch's entries share a few moments)."""
    moments = Counter(entry_id.partition(b"-")[0] for entry_id in entry_ids)
    return [(max(0.0, now - int(ms) / 1000), count) for ms, count in moments.items()]


async def read_status(*, runtime: Runtime, redis: Redis) -> dict[str, Any]:
    settings = runtime.settings
    stream, group = settings.events_stream, settings.tracker_group
    lag = await group_lag(redis, stream=stream, group=group)
    age_ms = await oldest_pending_age_ms(
        redis, stream=stream, group=group, now_ms=int(time.time() * 1000)
    )
    raw = await redis.hgetall(f"{settings.namespace}:metrics")
    counters = {_text(k): _text(v) for k, v in raw.items()}
    async with runtime.sessions() as session:
        dead = await count_dead_letters(session=session)
        conflicts = await count_dead_letters(session=session, origin=CONFLICT)
    batches = int(counters.get("batches", 0))
    seconds = float(counters.get("batch_seconds_sum", 0.0))
    return {
        "lag": lag["undelivered"] + lag["pending"],
        "dead_letters": dead,  # every one still dead, conflicts included
        "conflicts": conflicts,
        "streams": {
            stream: {
                "group": group,
                **lag,
                "lag": lag["undelivered"] + lag["pending"],
                "oldest_pending_age_seconds": age_ms / 1000,
            }
        },
        "metrics": {
            **{name: int(counters.get(name, 0)) for name, _ in COUNTERS},
            "batch_seconds_sum": seconds,
            "batch_seconds_average": seconds / batches if batches else 0.0,
            "last_batch_seconds": float(counters.get("last_batch_seconds", 0.0)),
            "events_applied_by_consumer": {
                k.removeprefix("events_applied:"): int(v)
                for k, v in counters.items()
                if k.startswith("events_applied:")
            },
        },
    }


def prometheus_text(status: dict[str, Any], *, extra: Sequence[Metric] = ()) -> bytes:
    """The status, and `extra` metrics read beside it, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(status, extra))
    return generate_latest(registry)


class _Snapshot:
    """A collector over one status read (the values come from Redis and the database)."""

    def __init__(self, status: dict[str, Any], extra: Sequence[Metric] = ()) -> None:
        self.status, self.extra = status, extra

    def collect(self) -> list[Metric]:
        return [*self._status(), *self.extra]

    def _status(self) -> list[Metric]:
        metrics = self.status["metrics"]
        found: list[Metric] = []
        for name, help_text in COUNTERS:
            counter = CounterMetricFamily(f"followup_{name}", help_text)
            counter.add_metric([], metrics[name])
            found.append(counter)
        latency = CounterMetricFamily(
            "followup_batch_seconds", "Time spent applying batches (sum; see batches for count)."
        )
        latency.add_metric([], metrics["batch_seconds_sum"])
        last = GaugeMetricFamily("followup_last_batch_seconds", "Latency of the latest batch.")
        last.add_metric([], metrics["last_batch_seconds"])
        stored = GaugeMetricFamily(
            "followup_dead_letter_store", "Dead letters neither replayed nor discarded."
        )
        stored.add_metric([], self.status["dead_letters"])
        conflicts = GaugeMetricFamily(
            "followup_conflict_store",
            "Conflicting duplicates in the dead-letter store not yet discarded (counted in "
            "followup_dead_letter_store too).",
        )
        conflicts.add_metric([], self.status["conflicts"])
        found += [latency, last, stored, conflicts]
        labels = ["stream", "group"]
        lag = GaugeMetricFamily("followup_lag", "Published, not yet applied.", labels=labels)
        pending = GaugeMetricFamily(
            "followup_pending", "Delivered, not acknowledged.", labels=labels
        )
        age = GaugeMetricFamily(
            "followup_oldest_pending_age_seconds", "Age of the oldest pending entry.", labels=labels
        )
        for stream, info in self.status["streams"].items():
            lag.add_metric([stream, info["group"]], info["lag"])
            pending.add_metric([stream, info["group"]], info["pending"])
            age.add_metric([stream, info["group"]], info["oldest_pending_age_seconds"])
        by_consumer = GaugeMetricFamily(
            "followup_events_applied_by_consumer",
            "Events applied by each consumer (worker process).",
            labels=["consumer"],
        )
        for consumer, count in metrics["events_applied_by_consumer"].items():
            by_consumer.add_metric([consumer], count)
        return [*found, lag, pending, age, by_consumer]


async def wait_until_applied(
    *,
    runtime: Runtime,
    redis: Redis,
    within: float,
    on_wait: Callable[[int], None] = lambda _lag: None,
) -> dict[str, Any]:
    """Poll until every published event is applied; `on_wait(lag)` may report or raise."""
    deadline = time.monotonic() + within
    while (status := await read_status(runtime=runtime, redis=redis))["lag"] > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{status['lag']} events still unapplied after {within:.0f}s")
        on_wait(status["lag"])
        await asyncio.sleep(0.05)
    return status


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
