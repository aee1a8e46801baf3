"""End-to-end throughput against FastStream's own do-nothing batch consumer (issue 4).

    .venv/bin/python -m bench.throughput --events 50000 --database both

For each database, in one run and on the same N lines of bench.mix (validated beforehand):

1. baseline: a FastStream RedisBroker with StreamSub(batch=True, max_records=1000, the default
   FOLLOWUP_BATCH_SIZE that followup reads too) whose handler only counts the messages; the
   lines are XADDed pipelined (field `event`, as `followup publish` does) and the clock runs
   from the first XADD until the group has no lag and nothing pending (everything delivered and
   acked).
2. followup: the real app (build_app over open_runtime, a fresh database, a unique namespace),
   timed the same way until `lag` is 0 (services.platform.broker.streams.group_lag, as
   `status` reads).

`--mode subprocess` (default) runs each consumer as its own process (`followup serve
--no-http`, and a worker process for the baseline) so the publisher and the consumer do not
share one event loop; `--mode inprocess` runs both as asyncio tasks beside the publisher, as the
integration tests do. `--publish raw` (default) XADDs the pre-validated lines with
services.platform.broker.streams.publish_entries; `--publish validated` goes through
services.tracker.publishing.publish_lines, which parses every line again before publishing it.
`--backlog` publishes everything before starting each consumer and times the consumer alone,
from its first delivery. `--no-hiredis` hides the hiredis parser from redis-py in every process
of the run. `--py-spy PATH` samples the followup consumer process (subprocess mode) with py-spy
and prints its hotspots; the throughput of a sampled run is not comparable. `--profile N`
instead calls services.tracker.handlers.apply_entries on N pre-built entries (batches of that
size) on fresh databases: once timing every SQL statement, once under cProfile.

`--workers N` runs `followup serve --workers N` on PostgreSQL (SQLite has one writer);
`--workers 1,2,4` runs each count in turn in one run, every worker started before anything is
published, and compares their rates. Each run prints the events each consumer applied and
checks the work was shared, every distinct event recorded once, every resent one counted as a
duplicate, no dead letters, and (across counts) the same obligations.

`--repeat N` measures each database N times (baseline then followup each time, the databases
alternating) and prints the median rate and ratio: on a shared machine one run can be far off.

Results and how to read them: BENCHMARKS.md, "Throughput (issue 4)".
"""

from __future__ import annotations

import sys

if "--no-hiredis" in sys.argv:
    sys.modules["hiredis"] = None  # type: ignore[assignment]  # redis-py falls back to Python

import argparse
import asyncio
import contextlib
import cProfile
import io
import logging
import os
import pstats
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg
import redis.utils
from faststream import FastStream
from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlmodel import col

from bench.mix import mix_lines, validate
from schemas.tables import DeadLetter, Obligation, ReceivedEvent
from services.entrypoints.app import build_app
from services.platform.broker.streams import ENTRY_FIELD, ensure_group, group_lag, publish_entries
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.publishing import publish_lines

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_RATE = 10_000  # events/s end to end (issue 4)
TARGET_RATIO = 0.4  # of the do-nothing consumer's rate (issue 4)
# Both consumers read batches of the size `serve` reads by default (FOLLOWUP_BATCH_SIZE).
MAX_RECORDS: int = Settings.model_fields["batch_size"].default
POLLING_MS = 200  # the same XREADGROUP block as services.entrypoints.app
POLL_S = 0.01  # how often the bench reads the group's lag
SPY_RATE = 250  # py-spy samples per second
BACKLOG = "--backlog" in sys.argv  # publish everything first, then time the consumer alone
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Timing:
    events: int
    seconds: float
    publish_seconds: float
    half_seconds: float  # until half the events were applied
    cpu: Cpu | None = None  # the consumer's and the machine's CPU while it ran (Linux)

    @property
    def halves(self) -> str:
        first = self.events / 2 / self.half_seconds
        second = self.events / 2 / max(self.seconds - self.half_seconds, 1e-9)
        return f"first half {first:,.0f}/s, second half {second:,.0f}/s"

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass
class Cpu:
    process: float  # seconds of CPU the consumer process used
    machine: float  # seconds of CPU every process used, over all cores
    cores: int
    threads: list[float]  # seconds of CPU of each of its threads (the busiest first)
    children: float = 0.0  # seconds of CPU of its child processes (decoding helper, workers)

    def describe(self, events: int, seconds: float) -> str:
        busy = ", ".join(f"{t / seconds:.0%}" for t in self.threads if t > 0.02 * seconds)
        children = (
            f"; its child processes {self.children / events * 1e6:.0f} us/event "
            f"({self.children / seconds:.0%} of one core)"
            if self.children > 0.01 * seconds
            else ""
        )
        return (
            f"consumer CPU {self.process / events * 1e6:.0f} us/event "
            f"({self.process / seconds:.0%} of one core; by thread {busy}){children}; "
            f"machine busy {self.machine / seconds / self.cores:.0%} of {self.cores} cores"
        )


