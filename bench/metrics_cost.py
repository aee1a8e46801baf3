"""What the latency histograms cost (docs/contract.md section 11, "Added: latency histograms").

    .venv/bin/python -m bench.metrics_cost

1. The consumer's side, on its thread, per batch of 1,000 entries: the entries' publication
   ages counted by moment and placed in buckets, with the batch time, queued on a pipeline
   (no Redis round trip: they ride in the pipeline each batch already sends). Two shapes: a
   bulk publish (50 entries per millisecond) and a trickle (every entry its own millisecond).
2. The HTTP side: `GET /healthz` through the real app (in-process ASGI, real Redis at
   127.0.0.1:6379), with and without the request timer, p50 and mean per request. The timer's
   Redis write comes after the answer has gone, so the client's time barely moves; the
   handler's task is held for that round trip.

Prints the figures; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from redis.asyncio import Redis

from services.entrypoints.http.api import build_api
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.metrics import BATCH_APPLY, EVENT_LATENCY, published_ages

REDIS_URL = "redis://127.0.0.1:6379/0"


class _Pipe:
    def hincrby(self, *_args: Any) -> None: ...

    def hincrbyfloat(self, *_args: Any) -> None: ...


def consumer_side(ids: list[bytes], rounds: int = 2000) -> float:
    pipe, now = _Pipe(), time.time()
    started = time.perf_counter()
    for _ in range(rounds):
        EVENT_LATENCY.record_counted(pipe, key="k", counted=published_ages(ids, now=now))
        BATCH_APPLY.record(pipe, key="k", values=(0.1,))
    return (time.perf_counter() - started) / rounds


async def http_side(requests: int = 2000) -> dict[str, list[float]]:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    found: dict[str, list[float]] = {}
    with TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(folder),
            redis_url=REDIS_URL,
            namespace=namespace,
        )
        async with open_runtime(settings) as runtime:
            redis = Redis.from_url(REDIS_URL)
            try:
                for timed in (False, True, False, True):
                    api = build_api(runtime=runtime, redis=redis, today=date.today)
                    if not timed:  # the same app without the request timer
                        api.user_middleware = [
                            m for m in api.user_middleware if m.cls.__name__ != "RequestTimer"
                        ]
                    transport = httpx.ASGITransport(app=api)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://localhost"
                    ) as client:
                        times = found.setdefault("with timer" if timed else "without", [])
                        for _ in range(requests):
                            started = time.perf_counter()
                            await client.get("/healthz")
                            times.append(time.perf_counter() - started)
            finally:
                keys = [key async for key in redis.scan_iter(match=f"{namespace}:*")]
                if keys:
                    await redis.delete(*keys)
                await redis.aclose()
    return found


def main() -> None:
    bulk = [f"{1_800_000_000_000 + i // 50}-{i % 50}".encode() for i in range(1000)]
    trickle = [f"{1_800_000_000_000 + i}-0".encode() for i in range(1000)]
    print("consumer, CPU per 1,000-entry batch:")
    print(f"  bulk publish (20 moments):  {consumer_side(bulk) * 1e3:.3f} ms")
    print(f"  trickle (1,000 moments):    {consumer_side(trickle) * 1e3:.3f} ms")
    print("HTTP GET /healthz, in-process, per request (two alternating runs each):")
    for name, times in asyncio.run(http_side()).items():
        p50, mean = statistics.median(times) * 1e3, statistics.fmean(times) * 1e3
        print(f"  {name:11s} p50 {p50:.3f} ms, mean {mean:.3f} ms ({len(times)} requests)")


if __name__ == "__main__":
    main()
