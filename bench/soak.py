"""Soak: many events through the real `serve`, its memory and Redis's sampled as they flow.

    .venv/bin/python -m bench.soak --events 1000000 --database sqlite

One `followup serve --no-http` (as bench.throughput runs it) on a fresh database, against a
Redis server of the bench's own (so its memory is this run's alone). The lines of bench.mix are
published in chunks while the consumer keeps up (no more than `--max-lag` entries waiting), so
the stream flows as in production rather than as one backlog. Every `--sample` seconds the
resident memory (RSS) of `serve`, of each of its child processes (the decoding helper) and of
redis-server is read (psutil), with Redis's `used_memory` and the events stream's length.

Printed: each process's peak, and the curve at 10%, 25%, 50%, 75% and 100% of the events
applied, so "flat after warm-up" can be judged; then Redis's `used_memory` before and after a
last trim of everything applied (services.platform.broker.streams.trim_applied, as `serve` runs it).
`serve` trims as it goes with `--retention-hours` (FOLLOWUP_STREAM_RETENTION_HOURS) checked
every `--retention-check` seconds; `--retention-hours 0` turns trimming off.

Results and how to read them: BENCHMARKS.md, "Bounded resources (issue 15)".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.mix import mix_lines
from bench.throughput import VENV_BIN, child, database, database_facts, readers, wait_for_reader
from services.platform.broker.streams import group_lag, publish_entries, trim_applied
from services.platform.runtime import open_runtime
from services.platform.settings import Settings

MB = 1024 * 1024
TARGET_MB = 500  # per process
MARKS = (0.10, 0.25, 0.50, 0.75, 1.00)


@dataclass
class Sample:
    seconds: float
    applied: int
    serve: int  # RSS, bytes
    helpers: int  # the children's RSS, summed
    redis: int
    used_memory: int
    stream_length: int


@dataclass
class Soak:
    events: int
    samples: list[Sample] = field(default_factory=list)

    def at(self, share: float) -> Sample:
        wanted = share * self.events
        return next((s for s in self.samples if s.applied >= wanted), self.samples[-1])

    def report(self) -> str:
        peaks = {
            "serve": max(s.serve for s in self.samples),
            "decode helper": max(s.helpers for s in self.samples),
            "redis-server": max(s.redis for s in self.samples),
        }
        lines = ["  applied   seconds   serve MiB helper MiB redis MiB used_memory MiB  XLEN"]
        for share in MARKS:
            s = self.at(share)
            lines.append(
                f"  {share:>6.0%} {s.seconds:9.0f} {s.serve / MB:10.0f} {s.helpers / MB:10.0f}"
                f" {s.redis / MB:9.0f} {s.used_memory / MB:15.1f} {s.stream_length:7,}"
            )
        verdicts = ", ".join(
            f"{name} {peak / MB:.0f} MiB ({'under' if peak < TARGET_MB * MB else 'OVER'} "
            f"{TARGET_MB} MiB)"
            for name, peak in peaks.items()
        )
        return "\n".join([f"  peak RSS: {verdicts}", *lines])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def redis_server(binary: str, directory: Path) -> AsyncIterator[tuple[str, int]]:
    """A Redis of the run's own, without persistence (its memory is what is measured)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(directory),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = Redis.from_url(url)
        for _ in range(100):
            with contextlib.suppress(OSError, RedisError):
                if await client.ping():
                    break
            await asyncio.sleep(0.1)
        await client.aclose()
        yield url, process.pid
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


def rss(process: psutil.Process) -> int:
    with contextlib.suppress(psutil.Error):
        return int(process.memory_info().rss)
    return 0


