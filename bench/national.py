"""A year of national history end to end on PostgreSQL, then the lapse clock's catch-up and one
weekly summary per Area.

    .venv/bin/python -m bench.national [--weeks 52] [--seed 1] [--via stream|backfill] [--file F]

1. `followup generate --national` writes the year (every Area and CPS Direct) to a file, as a
   process of its own: its lines, seconds and peak memory.
2. A fresh PostgreSQL database (migrated) and a Redis server of the run's own.
3. The lapse clock starts at the year's first day (one tick before any event), so that its
   cursor is where a clock that had run all year would have started.
4. The year goes in, with the memory of every process sampled as it does:
   - `--via stream` (the default): `followup serve --no-http` consumes while the file's lines
     are published to the stream in chunks, no more than `--max-lag` entries waiting (events
     flow as they would over a year, not as one backlog);
   - `--via backfill`: `followup backfill FILE`.
   `serve` runs with the lapse clock off (FOLLOWUP_ALERTS_ENABLED=false): on the wall clock it
   would move the cursor to today, and the catch-up is measured on its own in step 5; and
   without weekly summaries (FOLLOWUP_SUMMARY_SCHEDULE=false), measured in step 6.
5. Catch-up: the real lapse clock (services.alerts.service.AlertService) told that the year is
   over ticks once: every midnight of the year walked over the open obligations, lapses,
   warnings and escalations raised, their alerts recorded. Seconds, alarms, alerts.
6. One weekly summary (`build_summary`, every section) per Area for the year's last week.
7. Database size, the largest tables, and the verdicts against the targets: the year in under
   10 minutes, each process under 500 MiB at its peak.

Not a test: it prints figures. Results: BENCHMARKS.md, "National scale".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import psutil  # type: ignore[import-untyped,unused-ignore]
from redis.asyncio import Redis
from sqlalchemy import text

from bench.soak import MB, TARGET_MB, drained, redis_server, rss
from bench.throughput import VENV_BIN, child, database, database_facts, readers, wait_for_reader
from services.alerts.service import AlertService
from services.platform.broker.streams import group_lag, publish_entries
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.summaries.build import build_summary
from services.summaries.model import Scope
from services.summaries.weeks import IsoWeek

TARGET_SECONDS = 600
FOLLOWUP = str(VENV_BIN / "followup")


@dataclass
class Peaks:
    """Each process's peak resident memory (bytes), a process counted with its children."""

    named: dict[str, int] = field(default_factory=dict)

    def note(self, name: str, value: int) -> None:
        self.named[name] = max(self.named.get(name, 0), value)

    def report(self) -> list[str]:
        return [
            f"  {name:<22} {peak / MB:8.0f} MiB "
            f"({'under' if peak < TARGET_MB * MB else 'OVER'} {TARGET_MB} MiB)"
            for name, peak in self.named.items()
        ]


def _tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    return []


