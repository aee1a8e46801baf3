"""Weekly summary rendering on one Area with a year of history (issue 7).

    .venv/bin/python -m bench.summary --database both

For each database (a SQLite file in a temporary directory, a fresh PostgreSQL database dropped
afterwards): migrate, then insert directly into the tables (executemany on SQLite, COPY on
PostgreSQL) one Area with a year of history: about 35,000 cases and 300,000 obligations with
realistic states, dates and owners (3 units, 12 legal managers' teams of 8, rule mix of the
default pack), plus a second Area of a third the size that the summary must filter out. Then
it times, for one week near the end of the year:

- in process: `build_summary` (every section's SQL and assembly) and rendering to JSON and to
  HTML (the HTML includes drawing the matplotlib chart): first run and best of 3;
- as a process: `followup summary --format json|html`, wall time, which adds the interpreter,
  imports and the migration check to the figure; `followup --help` is timed first as the
  baseline cost of starting the command at all.

Target: under 2 s for the summary of one week. Results: BENCHMARKS.md, "Weekly summaries".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from services.summaries.build import build_summary
from services.summaries.model import Scope
from services.summaries.render_html import summary_html
from services.summaries.render_json import summary_json
from services.summaries.weeks import IsoWeek

POSTGRES_URL = os.environ.get(
    "FOLLOWUP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
AREA, OTHER = "thames-and-chiltern", "wessex"
WEEK = IsoWeek(2024, 50)
AS_OF = WEEK.monday + timedelta(days=4)  # Friday, when the scheduled summary is made
FIRST_DUE, LAST_DUE = date(2024, 1, 1), date(2025, 1, 31)
UNITS = ("magistrates", "crown", "rasso")
# rule, share of obligations, (met, met-late, never closed, cancelled) shares once past due
RULES = (
    ("hearing-record-sheet", 0.55, (0.70, 0.15, 0.10, 0.05)),
    ("victim-letter", 0.14, (0.65, 0.20, 0.15, 0.00)),
    ("custody-time-limit", 0.05, (0.93, 0.00, 0.02, 0.05)),
    ("ctl-28-day-review", 0.05, (0.35, 0.25, 0.30, 0.10)),
    ("finalisation-reason-code", 0.12, (0.60, 0.20, 0.20, 0.00)),
    ("complaint-response", 0.03, (0.75, 0.20, 0.05, 0.00)),
    ("victims-right-to-review", 0.02, (0.70, 0.25, 0.05, 0.00)),
    ("recommendation-action", 0.02, (0.60, 0.20, 0.15, 0.05)),
    ("recurring-commitment", 0.02, (0.70, 0.10, 0.20, 0.00)),
)
OBLIGATION_COLUMNS = (
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
)


def staff(area: str) -> list[dict[str, Any]]:
    prefix = area[:2].upper()
    people = [{"staff_id": f"{prefix}-DCCP1", "role": "dccp", "unit": None, "line_manager": None}]
    for u, unit in enumerate(UNITS):
        for m in range(4):
            manager = f"{prefix}-LM{u}{m}"
            people.append(
                {
                    "staff_id": manager,
                    "role": "legal-manager",
                    "unit": unit,
                    "line_manager": people[0]["staff_id"],
                }
            )
            for p in range(8):
                role = "paralegal" if p == 7 else "advocate" if p == 6 else "prosecutor"
                people.append(
                    {
                        "staff_id": f"{manager}-{p}",
                        "role": role,
                        "unit": unit,
                        "line_manager": manager,
                    }
                )
    for person in people:
        person.update(
            name=f"Name {person['staff_id']}",
            email=f"{person['staff_id'].lower()}@example.test",
            area=area,
        )
    return people


def history(area: str, cases: int, obligations: int, seed: int) -> tuple[list, list, list]:  # type: ignore[type-arg]
    """(staff rows, case rows, obligation rows) as tuples in table column order."""
    rng = random.Random(seed)
    people = staff(area)
    workers = [p for p in people if p["role"] in ("prosecutor", "advocate", "paralegal")]
    now = datetime(2024, 12, 31, tzinfo=UTC)
    case_rows, owners = [], []
    for n in range(cases):
        owner = rng.choice(workers)
        urn = f"{area[:2].upper()}{n:08d}"
        case_rows.append((urn, area, owner["unit"], owner["staff_id"], now, "", "", now))
        owners.append((urn, owner["staff_id"], owner["unit"]))
    by_unit = {u: [w["staff_id"] for w in workers if w["unit"] == u] for u in UNITS}
    span = (LAST_DUE - FIRST_DUE).days
    weights = [share for _, share, _ in RULES]
    rows = []
    for n in range(obligations):
        rule, _, shares = rng.choices(RULES, weights)[0]
        urn, owner, unit = rng.choice(owners)
        if rng.random() < 0.3:  # hearings are often covered by another advocate of the unit
            owner = rng.choice(by_unit[unit])
        due = FIRST_DUE + timedelta(days=rng.randrange(span))
        state, closed = _outcome(rng, due, shares)
        rows.append(
            (
                f"{rule}/{urn}/{n}",
                rule,
                f"{urn}/{n}",
                urn,
                owner,
                area,
                f"evt-{n}",
                due,
                state,
                closed,
                f"{rule}: due {due}",
                now,
                now,
            )
        )
    staff_rows = [
        (
            p["staff_id"],
            p["name"],
            p["email"],
            p["role"],
            area,
            p["unit"],
            p["line_manager"],
            now,
            "",
            "",
            now,
        )
        for p in people
    ]
    return staff_rows, case_rows, rows


def _outcome(rng: random.Random, due: date, shares: tuple[float, ...]) -> tuple[str, date | None]:
    if due >= AS_OF and rng.random() < 0.85:
        return "open", None
    state = rng.choices(("met", "met-late", "open", "cancelled"), shares)[0]
    if state == "met":
        return state, due - timedelta(days=rng.randrange(0, 4))
    if state == "met-late":
        return state, due + timedelta(days=rng.randrange(1, 30))
    return state, None


STAFF_COLUMNS = (
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
)
CASE_COLUMNS = (
    "urn",
    "area",
    "unit",
    "owner",
    "event_time",
    "event_source",
    "event_id",
    "updated_at",
)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_sqlite(
    path: str, tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
) -> None:
    connection = sqlite3.connect(path)
    try:
        for table, (columns, rows) in tables.items():
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in rows),
            )
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def load_postgres(
    url: str, tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
) -> None:
    connection = await asyncpg.connect(url)
    try:
        for table, (columns, rows) in tables.items():
            await connection.copy_records_to_table(table, records=rows, columns=list(columns))
        # What autovacuum does to a table in steady state: statistics, and the visibility map
        # that lets the summary's counts be read from the indexes alone.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


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
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.contextmanager
def stopwatch(into: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into.append(time.perf_counter() - start)


async def measure(settings: Settings, scope: Scope, repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"build": [], "build + json": [], "build + html": []}
    async with open_runtime(settings) as runtime:
        for _ in range(repeats):
            for label in times:
                with stopwatch(times[label]):
                    async with runtime.sessions() as session:
                        found = await build_summary(
                            session=session, scope=scope, week=WEEK, as_of=AS_OF
                        )
                    if label == "build + json":
                        json.dumps(summary_json(found))
                    elif label == "build + html":
                        summary_html(found)
    return times


def cli_times(settings_env: dict[str, str], formats: tuple[str, ...]) -> dict[str, float]:
    followup = str(Path(sys.executable).with_name("followup"))
    env = {**os.environ, **settings_env}
    found = {}
    start = time.perf_counter()
    subprocess.run([followup, "--help"], env=env, capture_output=True, check=True, timeout=300)
    found["(baseline: followup --help)"] = time.perf_counter() - start
    for format_ in formats:
        args = [
            followup,
            "summary",
            "--area",
            AREA,
            "--week",
            str(WEEK),
            "--as-of",
            AS_OF.isoformat(),
            "--format",
            format_,
        ]
        start = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        found[format_] = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
    return found


def _exists(path: str) -> bool:
    return os.path.exists(path)


async def bench_one(kind: str, args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        directory = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        reuse = kind == "sqlite" and _exists(f"{directory}/followup.db")
        async with database(kind, Path(directory)) as url:
            settings = Settings(_env_file=None, data_dir=Path(directory), database_url=url)  # type: ignore[call-arg]
            async with open_runtime(settings):
                pass  # migrate
            if reuse:
                await report(kind, settings, url, directory, args)
                return
            started = time.perf_counter()
            tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {
                "staff": (STAFF_COLUMNS, []),
                "cases": (CASE_COLUMNS, []),
                "obligations": (OBLIGATION_COLUMNS, []),
            }
            for area, share, seed in ((AREA, 1.0, 7), (OTHER, 1 / 3, 8)):
                people, cases, obligations = history(
                    area, int(args.cases * share), int(args.obligations * share), seed
                )
                tables["staff"][1].extend(people)
                tables["cases"][1].extend(cases)
                tables["obligations"][1].extend(obligations)
            if kind == "sqlite":
                load_sqlite(url.removeprefix("sqlite:///"), tables)
            else:
                await load_postgres(url, tables)
            print(
                f"{kind}: loaded {len(tables['cases'][1]):,} cases, "
                f"{len(tables['obligations'][1]):,} obligations ({args.obligations:,} in {AREA}) "
                f"in {time.perf_counter() - started:.1f} s"
            )
            await report(kind, settings, url, directory, args)


async def report(
    kind: str, settings: Settings, url: str, directory: str, args: argparse.Namespace
) -> None:
    scope = Scope(area=AREA)
    times = await measure(settings, scope, args.repeats)
    for label, values in times.items():
        print(f"{kind}: in process, {label}: first {values[0]:.3f} s, best {min(values):.3f} s")
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        found = await build_summary(session=session, scope=scope, week=WEEK, as_of=AS_OF)
    week = summary_json(found)["sections"][0]["all"]["week"]
    print(f"{kind}: week {WEEK}: {week}")
    env = {
        "FOLLOWUP_DATABASE_URL": url,
        "FOLLOWUP_DATA_DIR": directory,
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }
    for format_, seconds in cli_times(env, ("json", "html")).items():
        what = format_ if format_.startswith("(") else f"`followup summary --format {format_}`"
        print(f"{kind}: process {what}: {seconds:.2f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=35_000)
    parser.add_argument("--obligations", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="SQLite only: keep the database in DIR, and reuse it if it is already there",
    )
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    print(f"load average {os.getloadavg()[0]:.1f}; week {WEEK}, as of {AS_OF}")
    for kind in kinds:
        asyncio.run(bench_one(kind, args))


if __name__ == "__main__":
    main()
