"""What the inspection follow-up projection costs the tracker's batch (issue 6).

    .venv/bin/python -m bench.projection --events 10000 --rounds 2

Calls services.tracker.handlers.apply_entries on the lines of bench.mix in batches of 500, on a
fresh SQLite database each time, alternately with the projection (services.audit.status_queries
.project) and with it replaced by a no-op, and prints events/s for each run. The mix holds few
inspection events (about 0.3%), as a year of real traffic would; `--inspection-share` adds
more (copies of the mix's follow-up events under new ids) to see the cost per such event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.mix import mix_lines, type_counts
from services.audit import status_queries as followup
from services.audit.projection import TYPES
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_entries


async def _skip(**_: Any) -> list[Any]:
    return []


async def timed(lines: list[str], *, projection: bool) -> float:
    real = followup.project
    if not projection:
        followup.project = _skip  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            settings = Settings(
                _env_file=None, data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/f.db"
            )
            async with open_runtime(settings) as runtime:
                entries: list[tuple[bytes, Mapping[bytes, bytes]]] = [
                    (f"{i + 1}-0".encode(), {ENTRY_FIELD: line.encode()})
                    for i, line in enumerate(lines)
                ]
                start = time.perf_counter()
                for i in range(0, len(entries), 500):
                    await apply_entries(
                        sessions=runtime.sessions,
                        entries=entries[i : i + 500],
                        rules=runtime.rules,
                        calendar=runtime.calendar,
                        today=runtime.today(),
                    )
                return time.perf_counter() - start
    finally:
        followup.project = real


def with_more_follow_up(lines: list[str], share: float) -> list[str]:
    follow_up = [line for line in lines if json.loads(line)["type"] in TYPES]
    wanted = int(len(lines) * share)
    extra = []
    for n in range(wanted):
        event = json.loads(follow_up[n % len(follow_up)])
        event["id"] = f"{event['id']}-copy{n}"
        extra.append(json.dumps(event))
    return lines + extra


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inspection-share", type=float, default=0.0)
    options = parser.parse_args(argv)
    lines = mix_lines(options.events)
    if options.inspection_share:
        lines = with_more_follow_up(lines, options.inspection_share)
    counts = type_counts(lines)
    print(
        f"{len(lines)} events, {sum(counts[t] for t in TYPES)} of them inspection follow-up",
        flush=True,
    )
    for _ in range(options.rounds):
        for projection in (True, False):
            took = await timed(lines, projection=projection)
            label = "with projection" if projection else "projection off "
            print(f"{label}: {len(lines) / took:,.0f} events/s ({took:.2f} s)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
