"""The lapse clock at scale (issue 5): latency from due to `obligation-lapsed` on the tracking
stream, and the clock's cost per tick, with 10,000 and with 1,000,000 open obligations.

    .venv/bin/python -m bench.lapse --small 10000 --large 1000000 --per-day 500 [--keep]

For each size: a PostgreSQL database (migrated), an org chart of one Area, and N open
`victim-letter` obligations loaded with COPY, `per-day` of them due on each day, the due dates
centred on the measured week (so the work falling due at a midnight is the same for both sizes
and only the number of open obligations differs: 10,000 spans 20 days of due dates, 1,000,000
spans 2,000; the bench prints what each midnight raised, to show it). The loaded rows are
stamped long ago, as a tracker would have left them, then VACUUM (ANALYZE) and CHECKPOINT so
background work after the load does not land in the figures. With `--keep` each size's
database stays (named after the size and the migrations) and the next run only empties what
the clock wrote, instead of loading 1,000,000 rows again.

Then, for each size, the real LapseClock (services.alerts.clock.ticker) with an injected clock that
starts on a Monday at 12:00 and is moved, the two sizes taking turns tick by tick so the
shared machine's load falls on both alike:
- quiet ticks: one simulated minute apart in the afternoon (no midnight crossed): the cost of
  a tick with nothing due, which is what every tick but one a day costs;
- midnight ticks: to 00:00:00 of Tue, Wed and Thu, the instant the obligations due the day
  before lapse, ticking at that instant as `run()` does (it sleeps until the next midnight).
  Each such tick raises that day's lapses (committed and published first), warnings and
  escalations, and records their alerts. Latency = the time of the stream entry (Redis entry
  id, ms) of each `obligation-lapsed` minus the wall time at which the clock was moved past
  midnight.

Prints p50/p99 latency, tick costs, and the ratios large/small. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import os
import pstats
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from services.alerts.service import AlertService
from services.platform.heap import settle_heap
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.rules.calendar import LONDON

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
START = datetime(2025, 3, 24, 12, 0, tzinfo=LONDON)  # Monday
MIDNIGHTS = [datetime(2025, 3, d, 0, 0, tzinfo=LONDON) for d in (25, 26, 27)]
PROSECUTORS = 50


@asynccontextmanager
async def database(n: int, per_day: int, *, keep: bool) -> AsyncIterator[tuple[str, bool]]:
    """A database for one size: fresh and dropped afterwards, or with `keep` one named after
    the size that stays for the next run (yields its URL and whether it is already loaded)."""
    admin = await asyncpg.connect(POSTGRES_URL)
    name = (
        f"bench_lapse_keep_{n}_{per_day}_{_schema()}"
        if keep
        else f"bench_lapse_{uuid.uuid4().hex[:10]}"
    )
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    if not exists:
        await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    loaded = bool(exists) and await _loaded(url, n)
    try:
        yield url, loaded
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _schema() -> str:
    """A fingerprint of the migrations: a kept database made by other ones is not reused (drop
    stale `bench_lapse_keep_*` databases by hand)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parents[1] / "schemas/migrations/versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


async def _loaded(url: str, n: int) -> bool:
    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM obligations WHERE state = 'open'")
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()
    return bool(count == n)


