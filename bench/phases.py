"""Where `serve`'s thread spends its CPU per event, by phase of `apply_entries` (issue 20).

    .venv/bin/python -m bench.phases --events 20000 --database sqlite

As `serve` runs a batch: the heap settled (services.platform.heap), SQLite on the event loop's
own thread (`sole_writer`), the entries decoded beforehand as the helper process does
(services.tracker.decoding; that decoding is timed on its own and printed first). Each phase is
the thread's CPU time (`time.thread_time`), not wall time: on a shared, loaded machine wall time
moves with the other processes far more than the work does, while this thread's CPU moves much
less. The phases nest (the store functions inside "save" and "load"), and SQL statements are
timed by table inside them, so the figures do not add up to the total.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.mix import mix_lines
from bench.throughput import database
from schemas import bulk
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.heap import settle_heap
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.rules.ledger import Ledger
from services.tracker import handlers, store
from services.tracker.intake import decode_entries

SPENT: dict[str, float] = defaultdict(float)
PHASES: list[tuple[Any, str, str]] = [
    (Ledger, "apply", "rules (Ledger.apply)"),
    (handlers, "_ledger_for", "load under locks (_ledger_for)"),
    (handlers, "_save", "save (_save)"),
    (store, "record_received", "first sightings (record_received)"),
    (store, "save_tracks", "  save: tracks"),
    (store, "save_linked", "  save: linked facts"),
    (store, "save_obligations", "  save: obligations"),
    (store, "record_changes", "  save: changes"),
    (handlers, "append_audit", "  save: audit"),
    (store, "load_tracks", "  load: tracks"),
    (store, "load_linked", "  load: linked facts"),
    (store, "load_cases", "  load: cases"),
]


def timed(owner: Any, name: str, label: str) -> None:
    function = getattr(owner, name)
    if asyncio.iscoroutinefunction(function):

        async def waited(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return await function(*args, **kwargs)
            finally:
                SPENT[label] += time.thread_time() - began

        setattr(owner, name, waited)
        return

    def called(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[label] += time.thread_time() - began

    setattr(owner, name, called)


def statements(run: Callable[..., Any]) -> Callable[..., Any]:
    async def timed_run(session: Any, statement: str, params: Any = ()) -> Any:
        began = time.thread_time()
        try:
            return await run(session, statement, params)
        finally:
            found = re.match(r"(INSERT INTO|SELECT .*? FROM|DELETE FROM)\s+(\w+)", statement, re.S)
            verb = found.group(1).split()[0] if found else statement[:20]
            SPENT[f"    sql: {verb} {found.group(2) if found else ''}"] += (
                time.thread_time() - began
            )

    return timed_run


async def measure(kind: str, events: int) -> None:
    lines = mix_lines(events)
    entries: list[tuple[bytes, Mapping[bytes, bytes]]] = [
        (f"{n}-0".encode(), {ENTRY_FIELD: line.encode()}) for n, line in enumerate(lines, 1)
    ]
    batches = [entries[i : i + 1000] for i in range(0, len(entries), 1000)]
    began = time.thread_time()
    decoded = [decode_entries(batch) for batch in batches]
    decoding = time.thread_time() - began
    for owner, name, label in PHASES:
        timed(owner, name, label)
    bulk.run = statements(bulk.run)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        async with database(kind, Path(tmp)) as url:
            settings = Settings(_env_file=None, data_dir=Path(tmp), database_url=url)
            async with open_runtime(settings, sole_writer=True) as runtime:
                settle_heap()
                began, wall = time.thread_time(), time.perf_counter()
                for batch, ready in zip(batches, decoded, strict=True):
                    await handlers.apply_entries(
                        sessions=runtime.sessions,
                        entries=batch,
                        decoded=ready,
                        rules=runtime.rules,
                        calendar=runtime.calendar,
                        today=runtime.today(),
                        now=runtime.now(),
                    )
                spent, wall = time.thread_time() - began, time.perf_counter() - wall
    per = 1e6 / events
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"{kind}, {events} events, load average {load}")
    print(f"  decoding (in serve's helper process): {decoding * per:6.1f} us/event")
    print(f"  apply_entries, the thread's CPU:      {spent * per:6.1f} us/event "
          f"(wall {wall * per:.0f} us/event)")  # fmt: skip
    for label, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        if seconds * per >= 0.5:
            print(f"  {seconds * per:7.1f} us/event  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    asyncio.run(measure(args.database, args.events))


if __name__ == "__main__":
    main()
