"""The lapse clock at scale (issue 5): latency from due to `obligation-lapsed` on the tracking
stream, and the clock's cost per tick, with 10,000 and with 1,000,000 open obligations.

    .venv/bin/python -m bench.lapse --small 10000 --large 1000000 --per-day 500

For each size, in one run: a fresh PostgreSQL database (migrated), an org chart of one Area,
and N open `victim-letter` obligations loaded with COPY, `per-day` of them due on each day, the
due dates centred on the measured week (so the work falling due at a midnight is the same for
both sizes and only the number of open obligations differs: 10,000 spans 20 days of due dates,
1,000,000 spans 2,000). The loaded rows are stamped long ago, as a tracker would have left
them, then VACUUM (ANALYZE) and CHECKPOINT so background work after the load does not land in
the figures.

Then the real LapseClock (services.lapse.ticker) with an injected clock that starts on a Monday
at 12:00 and is moved:
- quiet ticks: one simulated minute apart in the afternoon (no midnight crossed): the cost of
  a tick with nothing due, which is what every tick but one a day costs;
- midnight ticks: to 00:00:00 of Tue, Wed and Thu, the instant the obligations due the day
  before lapse, ticking at that instant as `run()` does (it sleeps until the next midnight).
  Each such tick raises that day's lapses (committed and published first), warnings and
  escalations. Latency = the time of the stream entry (Redis entry id, ms) of each
  `obligation-lapsed` minus the wall time at which the clock was moved past midnight.

Prints p50/p99 latency, tick costs, and the ratios large/small. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis

from services.alerts.service import AlertService
from services.rules.calendar import LONDON
from services.runtime import open_runtime
from services.settings import Settings

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
START = datetime(2025, 3, 24, 12, 0, tzinfo=LONDON)  # Monday
MIDNIGHTS = [datetime(2025, 3, d, 0, 0, tzinfo=LONDON) for d in (25, 26, 27)]
PROSECUTORS = 50


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    name = f"bench_lapse_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def load(url: str, n: int, per_day: int) -> float:
    """COPY n open obligations and the org chart; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    staff = [
        ("B-CCP", "ccp", None, None),
        ("B-DCCP", "dccp", None, "B-CCP"),
        ("B-ABM", "abm", None, "B-CCP"),
        ("B-UH", "unit-head", "magistrates", "B-DCCP"),
        ("B-LM", "legal-manager", "magistrates", "B-UH"),
        *((f"B-P{i}", "prosecutor", "magistrates", "B-LM") for i in range(PROSECUTORS)),
    ]
    await conn.copy_records_to_table(
        "staff",
        records=[
            (s, s, f"{s.lower()}@cps.example", role, "bench", unit, lm, long_ago, "", "", long_ago)
            for s, role, unit, lm in staff
        ],
        columns=[
            "staff_id",
            "name",
            "email",
            "role",
            "area",
            "unit",
            "line_manager",
            "event_time",
            "event_source",
            "event_id",
            "updated_at",
        ],
    )
    first_due = MIDNIGHTS[1].date() - timedelta(days=n // per_day // 2)
    buffer = io.StringIO()
    for i in range(n):
        due = first_due + timedelta(days=i // per_day)
        key = f"U{i}/V{i}"
        buffer.write(
            f"victim-letter/{key}\tvictim-letter\t{key}\tU{i}\tB-P{i % PROSECUTORS}\tbench\t"
            f"e{i}\t{due.isoformat()}\topen\t\\N\tbench\t{long_ago.isoformat()}\t"
            f"{long_ago.isoformat()}\n"
        )
    await conn.copy_to_table(
        "obligations",
        source=io.BytesIO(buffer.getvalue().encode()),
        columns=[
            "id",
            "rule",
            "key",
            "urn",
            "owner",
            "area",
            "opened_by",
            "due",
            "state",
            "closed_on",
            "explanation",
            "created_at",
            "updated_at",
        ],
    )
    # Settle the database before measuring: without this, autovacuum and the checkpoint after
    # a 1,000,000-row COPY run during the measured ticks on this 2-core machine.
    await conn.execute("VACUUM (ANALYZE) obligations")
    await conn.execute("CHECKPOINT")
    await conn.close()
    return time.perf_counter() - started


async def measure(n: int, per_day: int) -> dict[str, Any]:
    namespace = f"bench-lapse-{uuid.uuid4().hex[:8]}"
    async with fresh_database() as url:
        settings = Settings(
            _env_file=None,
            database_url=url,  # type: ignore[call-arg]
            redis_url=REDIS_URL,
            namespace=namespace,
            alerts_enabled=False,
        )
        async with open_runtime(settings) as runtime:
            loaded = await load(url, n, per_day)
            redis = Redis.from_url(REDIS_URL)
            clock = Clock(START)
            service = AlertService(runtime, redis, now=clock)
            try:
                await service.clock.tick()  # first start
                quiet = []
                for minute in range(1, 31):
                    clock.at = START + timedelta(minutes=minute)
                    began = time.perf_counter()
                    await service.clock.tick()
                    quiet.append(time.perf_counter() - began)
                nights, latencies, lapsed = [], [], 0
                for instant in MIDNIGHTS:
                    clock.at = START.replace(day=instant.day - 1, hour=23, minute=59)
                    await service.clock.tick()
                    await redis.delete(settings.tracking_stream)
                    clock.at = instant
                    crossed = time.time()
                    report = await service.clock.tick()
                    nights.append(time.time() - crossed)
                    entries = await redis.xrange(settings.tracking_stream)
                    for entry_id, fields in entries:
                        if b'"type":"obligation-lapsed"' in fields[b"event"]:
                            ms = int(entry_id.split(b"-")[0])
                            latencies.append(ms / 1000 - crossed)
                            lapsed += 1
                    assert report.midnights == [instant.date()], report
            finally:
                keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
                if keys:
                    await redis.delete(*keys)
                await redis.aclose()
    latencies.sort()
    return {
        "open": n,
        "load_s": loaded,
        "quiet_tick_ms": statistics.median(quiet) * 1000,
        "midnight_tick_s": statistics.median(nights),
        "lapsed": lapsed,
        "p50_s": latencies[len(latencies) // 2],
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def main(args: argparse.Namespace) -> None:
    results = []
    for n in (args.small, args.large):
        print(f"loading and measuring {n:,} open obligations ...", flush=True)
        result = await measure(n, args.per_day)
        results.append(result)
        print(
            f"  {n:>9,} open: loaded in {result['load_s']:.1f} s; quiet tick "
            f"{result['quiet_tick_ms']:.1f} ms (median of 30); midnight tick "
            f"{result['midnight_tick_s']:.2f} s (median of 3); due -> obligation-lapsed on the "
            f"stream for {result['lapsed']} lapses: p50 {result['p50_s'] * 1000:.0f} ms, "
            f"p99 {result['p99_s'] * 1000:.0f} ms",
            flush=True,
        )
    small, large = results
    print(
        f"growth {args.small:,} -> {args.large:,}: quiet tick "
        f"x{large['quiet_tick_ms'] / small['quiet_tick_ms']:.2f}, midnight tick "
        f"x{large['midnight_tick_s'] / small['midnight_tick_s']:.2f}, "
        f"p99 x{large['p99_s'] / small['p99_s']:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=500, help="obligations due each day")
    asyncio.run(main(parser.parse_args()))