async def reset(url: str) -> float:
    """Forget what an earlier run of the clock did on a kept database (the obligations, which
    the clock never writes, stay); returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    await conn.execute(
        "TRUNCATE alarms, alerts, digests, deliveries, lapse_clock, tracking_outbox,"
        " audit_entries RESTART IDENTITY"
    )
    await conn.execute("VACUUM (ANALYZE) obligations")  # as after a load: the rest is new
    await conn.execute("CHECKPOINT")
    await conn.close()
    return time.perf_counter() - started


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


@dataclass
class Subject:
    """One size: its database, clock and figures."""

    n: int
    settings: Settings
    service: AlertService
    clock: Clock
    redis: Redis
    prepared: str
    prepare_s: float
    profiler: cProfile.Profile | None
    quiet: list[float] = field(default_factory=list)
    nights: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    raised: list[tuple[int, int, int]] = field(default_factory=list)


async def prepare(
    stack: AsyncExitStack, n: int, per_day: int, *, keep: bool, profile: bool
) -> Subject:
    url, already = await stack.enter_async_context(database(n, per_day, keep=keep))
    namespace = f"bench-lapse-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,
        database_url=url,  # type: ignore[call-arg]
        redis_url=REDIS_URL,
        namespace=namespace,
        alerts_enabled=False,
    )
    runtime = await stack.enter_async_context(open_runtime(settings))
    took = await reset(url) if already else await load(url, n, per_day)
    redis = Redis.from_url(REDIS_URL)
    stack.push_async_callback(_forget, redis, namespace)
    clock = Clock(START)
    return Subject(
        n=n,
        settings=settings,
        service=AlertService(runtime, redis, now=clock),
        clock=clock,
        redis=redis,
        prepared="reset" if already else "loaded",
        prepare_s=took,
        profiler=cProfile.Profile() if profile else None,
    )


async def _forget(redis: Redis, namespace: str) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def quiet_tick(s: Subject, minute: int) -> None:
    s.clock.at = START + timedelta(minutes=minute)
    began = time.perf_counter()
    await s.service.clock.tick()
    s.quiet.append(time.perf_counter() - began)


async def midnight_tick(s: Subject, instant: datetime) -> None:
    s.clock.at = START.replace(day=instant.day - 1, hour=23, minute=59)
    await s.service.clock.tick()
    stream = s.settings.tracking_stream
    await s.redis.delete(stream)
    if s.profiler:
        s.profiler.enable()
    s.clock.at = instant
    crossed = time.time()
    report = await s.service.clock.tick()
    s.nights.append(time.time() - crossed)
    if s.profiler:
        s.profiler.disable()
    entries = await s.redis.xrange(stream)
    lapsed = [
        int(entry_id.split(b"-")[0]) / 1000 - crossed
        for entry_id, fields in entries
        if b'"type":"obligation-lapsed"' in fields[b"event"]
    ]
    s.latencies += lapsed
    s.raised.append((report.alerts, len(lapsed), len(entries)))
    assert report.midnights == [instant.date()], report


def summary(s: Subject) -> dict[str, Any]:
    latencies = sorted(s.latencies)
    return {
        "quiet_tick_ms": statistics.median(s.quiet) * 1000,
        "midnight_tick_s": statistics.median(s.nights),
        "p50_s": latencies[len(latencies) // 2],
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def main(args: argparse.Namespace) -> None:
    sizes = [n for n in (args.small, args.large) if n]  # --large 0: the small size only
    async with AsyncExitStack() as stack:
        subjects = []
        for n in sizes:
            print(f"preparing {n:,} open obligations ...", flush=True)
            subject = await prepare(
                stack, n, args.per_day, keep=args.keep, profile=bool(args.profile)
            )
            print(f"  {subject.prepared} in {subject.prepare_s:.1f} s", flush=True)
            subjects.append(subject)
        settle_heap()  # as `followup serve` does when it starts
        # The sizes take turns, tick by tick, so the machine's load falls on both alike.
        for s in subjects:
            await s.service.clock.tick()  # first start
        for minute in range(1, 31):
            for s in subjects if minute % 2 else subjects[::-1]:
                await quiet_tick(s, minute)
        for night, instant in enumerate(MIDNIGHTS):
            for s in subjects if night % 2 == 0 else subjects[::-1]:
                await midnight_tick(s, instant)
    results = [summary(s) for s in subjects]
    for s, r in zip(subjects, results, strict=True):
        nights = ", ".join(f"{t:.2f}" for t in s.nights)
        raised = "; ".join(f"{a} alerts, {lp} lapsed, {e} events" for a, lp, e in s.raised)
        print(
            f"  {s.n:>9,} open: quiet tick {r['quiet_tick_ms']:.1f} ms (median of 30); "
            f"midnight tick {r['midnight_tick_s']:.2f} s (median of 3); due -> "
            f"obligation-lapsed on the stream for {len(s.latencies)} lapses: "
            f"p50 {r['p50_s'] * 1000:.0f} ms, p99 {r['p99_s'] * 1000:.0f} ms\n"
            f"    midnight ticks {nights} s; raised per midnight: {raised}",
            flush=True,
        )
        if s.profiler and args.profile:
            s.profiler.dump_stats(f"{args.profile}.{s.n}")
            pstats.Stats(s.profiler).sort_stats("cumulative").print_stats(40)
    if len(results) == 2:
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
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's loaded database (bench_lapse_keep_N_PERDAY) and reuse it next "
        "time, resetting only what the clock wrote",
    )
    parser.add_argument(
        "--profile", metavar="PATH", help="cProfile the midnight ticks; stats to PATH.N"
    )
    asyncio.run(main(parser.parse_args()))