async def sample(stop: asyncio.Event, peaks: Peaks, pids: dict[str, int], every: float) -> None:
    """Every `every` seconds: the RSS of each named process and of each of its children
    (the decoding helper, pool workers) on its own line; the bench's own process without its
    children (they are the processes measured)."""
    while True:
        for name, pid in pids.items():
            tree = _tree(pid)[:1] if pid == os.getpid() else _tree(pid)
            if tree:
                peaks.note(name, rss(tree[0]))
            for i, kid in enumerate(tree[1:], 1):
                peaks.note(f"{name} child {i}", rss(kid))
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def generate(args: argparse.Namespace, out: Path, peaks: Peaks) -> int:
    command = [
        FOLLOWUP, "generate", "--national", "--weeks", str(args.weeks), "--seed", str(args.seed),
        "--start", args.start.isoformat(), "--out", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while process.poll() is None:
        peaks.note("followup generate", rss(process))
        time.sleep(0.5)
    if process.returncode:
        raise SystemExit(f"generate failed: {process.stderr.read().decode()[-2000:]}")
    count = count_lines(out)
    took = time.perf_counter() - started
    print(f"generated {count:,} events ({out.stat().st_size / MB:,.0f} MiB) in {took:.0f} s; "
          f"load average {_load()}", flush=True)  # fmt: skip
    return count


def count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


async def publish_file(
    redis: Redis, settings: Settings, path: Path, *, chunk: int, max_lag: int,
    alive: Callable[[], None], published: list[int],
) -> None:  # fmt: skip
    """The file's lines onto the stream, a chunk at a time, while the consumer keeps up."""
    stream, group = settings.events_stream, settings.tracker_group
    with path.open("rb") as lines:
        while batch := [line.rstrip(b"\n") for _, line in zip(range(chunk), lines, strict=False)]:
            while True:
                lag = await group_lag(redis, stream=stream, group=group)
                if lag["undelivered"] + lag["pending"] <= max_lag:
                    break
                alive()
                await asyncio.sleep(0.25)
            await publish_entries(redis, stream=stream, payloads=[b for b in batch if b])
            published[0] += len(batch)


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": settings.database_url or "",
        "FOLLOWUP_REDIS_URL": settings.redis_url or "",
        "FOLLOWUP_NAMESPACE": settings.namespace,
        "FOLLOWUP_DATA_DIR": str(settings.data_dir),
        "FOLLOWUP_ALERTS_ENABLED": "false",
        # On the wall clock, today's weekly summaries would be rendered for every scope as its
        # staff arrive, a cost of the day the bench runs, not of the year: step 6 measures them.
        "FOLLOWUP_SUMMARY_SCHEDULE": "false",
    }


async def load_year(
    args: argparse.Namespace, settings: Settings, redis: Redis, path: Path, peaks: Peaks,
    redis_pid: int,
) -> float:  # fmt: skip
    """The year in, by the stream or by backfill; returns its seconds."""
    env, log = _env(settings), settings.data_dir / f"{args.via}.log"
    stop = asyncio.Event()
    if args.via == "backfill":
        started = time.perf_counter()
        async with child([FOLLOWUP, "backfill", str(path)], env=env, log=log,
                         cwd=settings.data_dir) as process:  # fmt: skip
            pids = {"followup backfill": process.pid, "redis-server": redis_pid}
            sampler = asyncio.create_task(sample(stop, peaks, pids, args.sample))
            code = await process.wait()
        stop.set()
        await sampler
        if code != 0:
            raise SystemExit(f"backfill exited with {code}; see {log}")
        return time.perf_counter() - started
    before = await readers(redis)
    command = [FOLLOWUP, "serve", "--no-http", "--workers", str(args.workers)]
    async with child(command, env=env, log=log, cwd=settings.data_dir) as process:
        await wait_for_reader(redis, before)

        def alive() -> None:
            if process.returncode is not None:
                raise RuntimeError(f"serve exited with {process.returncode}; see {log}")

        pids = {"followup serve": process.pid, "redis-server": redis_pid, "bench publisher":
                os.getpid()}  # fmt: skip
        sampler = asyncio.create_task(sample(stop, peaks, pids, args.sample))
        published, started = [0], time.perf_counter()
        progress = asyncio.create_task(_progress(published, started))
        try:
            await publish_file(redis, settings, path, chunk=args.chunk, max_lag=args.max_lag,
                               alive=alive, published=published)  # fmt: skip
            await drained(redis, settings.events_stream, settings.tracker_group, alive)
        finally:
            progress.cancel()
        took = time.perf_counter() - started
        stop.set()
        await sampler
    return took


async def _progress(published: list[int], started: float) -> None:
    while True:
        await asyncio.sleep(30)
        took = time.perf_counter() - started
        print(f"  {took:5.0f} s: {published[0]:,} published ({published[0] / took:,.0f}/s)",
              flush=True)  # fmt: skip


def _instant(day: date) -> datetime:
    return datetime.combine(day, day_time(12), tzinfo=UTC)


async def catch_up(settings: Settings, redis: Redis, end: date) -> None:
    """The lapse clock, started at the year's first day, told the year is over."""
    at = {"now": _instant(end)}
    async with open_runtime(settings) as runtime:
        service = AlertService(runtime, redis, now=lambda: at["now"])
        started = time.perf_counter()
        report = await service.clock.tick()
        took = time.perf_counter() - started
    print(f"lapse clock catch-up to {end}: {took:.1f} s, {len(report.midnights)} midnights, "
          f"{report.alarms:,} alarms, {report.alerts:,} alerts, {report.published:,} "
          f"published", flush=True)  # fmt: skip