async def sample_until(
    stop: asyncio.Event, soak: Soak, redis: Redis, serve_pid: int, redis_pid: int,
    stream: str, group: str, published: list[int], every: float,
) -> None:  # fmt: skip
    serve, server = psutil.Process(serve_pid), psutil.Process(redis_pid)
    start = time.monotonic()
    while True:
        lag = await group_lag(redis, stream=stream, group=group)
        helpers = sum(rss(c) for c in _children(serve))
        memory = await redis.info("memory")
        soak.samples.append(
            Sample(
                seconds=time.monotonic() - start,
                applied=published[0] - lag["undelivered"] - lag["pending"],
                serve=rss(serve),
                helpers=helpers,
                redis=rss(server),
                used_memory=int(memory["used_memory"]),
                stream_length=int(await redis.xlen(stream)),
            )
        )
        if len(soak.samples) % 12 == 1:  # progress, in case the run is cut short
            print(f"  {soak.samples[-1]}", flush=True)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def _children(process: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return list(process.children(recursive=True))
    return []


async def publish_flowing(
    redis: Redis, stream: str, group: str, payloads: Sequence[bytes], published: list[int],
    chunk: int, max_lag: int, alive: Any,
) -> None:  # fmt: skip
    for i in range(0, len(payloads), chunk):
        while True:
            lag = await group_lag(redis, stream=stream, group=group)
            if lag["undelivered"] + lag["pending"] <= max_lag:
                break
            alive()
            await asyncio.sleep(0.2)
        await publish_entries(redis, stream=stream, payloads=payloads[i : i + chunk])
        published[0] += len(payloads[i : i + chunk])


async def drained(redis: Redis, stream: str, group: str, alive: Any) -> None:
    while True:
        lag = await group_lag(redis, stream=stream, group=group)
        if lag["undelivered"] + lag["pending"] == 0:
            return
        alive()
        await asyncio.sleep(0.5)


async def soak(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    payloads = [line.encode() for line in mix_lines(args.events, seed=args.seed)]
    print(f"{len(payloads):,} events of bench.mix (seed {args.seed}) made in "
          f"{time.perf_counter() - started:.0f}s; load average {_load()}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        directory = Path(tmp)
        async with (
            redis_server(args.redis_server, directory) as (url, redis_pid),
            database(args.database, directory) as database_url,
        ):
            settings = Settings(
                _env_file=None,
                data_dir=directory,
                database_url=database_url,
                redis_url=url,
                namespace=f"soak-{uuid.uuid4().hex[:8]}",
            )
            redis = Redis.from_url(url)
            try:
                await run(args, settings, redis, redis_pid, payloads)
            finally:
                await redis.aclose()


async def run(
    args: argparse.Namespace, settings: Settings, redis: Redis, redis_pid: int,
    payloads: Sequence[bytes],
) -> None:  # fmt: skip
    stream, group = settings.events_stream, settings.tracker_group
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": settings.database_url or "",
        "FOLLOWUP_REDIS_URL": settings.redis_url or "",
        "FOLLOWUP_NAMESPACE": settings.namespace,
        "FOLLOWUP_DATA_DIR": str(settings.data_dir),
        "FOLLOWUP_STREAM_RETENTION_HOURS": str(args.retention_hours),
        "FOLLOWUP_RETENTION_CHECK_SECONDS": str(args.retention_check),
    }
    log = settings.data_dir / "serve.log"
    async with open_runtime(settings) as runtime:  # migrates before serve starts
        before = await readers(redis)
        command = [str(VENV_BIN / "followup"), "serve", "--no-http"]
        async with child(command, env=env, log=log, cwd=settings.data_dir) as process:
            await wait_for_reader(redis, before)
            soak, published, stop = Soak(len(payloads)), [0], asyncio.Event()

            def alive() -> None:
                if process.returncode is not None:
                    raise RuntimeError(f"serve exited with {process.returncode}; see {log}")

            sampler = asyncio.create_task(
                sample_until(stop, soak, redis, process.pid, redis_pid, stream, group,
                             published, args.sample)
            )  # fmt: skip
            started = time.perf_counter()
            await publish_flowing(
                redis, stream, group, payloads, published, args.chunk, args.max_lag, alive
            )
            await drained(redis, stream, group, alive)
            took = time.perf_counter() - started
            stop.set()
            await sampler
        facts = await database_facts(runtime.sessions, runtime.today())
    print(f"{len(payloads):,} events applied in {took:.0f}s ({len(payloads) / took:,.0f}/s); "
          f"events recorded {facts['received']:,}, dead letters {facts['dead']}; "
          f"load average {_load()}")  # fmt: skip
    print(soak.report())
    await last_trim(redis, stream)


async def last_trim(redis: Redis, stream: str) -> None:
    """Everything is applied: trim the whole stream, as `serve` would once it is old enough."""
    before, length = int((await redis.info("memory"))["used_memory"]), await redis.xlen(stream)
    removed = await trim_applied(redis, stream=stream, before_ms=int(time.time() * 1000) + 1)
    after = int((await redis.info("memory"))["used_memory"])
    print(f"  Redis used_memory before the last trim {before / MB:.1f} MiB ({length:,} entries), "
          f"after {after / MB:.1f} MiB ({removed:,} entries trimmed, "
          f"{await redis.xlen(stream):,} left)")  # fmt: skip


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--chunk", type=int, default=10_000, help="entries published at once")
    parser.add_argument("--max-lag", type=int, default=50_000, help="entries left waiting")
    parser.add_argument("--retention-hours", type=float, default=0.02)
    parser.add_argument("--retention-check", type=float, default=15.0)
    parser.add_argument(
        "--redis-server",
        default=str(VENV_BIN / "redis-server")
        if (VENV_BIN / "redis-server").exists()
        else shutil.which("redis-server") or "redis-server",
        help="default: the embedded server's binary, as `serve` runs without a Redis URL",
    )
    asyncio.run(soak(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
