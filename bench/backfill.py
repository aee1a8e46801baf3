"""`followup backfill` throughput: N events of bench.mix loaded from a file on SQLite and
PostgreSQL, in one run (docs/contract.md section 6, "Added: backfill").

    .venv/bin/python -m bench.backfill --events 200000 --database both

For each database: a fresh one (a SQLite file with the lock `serve` would hold, as the command
runs it; a new PostgreSQL database), then services.tracker.backfill.backfill_file on the file,
as `followup backfill` calls it, timed from the first line read to the cursor's last commit;
then the same file again (everything found loaded already: the cursor says so at once), and
again with --again (every line read and found a duplicate). Printed: events/s, the process's
CPU seconds (this process; the helper process that reads the lines runs beside it), the
helper's share, and the load average. `--no-helper` reads lines in this process.

Results: BENCHMARKS.md, "Backfill".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.mix import mix_lines
from bench.throughput import database

ROOT = Path(__file__).parents[1]


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def _peak() -> str:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return f"{own} MB here, {helper} MB in the helper"


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def run_once(
    url: str, directory: Path, path: Path, *, helper: bool, batch: int, again: bool = False
) -> tuple[Any, float]:
    from services.platform.runtime import open_runtime
    from services.platform.settings import Settings
    from services.tracker.backfill import backfill_file

    settings = Settings(
        _env_file=None,
        data_dir=directory,
        database_url=url,  # type: ignore[call-arg]
        log_level="WARNING",
    )
    async with open_runtime(settings, sole_writer=True) as runtime:
        started = time.perf_counter()
        report = await backfill_file(
            runtime=runtime, path=path, batch=batch, helper=helper, again=again
        )
        return report, time.perf_counter() - started


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        path = directory / "history.jsonl"
        path.write_text("".join(f"{line}\n" for line in mix_lines(args.events)))
        kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        print(
            f"{args.events:,} events of bench.mix, batch {args.batch}, "
            f"helper {'on' if args.helper else 'off'}; load average {_load()}"
        )
        for kind in kinds:
            async with database(kind, directory / kind) as url:
                (directory / kind).mkdir(exist_ok=True)
                cpu_before = _cpu()
                report, seconds = await run_once(
                    url, directory / kind, path, helper=args.helper, batch=args.batch
                )
                own, helper = (a - b for a, b in zip(_cpu(), cpu_before, strict=True))
                handled = report.loaded + report.duplicates
                print(
                    f"{kind:10s} first run: {handled:,} events ({report.loaded:,} loaded, "
                    f"{report.duplicates:,} duplicates) in {seconds:.1f} s = "
                    f"{handled / seconds:,.0f} events/s; CPU {own:.1f} s here, "
                    f"{helper:.1f} s in the helper; peak memory {_peak()}; load average {_load()}"
                )
                report, seconds = await run_once(
                    url, directory / kind, path, helper=args.helper, batch=args.batch
                )
                print(
                    f"{kind:10s} second run: already loaded {report.already_done}, {seconds:.2f} s"
                )
                report, seconds = await run_once(
                    url, directory / kind, path, helper=args.helper, batch=args.batch, again=True
                )
                print(
                    f"{kind:10s} --again: {report.duplicates:,} already loaded, "
                    f"{report.loaded} loaded, in {seconds:.1f} s = "
                    f"{report.duplicates / seconds:,.0f} events/s"
                )
        print(f"load average at the end {_load()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--no-helper", dest="helper", action="store_false")
    args = parser.parse_args(argv)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