async def start_clock(settings: Settings, redis: Redis, start: date) -> None:
    async with open_runtime(settings) as runtime:
        service = AlertService(runtime, redis, now=lambda: _instant(start))
        await service.clock.tick()


async def summaries(settings: Settings, end: date) -> None:
    week = IsoWeek(*end.isocalendar()[:2])
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        areas = list(
            (await session.execute(text("SELECT DISTINCT area FROM staff ORDER BY area"))).scalars()
        )
        times: list[tuple[str, float]] = []
        for area in areas:
            started = time.perf_counter()
            await build_summary(session=session, scope=Scope(area=area), week=week, as_of=end)
            times.append((area, time.perf_counter() - started))
    slowest = max(times, key=lambda t: t[1]) if times else ("-", 0.0)
    print(f"weekly summaries for {week}: {len(times)} Areas in {sum(t for _, t in times):.1f} s, "
          f"slowest {slowest[0]} {slowest[1]:.2f} s", flush=True)  # fmt: skip


async def sizes(settings: Settings, end: date) -> None:
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        total = (await session.execute(text("SELECT pg_database_size(current_database())"))).one()
        rows = (
            await session.execute(
                text(
                    "SELECT relname, pg_total_relation_size(relid) FROM pg_statio_user_tables "
                    "ORDER BY 2 DESC LIMIT 6"
                )
            )
        ).all()
        facts = await database_facts(runtime.sessions, end)
    print(f"database {total[0] / MB:,.0f} MiB; largest: "
          + ", ".join(f"{name} {size / MB:,.0f} MiB" for name, size in rows))  # fmt: skip
    print(f"events recorded {facts['received']:,}, dead letters {facts['dead']}, "
          f"obligations at {end} {dict(facts['states'])}")  # fmt: skip


async def national(args: argparse.Namespace) -> None:
    end = args.start + timedelta(weeks=args.weeks) - timedelta(days=1)
    print(f"national history {args.start} to {end}, seed {args.seed}, via {args.via}; "
          f"load average {_load()}", flush=True)  # fmt: skip
    peaks = Peaks()
    with tempfile.TemporaryDirectory(prefix="national-") as tmp:
        directory = Path(tmp)
        path = args.file or directory / "year.jsonl"
        events = count_lines(path) if args.file else generate(args, path, peaks)
        async with (
            redis_server(args.redis_server, directory) as (url, redis_pid),
            database("postgresql", directory) as database_url,
        ):
            settings = Settings(
                _env_file=None,
                data_dir=directory,
                database_url=database_url,
                redis_url=url,
                namespace=f"national-{uuid.uuid4().hex[:8]}",
            )
            redis = Redis.from_url(url)
            try:
                await start_clock(settings, redis, args.start)
                took = await load_year(args, settings, redis, path, peaks, redis_pid)
                verdict = "under" if took < TARGET_SECONDS else "OVER"
                print(f"the history ({args.weeks} weeks): {events:,} events in {took:.0f} s "
                      f"({events / took:,.0f}/s), "
                      f"{verdict} {TARGET_SECONDS // 60} minutes; load average {_load()}",
                      flush=True)  # fmt: skip
                await catch_up(settings, redis, end)
                await summaries(settings, end)
                await sizes(settings, end)
            finally:
                await redis.aclose()
    print("peak memory:")
    print("\n".join(peaks.report()))


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.national", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 12, 1))
    parser.add_argument(
        "--file",
        type=Path,
        help="a year written earlier by the same `followup generate` command: not generated again",
    )
    parser.add_argument("--via", choices=("stream", "backfill"), default="stream")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--chunk", type=int, default=10_000, help="entries published at once")
    parser.add_argument("--max-lag", type=int, default=50_000, help="entries left waiting")
    # A Redis of version 7 or later, as a national deployment runs: the embedded server (6.2)
    # has no consumer-group lag counter, and counting the backlog each time the publisher asks
    # would be the bench's own cost, not Followup's.
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    asyncio.run(national(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