@dataclass
class CpuReading:
    process: float
    machine: float
    threads: dict[int, float]
    children: dict[int, float] = field(default_factory=dict)

    def since(self, before: CpuReading) -> Cpu:
        threads = [t - before.threads.get(tid, 0.0) for tid, t in self.threads.items()]
        children = [c - before.children.get(pid, 0.0) for pid, c in self.children.items()]
        return Cpu(
            self.process - before.process,
            self.machine - before.machine,
            os.cpu_count() or 1,
            sorted(threads, reverse=True),
            sum(children),
        )


def cpu_now(pid: int) -> CpuReading | None:
    """CPU seconds of `pid`, of each of its threads and of the whole machine, from /proc
    (Linux); None elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(stat: Path) -> float:
        fields = stat.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        process = used(Path(f"/proc/{pid}/stat"))
        threads = {
            int(task.name): used(task / "stat") for task in Path(f"/proc/{pid}/task").iterdir()
        }
        machine = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        kids = {
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        }
    except (OSError, ValueError):
        return None
    children: dict[int, float] = {}
    for kid in kids:
        with contextlib.suppress(OSError, ValueError):  # it may have just exited
            children[kid] = used(Path(f"/proc/{kid}/stat"))
    busy = sum(int(v) for i, v in enumerate(machine[:8]) if i not in (3, 4))  # not idle, iowait
    return CpuReading(process, busy / tick, threads, children)


@dataclass
class Result:
    database: str
    baseline: Timing
    followup: Timing
    received: int = 0
    obligations: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    workers: int = 1
    shares: dict[str, int] = field(default_factory=dict)  # events applied, by consumer
    duplicates: int = 0  # deliveries the consumers found already applied
    distinct: int = 0  # distinct events published

    @property
    def ratio(self) -> float:
        return self.followup.rate / self.baseline.rate

    def problems(self) -> list[str]:
        """Work not shared by every worker, or an event lost or applied twice."""
        events, unique = self.followup.events, self.distinct
        found = []
        if self.workers > 1 and len([n for n in self.shares.values() if n > 0]) < self.workers:
            found.append(f"fewer than {self.workers} consumers applied events: {self.shares}")
        if self.received != unique or sum(self.shares.values()) != unique:
            found.append(
                f"{unique} distinct events; recorded {self.received}, applied "
                f"{sum(self.shares.values())}"
            )
        if self.duplicates != events - unique:
            found.append(f"{events - unique} resent, {self.duplicates} counted as duplicates")
        if self.dead_letters:
            found.append(f"{self.dead_letters} dead letters")
        return found


# --- timing ----------------------------------------------------------------------------------


async def readers(redis: Redis) -> set[int]:
    """Ids of the Redis clients whose last command was XREADGROUP."""
    return {int(c["id"]) for c in await redis.client_list() if c.get("cmd") == "xreadgroup"}


async def backlog(publish: Callable[[], Any]) -> None:
    """With --backlog, everything is published before the consumer starts."""
    if BACKLOG:
        await publish()


async def wait_for_reader(
    redis: Redis, before: set[int], within: float = 60, *, count: int = 1
) -> None:
    """Until `count` new clients issue XREADGROUP: the consumers (every worker of `serve
    --workers N`) are up. (Redis 7.0 here lists no consumer in XINFO CONSUMERS while it blocks
    on an empty stream, so that cannot tell.)"""
    if BACKLOG:
        return  # it starts consuming at once: time_drain waits for the first delivery
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(await readers(redis) - before) >= count:
            await asyncio.sleep(0.3)  # let it settle into its polling loop
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"fewer than {count} new XREADGROUP clients within {within:.0f}s")


async def time_drain(
    redis: Redis,
    stream: str,
    group: str,
    publish: Callable[[], Any],
    events: int,
    within: float = 600,
    alive: Callable[[], None] = lambda: None,
    pid: int | None = None,
) -> Timing:
    """From the first publish until the group has delivered and acked every entry; with
    --backlog, the entries were published before the consumer started, and the clock runs from
    the first delivery seen (polled every 10 ms)."""
    deadline = time.monotonic() + within
    if BACKLOG:
        while (await group_lag(redis, stream=stream, group=group))["undelivered"] >= events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing delivered after {within:.0f}s")
            alive()
            await asyncio.sleep(POLL_S / 10)
        start, published = time.perf_counter(), 0.0
        before = cpu_now(pid) if pid else None
    else:
        start = time.perf_counter()
        before = cpu_now(pid) if pid else None
        await publish()
        published = time.perf_counter() - start
    halfway = None
    while True:
        lag = await group_lag(redis, stream=stream, group=group)
        if lag["undelivered"] + lag["pending"] == 0:
            break
        if halfway is None and lag["undelivered"] + lag["pending"] <= events // 2:
            halfway = time.perf_counter() - start
        if time.monotonic() > deadline:
            raise TimeoutError(f"lag still {lag} after {within:.0f}s")
        alive()
        await asyncio.sleep(POLL_S)
    took = time.perf_counter() - start
    after = cpu_now(pid) if pid else None
    cpu = after.since(before) if before and after else None
    return Timing(events, took, published, took if halfway is None else halfway, cpu)


def raw_publisher(redis: Redis, stream: str, payloads: Sequence[bytes]) -> Callable[[], Any]:
    return lambda: publish_entries(redis, stream=stream, payloads=payloads)


# --- the baseline: FastStream's batch consumer doing nothing ----------------------------------


def baseline_app(stream: str, group: str, counted: list[int]) -> FastStream:
    quiet = logging.getLogger("bench.baseline")
    quiet.setLevel(logging.WARNING)
    broker = RedisBroker(
        REDIS_URL, logger=quiet, log_level=logging.DEBUG
    )  # as services.entrypoints.app
    subscription = StreamSub(
        stream,
        group=group,
        consumer=f"bench-{os.getpid()}",
        batch=True,
        max_records=MAX_RECORDS,
        polling_interval=POLLING_MS,
    )

    @broker.subscriber(stream=subscription)
    async def count(body: list[Any]) -> None:
        counted[0] += len(body)

    return FastStream(broker, logger=quiet)


async def run_baseline(
    redis: Redis, payloads: Sequence[bytes], namespace: str, mode: str
) -> Timing:
    stream, group = f"{namespace}:events", f"{namespace}:baseline"
    await ensure_group(redis, stream=stream, group=group)  # at 0, MKSTREAM
    publish = raw_publisher(redis, stream, payloads)
    if mode == "inprocess":
        counted = [0]
        app = baseline_app(stream, group, counted)
        before = await readers(redis)
        await backlog(publish)
        task = asyncio.create_task(app.run())
        try:
            await wait_for_reader(redis, before)
            timing = await time_drain(redis, stream, group, publish, len(payloads))
        finally:
            app.exit()
            await asyncio.wait_for(task, 30)
        if counted[0] != len(payloads):
            raise RuntimeError(f"baseline counted {counted[0]} of {len(payloads)}")
        return timing
    command = [sys.executable, "-m", "bench.throughput", "--baseline-worker", stream, group]
    command += ["--no-hiredis"] if "--no-hiredis" in sys.argv else []
    before = await readers(redis)
    await backlog(publish)
    async with child(command, env=os.environ.copy(), log=None) as process:
        await wait_for_reader(redis, before)
        return await time_drain(
            redis, stream, group, publish, len(payloads),
            alive=lambda: _alive(process), pid=process.pid,
        )  # fmt: skip


def baseline_worker(stream: str, group: str) -> None:
    counted = [0]
    asyncio.run(baseline_app(stream, group, counted).run())
    print(f"baseline worker counted {counted[0]}", file=sys.stderr)


# --- followup end to end ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str, directory: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory}/followup.db"
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:  # a new connection: the server may have been restarted meanwhile
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run_followup(
    redis: Redis,
    lines: Sequence[str],
    payloads: Sequence[bytes],
    settings: Settings,
    mode: str,
    publish_mode: str,
    py_spy: str | None,
    workers: int = 1,
) -> tuple[Timing, dict[str, Any]]:
    stream, group = settings.events_stream, settings.tracker_group
    async with open_runtime(settings) as runtime:  # migrates before any consumer starts
        if publish_mode == "validated":

            async def publish() -> Any:
                report = await publish_lines(runtime=runtime, redis=redis, lines=lines)
                if report.rejected:
                    raise RuntimeError(f"{len(report.rejected)} lines rejected by publish")

        else:
            publish = raw_publisher(redis, stream, payloads)
        if mode == "inprocess":
            app = build_app(runtime, REDIS_URL, http=False)
            before = await readers(redis)
            await backlog(publish)
            task = asyncio.create_task(app.run())
            try:
                await wait_for_reader(redis, before)
                timing = await time_drain(redis, stream, group, publish, len(lines))
            finally:
                app.exit()
                await asyncio.wait_for(task, 30)
        else:
            env = {
                **os.environ,
                "FOLLOWUP_DATABASE_URL": settings.database_url or "",
                "FOLLOWUP_REDIS_URL": REDIS_URL,
                "FOLLOWUP_NAMESPACE": settings.namespace,
                "FOLLOWUP_DATA_DIR": str(settings.data_dir),
                "FOLLOWUP_BATCH_SIZE": str(settings.batch_size),
            }
            command = [str(VENV_BIN / "followup"), "serve", "--no-http"]
            if "--no-hiredis" in sys.argv:
                command = [sys.executable, "-c", _SERVE_WITHOUT_HIREDIS, "serve", "--no-http"]
            if workers > 1:
                command += ["--workers", str(workers)]
            log = settings.data_dir / "serve.log"
            before = await readers(redis)
            await backlog(publish)
            async with child(command, env=env, log=log, cwd=settings.data_dir) as process:
                await wait_for_reader(redis, before, 60 + 60 * workers, count=workers)
                async with sampled(py_spy, process.pid, settings.data_dir) as report:
                    timing = await time_drain(
                        redis, stream, group, publish, len(lines),
                        alive=lambda: _alive(process), pid=process.pid,
                    )  # fmt: skip
            if report:
                print("\n".join(report))
            complaints = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if '"level": "error"' in line or '"level": "warning"' in line or "Traceback" in line
            ]
            if complaints:
                first = complaints[0][:300]
                print(f"  serve logged {len(complaints)} warnings or errors; first: {first}")
        facts = await database_facts(runtime.sessions, runtime.today())
    facts |= await consumer_facts(redis, settings.namespace)
    return timing, facts


_SERVE_WITHOUT_HIREDIS = (
    "import sys; sys.modules['hiredis'] = None\n"
    "from services.entrypoints.cli.main import main; sys.argv[0] = 'followup'; main()"
)


async def database_facts(sessions: Any, today: date) -> dict[str, Any]:
    async with sessions() as session:
        lapsed = (col(Obligation.state) == "open") & (col(Obligation.due) < today)
        rows = (
            await session.execute(
                select(col(Obligation.state), lapsed, func.count()).group_by(
                    col(Obligation.state), lapsed
                )
            )
        ).all()
        states = Counter({("lapsed" if late else state): n for state, late, n in rows})
        received = (await session.execute(select(func.count()).select_from(ReceivedEvent))).one()
        dead = (await session.execute(select(func.count()).select_from(DeadLetter))).one()
    return {"states": states, "received": received[0], "dead": dead[0]}


async def consumer_facts(redis: Redis, namespace: str) -> dict[str, Any]:
    """What the consumers counted (services.tracker.metrics): the events each applied, and the
    deliveries found already applied."""
    raw = {_str(k): _str(v) for k, v in (await redis.hgetall(f"{namespace}:metrics")).items()}
    shares = {
        k.removeprefix("events_applied:"): int(v)
        for k, v in raw.items()
        if k.startswith("events_applied:")
    }
    return {"shares": shares, "duplicates": int(raw.get("duplicates", 0))}


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- processes -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def child(
    command: list[str], *, env: dict[str, str], log: Path | None, cwd: Path | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A process of ours, stopped with SIGTERM (gracefully, as in production) afterwards."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=cwd or ROOT, stdout=out, stderr=out
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def _alive(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        raise RuntimeError(f"a consumer process exited with {process.returncode}")


@contextlib.asynccontextmanager
async def sampled(py_spy: str | None, pid: int, directory: Path) -> AsyncIterator[list[str]]:
    """py-spy samples `pid` while the block runs; the report is filled in afterwards."""
    report: list[str] = []
    if not py_spy:
        yield report
        return
    raw = Path(tempfile.gettempdir()) / f"bench-py-spy-{pid}.txt"
    command = [py_spy, "record", "--pid", str(pid), "--rate", str(SPY_RATE), "--nonblocking"]
    command += ["--threads"]
    command += ["--format", "raw", "--output", str(raw)]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    await asyncio.sleep(1.0)  # attach before the clock starts
    start = time.perf_counter()
    try:
        yield report
    finally:
        seconds = time.perf_counter() - start + 1.0
        spy.send_signal(signal.SIGINT)
        _, errors = await asyncio.wait_for(spy.communicate(), 60)
        if raw.exists():
            report.append(f"{collapsed_report(raw.read_text(), seconds)}\n  (stacks: {raw})")
        else:
            report.append(f"py-spy wrote nothing: {errors.decode()[-500:]}")


def collapsed_report(text: str, seconds: float, top: int = 25) -> str:
    """Self and inclusive share of busy samples per function from py-spy's collapsed stacks
    (`--threads`; py-spy leaves out samples of a thread sleeping in the kernel, such as the
    event loop waiting on Redis or PostgreSQL, or the aiosqlite thread waiting for work: how
    long the event loop waited is estimated from the samples it could have had). SQLAlchemy's
    sync ORM code runs in greenlets, whose stacks py-spy shows cut off from their callers, so
    the inclusive shares of our functions that reach SQLAlchemy are underestimated."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    idle = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        head, *rest = stack.split(";")
        frames = [_frame(f) for f in rest]
        leaf = frames[-1].split(" (")[0].rsplit(".", 1)[-1] if frames else ""
        if leaf in ("", "select", "poll"):
            idle += count
            continue
        busy["event loop" if head.endswith("MainThread") else "other"] += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    total = sum(busy.values())
    possible = SPY_RATE * seconds
    lines = [
        f"py-spy over {seconds:.1f}s: event loop thread busy"
        f" ~{busy['event loop'] / possible:.0%} of the time, other threads (aiosqlite's)"
        f" ~{busy['other'] / possible:.0%}",
        "  busy samples by package: "
        + ", ".join(f"{name} {n / total:.0%}" for name, n in _packages(own).most_common(10)),
        "  self%  incl%  function (share of busy samples, both threads)",
    ]
    for frame, count in own.most_common(top):
        lines.append(f"{count / total:7.1%}{inclusive[frame] / total:7.1%}  {frame}")
    lines.append("  top inclusive in services/, events/, schemas/:")
    ours = [(f, c) for f, c in inclusive.most_common() if _ours(f)]
    for frame, count in ours[:top]:
        lines.append(f"{'':7}{count / total:7.1%}  {frame}")
    return "\n".join(lines)


