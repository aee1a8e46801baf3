"""Peak memory and time of `followup publish` on a file of bad lines.

    .venv/bin/python -m bench.publish_memory --lines 200000 1000000

For each N: a file of N rejected lines (in turn: not JSON, invalid UTF-8, a valid CloudEvent
with a bad date) is written to a temporary directory and published by `followup publish FILE`
as its own process, on a fresh SQLite database there (or --database-url) and the Redis at
--redis-url under a unique namespace (removed afterwards). Printed: N, exit code, dead letters
stored, peak RSS of the process (wait4's ru_maxrss, which counts from the fork, so this
process keeps the file out of its own memory) and wall time. Memory should not grow with N:
the report keeps counts and a bounded sample, and rejected lines are stored a chunk at a time.

Results: BENCHMARKS.md, "publish: memory on bad lines".
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from tests.factories import letter_due

FOLLOWUP = str(Path(sys.executable).with_name("followup"))


def write_bad_lines(path: Path, count: int) -> None:
    """Written a block at a time: this process forks `followup`, whose peak RSS starts at
    this one's (a file built in memory here would be counted as the child's)."""
    bad_date = json.dumps({**letter_due("2018-02-30"), "id": "bad-date"}).encode()
    kinds = [b"{not json", b'{"id": "caf\xe9"}', bad_date]
    with path.open("wb") as out:
        for start in range(0, count, 10_000):
            out.write(
                b"".join(kinds[n % 3] + b"\n" for n in range(start, min(count, start + 10_000)))
            )


def measure(count: int, *, redis_url: str, database_url: str | None) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as work:
        events = Path(work) / "bad.jsonl"
        write_bad_lines(events, count)
        env = {
            **os.environ,
            "FOLLOWUP_DATA_DIR": work,
            "FOLLOWUP_REDIS_URL": redis_url,
            "FOLLOWUP_NAMESPACE": namespace,
        }
        if database_url:
            env["FOLLOWUP_DATABASE_URL"] = database_url
        started = time.perf_counter()
        process = subprocess.Popen(
            [FOLLOWUP, "publish", str(events)], env=env, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stored = "?"
        if not database_url:
            with sqlite3.connect(Path(work) / "followup.db") as db:
                stored = str(db.execute("select count(*) from dead_letters").fetchone()[0])
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    print(
        f"{count:>9,} bad lines: exit {os.waitstatus_to_exitcode(status)}, {stored} stored, "
        f"peak RSS {usage.ru_maxrss / 1024:,.0f} MiB, {seconds:,.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    for count in args.lines:
        measure(count, redis_url=args.redis_url, database_url=args.database_url)


if __name__ == "__main__":
    main()
