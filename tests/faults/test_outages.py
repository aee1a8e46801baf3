"""Outages `serve` must outlast, without touching the shared PostgreSQL cluster or the shared
Redis, so these run beside any other test: one PostgreSQL database refusing connections for
longer than the delivery cap would allow (every entry pending through it is applied, none
dead-lettered), and a Redis of our own restarted empty under `serve` (the consumer group is
made again and what is published afterwards is applied). Run with -s to watch the progress
lines."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bench.mix import mix_lines
from services.entrypoints.app import ServeApp, build_app, run_serve
from services.platform.clock import today_in_london
from services.platform.runtime import open_runtime
from services.tracker.metrics import wait_until_applied
from services.tracker.publishing import publish_lines
from tests.e2e.conftest import free_port
from tests.factories import letter_due
from tests.faults.conftest import OwnRedis, Progress, RefusedDatabase, Rig, Serve
from tests.faults.test_faults import check_end_state, finish_publishing, stop_all
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.e2e

REFUSED_EVENTS = 12_000
REFUSED_SECONDS = 18
CAP = 3
# Entries are reclaimed after 1 s and an entry's cap is 3 deliveries: refused for 18 s, every
# entry held through the outage is idle long enough to be reclaimed many times over (each
# reclaimer then waits out the outage with what it took).
SMALL_CAP = {
    "FOLLOWUP_RECLAIM_IDLE_MS": "1000",
    "FOLLOWUP_RECLAIM_EVERY": "0.5",
    "FOLLOWUP_MAX_DELIVERIES": str(CAP),
}
REFUSED = "is not currently accepting connections"


def most_deliveries(rig: Rig) -> int:
    """The highest delivery count (XPENDING) among the entries pending now."""
    pending = rig.redis.xpending_range(rig.stream, rig.group_name, min="-", max="+", count=20_000)
    return max((int(p["times_delivered"]) for p in pending), default=0)


def test_database_refusing_connections_is_waited_out(
    tmp_path: Path, redis_server: str, postgres_url: str, namespace: str
) -> None:
    """One database refuses connections (55000) and has its sessions ended (57P01) for 18 s,
    six times the reclaim interval times the delivery cap, while a `serve --workers 3` applies
    12,000 events: nothing is acknowledged meanwhile, no process exits, and afterwards every
    event is applied once and none is dead-lettered."""
    say = Progress("db refused")
    started_on = today_in_london()
    lines = mix_lines(REFUSED_EVENTS, seed=14)
    problems: list[str] = []
    with Rig(
        tmp_path,
        database_url=postgres_url,
        redis_url=redis_server,
        namespace=namespace,
        extra=SMALL_CAP,
    ) as rig:
        pool = rig.serve("pool", "--workers", "3")
        workers = {w.pid for w in pool.wait_for_workers(2)}
        publisher = rig.publish("events", lines)
        finish_publishing(publisher, "events", problems)
        acked = rig.wait_acked(len(lines) // 5, within=180)
        with RefusedDatabase(postgres_url) as refused:
            began = time.monotonic()
            say(f"database {refused.database} refusing connections at {rig.group()} ({acked})")
            time.sleep(3)  # a batch committed just before may still be acknowledged
            held = rig.group()
            while time.monotonic() - began < REFUSED_SECONDS:
                time.sleep(1)
                if not pool.alive():
                    problems.append("serve exited while the database refused connections")
                    break
            end = rig.group()
            deliveries = most_deliveries(rig)
            say(
                f"after {time.monotonic() - began:.1f}s refused: {end}; "
                f"an entry delivered at most {deliveries} times"
            )
        if end["acked"] != held["acked"]:
            problems.append(f"entries acknowledged while the database was away: {held} -> {end}")
        if end["lag"] == 0:
            problems.append("nothing was left to apply when the database went away")
        reclaimed = int(rig.metrics().get("reclaimed", 0))
        say(f"connections allowed again; {reclaimed} entries reclaimed so far")

        def still_running() -> None:
            assert pool.alive(), f"serve exited after the outage:\n{rig.logs()}"

        took = rig.settle(say, published=len(lines), within=180, check=still_running)
        say(f"settled {took:.1f}s after the database came back: {rig.group()}")
        if not any(REFUSED in s.log_path.read_text(errors="replace") for s in rig.serves):
            problems.append(f"no serve logged the refusal ({REFUSED!r}): the outage was missed")
        if reclaimed == 0:
            problems.append("nothing was reclaimed during the outage: the cap was never tested")
        if {w.pid for w in pool.workers()} != workers:
            problems.append("a worker process exited and was replaced during the outage")
        stop_all(say, rig, problems)
    check_end_state(say, rig, lines, problems, started_on=started_on)


REDIS_EVENTS = 3_000


def test_redis_restarted_empty_under_serve(
    tmp_path: Path, postgres_url: str, namespace: str
) -> None:
    """A Redis of our own without persistence under `serve --workers 2` (HTTP on): restarted
    (empty) and later FLUSHALLed, each time after what was published had been applied. The
    consumer group is made again, what is published afterwards is applied, `serve` never
    exits, and /health says 503 naming Redis while it is down and ok after. A worker process
    may instead fail loudly and be replaced by the pool (docs/contract.md section 11, "`serve`
    fails loudly or heals"): that is said in the progress, not counted as a problem."""
    say = Progress("redis empty")
    started_on = today_in_london()
    own_redis = OwnRedis(tmp_path / "redis", persistent=False)
    own_redis.start()
    mix = mix_lines(3 * REDIS_EVENTS, seed=21)
    batches = [mix[start : start + REDIS_EVENTS] for start in range(0, len(mix), REDIS_EVENTS)]
    problems: list[str] = []
    try:
        with Rig(
            tmp_path, database_url=postgres_url, redis_url=own_redis.url, namespace=namespace
        ) as rig:
            pool = rig.serve("pool", "--workers", "2", http_port=free_port())
            workers = {w.pid for w in pool.wait_for_workers(1)}

            def still_running() -> None:
                assert pool.alive(), f"serve exited:\n{rig.logs()}"

            def apply(number: int) -> None:
                finish_publishing(
                    rig.publish(f"batch-{number}", batches[number]), "batch", problems
                )
                took = rig.settle(
                    say, published=len(batches[number]), within=180, check=still_running
                )
                say(f"batch {number} applied in {took:.1f}s: {rig.group()}")

            apply(0)
            wait_for_health(pool, 200, within=30)
            own_redis.kill()
            code, body = wait_for_health(pool, 503, within=30)
            say(f"redis killed; /health {code} {body}")
            if "redis" not in body.get("failing", {}):
                problems.append(f"/health did not name Redis while it was down: {body}")
            time.sleep(2)
            own_redis.start()
            say(f"redis back, empty: {rig.redis.dbsize()} keys")
            apply(1)
            rig.redis.flushall()
            say("FLUSHALL")
            apply(2)
            code, body = wait_for_health(pool, 200, within=30)
            say(f"/health {code} {body}")
            lost = sum(
                "consumer group lost" in s.log_path.read_text(errors="replace") for s in rig.serves
            )
            if not lost:
                problems.append("no serve logged that the consumer group was lost and made again")
            if {w.pid for w in pool.workers()} != workers:
                say("a worker process exited and the pool replaced it (failed loudly)")
            still_running()
            stop_all(say, rig, problems)
        everything = [line for batch in batches for line in batch]
        check_end_state(say, rig, everything, problems, started_on=started_on)
    finally:
        own_redis.stop()


def wait_for_health(serve: Serve, status: int, *, within: float) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        code, body = serve.health()
        if code == status:
            return code, body
        assert serve.alive(), f"serve {serve.name} exited:\n{serve.tail()}"
        assert time.monotonic() < deadline, f"/health answered {code} {body}, not {status}"
        time.sleep(0.5)


async def test_serve_starting_without_redis_starts_again_once_it_answers(
    tmp_path: Path, own_redis: OwnRedis, namespace: str
) -> None:
    """Redis goes away as `serve` starts its parts (after the first wait for it, as when a pool
    worker starts during a Redis restart): the start that failed is undone and, once Redis
    answers, serve starts again and applies what is published; it does not exit."""
    own_redis.stop()
    settings = settings_for(
        tmp_path, f"sqlite:///{tmp_path / 'followup.db'}", own_redis.url, namespace
    )
    built: list[ServeApp] = []
    waits = 0

    def build() -> ServeApp:
        built.append(build_app(runtime, own_redis.url, http=False))
        return built[-1]

    async def redis_returns() -> None:
        nonlocal waits
        waits += 1
        await asyncio.to_thread(own_redis.start)

    async with open_runtime(settings) as runtime:
        serving = asyncio.create_task(run_serve(build, reachable=redis_returns))
        deadline = time.monotonic() + 60
        while not (built and built[-1].started):
            assert not serving.done(), f"serve ended: {serving.exception()!r}"
            assert time.monotonic() < deadline, "serve did not start once Redis answered"
            await asyncio.sleep(0.1)
        redis = Redis.from_url(own_redis.url)
        try:
            report = await publish_lines(
                runtime=runtime, redis=redis, lines=[json.dumps(letter_due("2026-11-02"))]
            )
            assert report.published == 1, report
            await wait_until_applied(runtime=runtime, redis=redis, within=30)
        finally:
            await redis.aclose()
        built[-1].exit()
        ran = await asyncio.wait_for(serving, 30)
    assert waits == 1 and len(built) == 2, (waits, len(built))
    assert ran is built[1] and ran.failure is None
    assert not built[0].started