def _packages(own: Counter[str]) -> Counter[str]:
    packages: Counter[str] = Counter()
    for frame, count in own.items():
        packages[_package(frame)] += count
    return packages


def _frame(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (path/to/file.py)", shortened
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _package(frame: str) -> str:
    path = frame.rsplit(" (", 1)[-1].rstrip(")")
    top = path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")
    return "stdlib json" if top == "json" else top


def _ours(frame: str) -> bool:
    return any(f"({p}/" in frame for p in ("services", "events", "schemas"))


# --- profiling apply_entries directly --------------------------------------------------------


async def profile_apply(lines: Sequence[str], kind: str, top: int = 30) -> None:
    """apply_entries on pre-built entries in batches of MAX_RECORDS, as the consumer calls it:
    once with each SQL statement timed (driver and server time, by statement), then again on
    another fresh database under cProfile (event loop thread only: SQLite's own time runs in
    the aiosqlite thread and shows as the loop's wait in epoll, as does PostgreSQL's)."""
    from services.tracker.handlers import apply_entries

    entries: list[tuple[bytes, Mapping[bytes, bytes]]] = [
        (f"{i + 1}-0".encode(), {ENTRY_FIELD: line.encode()}) for i, line in enumerate(lines)
    ]
    profiler = cProfile.Profile()
    for profiled in (False, True):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            async with database(kind, Path(tmp)) as url:
                settings = Settings(_env_file=None, data_dir=Path(tmp), database_url=url)
                async with open_runtime(settings) as runtime:
                    sql = StatementClock(runtime.engine.sync_engine) if not profiled else None
                    batches: list[float] = []
                    start = time.perf_counter()
                    if profiled:
                        profiler.enable()
                    for i in range(0, len(entries), MAX_RECORDS):
                        began = time.perf_counter()
                        await apply_entries(
                            sessions=runtime.sessions,
                            entries=entries[i : i + MAX_RECORDS],
                            rules=runtime.rules,
                            calendar=runtime.calendar,
                            today=runtime.today(),
                            now=runtime.now(),
                        )
                        batches.append(time.perf_counter() - began)
                    profiler.disable()
                    took = time.perf_counter() - start
        how = "under cProfile" if profiled else "plain, SQL timed"
        quarter = max(1, len(batches) // 4)
        first, last = sum(batches[:quarter]) / quarter, sum(batches[-quarter:]) / quarter
        print(f"apply_entries on {kind}, {how}: {len(entries)} entries in {took:.2f}s "
              f"({len(entries) / took:,.0f} events/s); a batch of {MAX_RECORDS} takes "
              f"{first * 1000:.0f} ms in the first quarter, "
              f"{last * 1000:.0f} ms in the last")  # fmt: skip
        if sql:
            print(sql.report(took))
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(top)
        table = "ncalls" + text.getvalue().split("ncalls", 1)[-1]
        for prefix in (
            f"{sys.prefix}/lib/python3.11/site-packages/",
            f"{sys.base_prefix}/lib/",
            f"{ROOT}/",
        ):
            table = table.replace(prefix, "")
        print(f"by {order}:\n{table}")


class StatementClock:
    """Wall time per SQL statement shape, from cursor execute to its return (with an async
    driver that includes the round trip and the server's work)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.spent: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - conn.info["bench_started"].pop()
        shape = " ".join(statement.split())
        shape = shape[:110] + ("..." if len(shape) > 110 else "")
        self.spent[shape] += took
        self.calls[shape] += 1

    def report(self, wall: float, top: int = 10) -> str:
        total = sum(self.spent.values())
        lines = [f"  SQL: {total:.2f}s of {wall:.2f}s ({total / wall:.0%}) in "
                 f"{sum(self.calls.values())} statements; the costliest:"]  # fmt: skip
        for shape, spent in self.spent.most_common(top):
            calls = self.calls[shape]
            lines.append(
                f"  {spent / wall:6.1%} {calls:5d}x {spent / calls * 1000:7.1f} ms  {shape}"
            )
        return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> list[Result]:
    lines = mix_lines(args.events, seed=args.seed)
    started = time.perf_counter()
    rejected = validate(lines)
    validated = time.perf_counter() - started
    if rejected:
        raise SystemExit(f"the mix has invalid lines: {rejected[:3]}")
    payloads = [line.encode() for line in lines]
    unique = len(set(lines))
    print(
        f"{len(lines)} events ({len(lines) - unique} resent duplicates), seed {args.seed}; "
        f"parse_event alone: {len(lines) / validated:,.0f} lines/s; "
        f"hiredis: {'yes' if redis.utils.HIREDIS_AVAILABLE else 'NO'}; "
        f"mode {args.mode}, publish {args.publish}{', backlog' if BACKLOG else ''}; "
        f"load average {_load()}"
    )
    redis_client = Redis.from_url(REDIS_URL)
    results = []
    run = uuid.uuid4().hex[:8]
    try:
        kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        runs = [
            (kind, attempt, workers)
            for attempt in range(args.repeat)
            for kind in kinds
            for workers in (args.workers if kind == "postgresql" else [1])  # SQLite: one writer
        ]
        for kind, attempt, workers in runs:
            base_ns = f"bench-{run}-{kind}-{attempt}-{workers}-base"
            ns = f"bench-{run}-{kind}-{attempt}-{workers}"
            try:
                baseline = await run_baseline(redis_client, payloads, base_ns, args.mode)
                with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                    async with database(kind, Path(tmp)) as url:
                        settings = Settings(
                            _env_file=None,
                            data_dir=Path(tmp),
                            database_url=url,
                            redis_url=REDIS_URL,
                            namespace=ns,
                            batch_size=MAX_RECORDS,
                        )
                        followup, facts = await run_followup(
                            redis_client, lines, payloads, settings, args.mode, args.publish,
                            args.py_spy, workers,
                        )  # fmt: skip
            finally:
                for namespace in (base_ns, ns):
                    keys = [k async for k in redis_client.scan_iter(match=f"{namespace}:*")]
                    if keys:
                        await redis_client.delete(*keys)
            result = Result(kind, baseline, followup, facts["received"], facts["states"],
                            facts["dead"], workers, facts["shares"],
                            facts["duplicates"], unique)  # fmt: skip
            print_result(result, unique)
            results.append(result)
    finally:
        await redis_client.aclose()
    print(f"load average at the end {_load()}")
    if len(args.workers) > 1:
        compare_workers([r for r in results if r.database == "postgresql"])
    if args.repeat > 1:
        for kind in kinds:
            ratios = sorted(r.ratio for r in results if r.database == kind)
            rates = sorted(r.followup.rate for r in results if r.database == kind)
            print(f"{kind} over {len(ratios)} runs: median followup {median(rates):,.0f} "
                  f"events/s, median ratio {median(ratios):.2f} (ratios {ratios[0]:.2f} to "
                  f"{ratios[-1]:.2f})")  # fmt: skip
    return results


def compare_workers(results: Sequence[Result]) -> None:
    """Rates and ratios by worker count, from this one run; every count must end in the same
    obligations as the first."""
    first = results[0]
    for r in results:
        same = "same" if r.obligations == first.obligations else "DIFFERENT"
        print(
            f"postgresql, serve --workers {r.workers}: {r.followup.rate:,.0f} events/s, ratio "
            f"{r.ratio:.2f}, {r.followup.rate / first.followup.rate:.2f} x --workers "
            f"{first.workers}; obligations {same} as --workers {first.workers}"
        )


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def print_result(r: Result, unique: int) -> None:
    b, f = r.baseline, r.followup
    states = ", ".join(f"{s} {n}" for s, n in sorted(r.obligations.items()))
    rate_ok = "met" if f.rate >= TARGET_RATE else "NOT met"
    ratio_ok = "met" if r.ratio >= TARGET_RATIO else "NOT met"
    print(
        f"{r.database}: {f.events} events\n"
        f"  baseline (FastStream, do nothing): {b.rate:9,.0f} events/s "
        f"({b.seconds:.2f}s, publishing {b.publish_seconds:.2f}s)\n"
        + (f"  {b.cpu.describe(b.events, b.seconds)}\n" if b.cpu else "")
        + f"  followup end to end:               {f.rate:9,.0f} events/s "
        f"({f.seconds:.2f}s, publishing {f.publish_seconds:.2f}s; {f.halves})\n"
        + (f"  {f.cpu.describe(f.events, f.seconds)}\n" if f.cpu else "")
        + f"  ratio followup/baseline: {r.ratio:.2f}\n"
        f"  target >= {TARGET_RATE:,} events/s: {rate_ok}; ratio >= {TARGET_RATIO}: {ratio_ok}\n"
        f"  obligations {sum(r.obligations.values())} ({states}); events recorded "
        f"{r.received} of {unique} distinct; dead letters {r.dead_letters}\n"
        f"  serve --workers {r.workers}; events applied by consumer: "
        f"{', '.join(str(n) for n in sorted(r.shares.values(), reverse=True))}; "
        f"duplicates {r.duplicates}\n"
        f"  work shared, nothing lost or doubled: "
        + ("; ".join(problems) if (problems := r.problems()) else "yes")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--mode", choices=("subprocess", "inprocess"), default="subprocess")
    parser.add_argument("--publish", choices=("raw", "validated"), default="raw")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each database N times, alternating"
    )
    parser.add_argument(
        "--backlog", action="store_true", help="publish first, then time the consumer alone"
    )
    parser.add_argument("--no-hiredis", action="store_true", help="hide hiredis from redis-py")
    parser.add_argument(
        "--workers",
        type=_counts,
        default=[1],
        help="serve --workers N on PostgreSQL (subprocess mode); N,M,...: each in turn",
    )
    parser.add_argument("--py-spy", metavar="PATH", help="sample the followup process")
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile apply_entries on N")
    parser.add_argument("--baseline-worker", nargs=2, metavar=("STREAM", "GROUP"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.baseline_worker:
        baseline_worker(*args.baseline_worker)
        return
    if args.profile:
        lines = mix_lines(args.profile, seed=args.seed)
        kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        for kind in kinds:
            asyncio.run(profile_apply(lines, kind))
        return
    results = asyncio.run(bench(args))
    wrong = [r for r in results if r.problems()]
    pg = [r for r in results if r.database == "postgresql"]
    if wrong or any(r.obligations != pg[0].obligations for r in pg):
        raise SystemExit("work not shared, or events lost or doubled: see above")


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: worker counts, e.g. 2 or 1,2,4") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: each worker count at least 1")
    return counts


if __name__ == "__main__":
    main()
