"""`serve --workers N`'s supervisor never hides a failing worker behind a parent at status 0:
workers that keep exiting fail the pool, and so does one that does not stop cleanly."""

from __future__ import annotations

import asyncio
import sys

import pytest

from services.entrypoints import workers
from services.entrypoints.workers import WorkerPool

pytestmark = pytest.mark.e2e


async def test_workers_that_keep_exiting_fail_the_pool() -> None:
    failures: list[str] = []
    pool = WorkerPool(
        1, on_failure=failures.append, command=[sys.executable, "-c", "raise SystemExit(3)"]
    )
    await pool.start()
    try:
        for _ in range(200):
            if failures:
                break
            await asyncio.sleep(0.1)
    finally:
        await pool.stop()
    assert len(failures) == 1
    assert failures[0].startswith(f"workers exited {workers._RESTARTS + 1} times within")
    assert failures[0].endswith("with status 3)")
    assert pool.problems() == {"workers": failures[0]}


async def test_workers_killed_by_a_signal_are_started_again_however_often() -> None:
    """Killed from outside (kill -9, out of memory): a fault to recover from, not a failure."""
    failures: list[str] = []
    command = [
        sys.executable,
        "-c",
        "import os, signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
        "time.sleep(0.2); os.kill(os.getpid(), signal.SIGKILL)",
    ]
    pool = WorkerPool(1, on_failure=failures.append, command=command)
    await pool.start()
    pids = set()
    try:
        for _ in range(int(14 * (workers._RESTARTS + 2))):
            pids.add(pool.children[0].pid)
            await asyncio.sleep(0.1)
        running = list(failures)  # a child may kill itself while being stopped: not counted
    finally:
        await pool.stop()
    assert running == []
    assert len(pids) > workers._RESTARTS + 1  # killed and started again more than the limit


async def test_a_worker_that_does_not_stop_cleanly_fails_the_pool() -> None:
    failures: list[str] = []
    ends_badly = (
        "import signal, sys, time; signal.signal(15, lambda *_: sys.exit(4)); time.sleep(60)"
    )
    pool = WorkerPool(1, on_failure=failures.append, command=[sys.executable, "-c", ends_badly])
    await pool.start()
    await asyncio.sleep(1.0)  # its signal handler in place
    assert pool.problems() == {}
    await pool.stop()
    [child] = pool.children
    assert failures == [f"workers did not stop cleanly: pid {child.pid} exited with status 4"]


async def test_workers_that_stop_cleanly_do_not_fail_the_pool() -> None:
    failures: list[str] = []
    # As `serve` does on SIGTERM: finish, then exit with status 0.
    ends_well = (
        "import signal, sys, time; signal.signal(15, lambda *_: sys.exit(0)); time.sleep(60)"
    )
    pool = WorkerPool(2, on_failure=failures.append, command=[sys.executable, "-c", ends_well])
    await pool.start()
    await asyncio.sleep(1.0)
    await pool.stop()
    assert failures == []
    assert [child.returncode for child in pool.children] == [0, 0]
