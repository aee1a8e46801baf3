"""Run the demo week through the real pipeline: publish, let the consumer apply, read back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import AuditEntry, StaffMember
from services.audit.seeds import seed_lines
from services.entrypoints.app import build_app
from services.entrypoints.demo.inspections import inspection_statuses, seed_inspection_ids
from services.entrypoints.demo.trials import demo_trials
from services.entrypoints.demo.week import AREA, demo_week
from services.platform.broker.connect import redis_client
from services.platform.runtime import Runtime
from services.rules.model import STATES
from services.tracker.metrics import wait_until_applied
from services.tracker.publishing import publish_lines
from services.tracker.queries import list_obligations


@dataclass(frozen=True, slots=True)
class DemoResult:
    as_of: date
    published: int
    obligations: list[dict[str, Any]]  # the demo's own, as `followup obligations --json`
    counts: dict[str, dict[str, int]]  # rule -> state -> how many, every state present
    staff: dict[str, dict[str, str | None]]  # staff_id -> name, role, line_manager, email
    # The seed inspections (services/audit/seeds): events published, and per inspection how many
    # recommendations have each status as of `as_of`.
    inspection_events: int = 0
    inspections: dict[str, dict[str, int]] | None = None
    # The demo's case reallocations as the audit trail has them (entity `case`, action
    # `reallocated`): urn, by, and the entry's detail (from, to, reason, moved, ...).
    reallocations: list[dict[str, Any]] = field(default_factory=list)
    # Trial outcomes published (services/entrypoints/demo/trials.py), for the trials section.
    trial_events: int = 0


class DemoFailed(RuntimeError):
    """The demo could not finish; the message says why and what to look at."""


async def run_demo(
    *,
    runtime: Runtime,
    redis_url: str,
    as_of: date,
    within: float = 120.0,
    on_progress: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Start the consumer in-process, publish the week, wait until all of it is applied.

    The events carry fixed (source, id) pairs, so a second run publishes only duplicates and
    the result is the same; the demo never needs a fresh data directory.
    """
    events = demo_week()
    inspection_lines = seed_lines()
    redis = redis_client(redis_url)
    app = build_app(runtime, redis_url, http=False)
    consumer = asyncio.create_task(app.run())
    try:
        on_progress(f"publishing {len(events)} events")
        report = await publish_lines(
            runtime=runtime, redis=redis, lines=[json.dumps(event) for event in events]
        )
        if report.rejected:  # a bug in demo_week, not in anyone's input
            raise DemoFailed(f"a demo event was rejected: {report.rejected[0].reason}")
        on_progress(f"publishing {len(inspection_lines)} inspection events")
        seeded = await publish_lines(runtime=runtime, redis=redis, lines=inspection_lines)
        if seeded.rejected:
            raise DemoFailed(f"a seed inspection event was rejected: {seeded.rejected[0].reason}")
        trials = [json.dumps(event) for event in demo_trials()]
        on_progress(f"publishing {len(trials)} trial outcomes")
        tried = await publish_lines(runtime=runtime, redis=redis, lines=trials)
        if tried.rejected:
            raise DemoFailed(f"a demo trial outcome was rejected: {tried.rejected[0].reason}")
        await _settle(runtime, redis, consumer, within, on_progress)
    finally:
        # The broker and client must be closed before the embedded Redis is asked to stop.
        app.exit()
        try:
            await asyncio.wait_for(consumer, 30)
        finally:
            await redis.aclose()
    on_progress("reading obligations")
    ids = {event["id"] for event in events}
    async with runtime.sessions() as session:
        rows = await list_obligations(session=session, today=as_of)
        staff = await session.execute(select(StaffMember).where(col(StaffMember.area) == AREA))
        people = {
            s.staff_id: {
                "name": s.name,
                "role": s.role,
                "line_manager": s.line_manager,
                "email": s.email,
            }
            for s in staff.scalars()
        }
        reallocations = await _reallocations(session, ids)
        inspections = await inspection_statuses(
            session=session, inspection_ids=seed_inspection_ids(inspection_lines), as_of=as_of
        )
    # Only what the demo opened: the default ./var may also hold someone's own events.
    mine = [row for row in rows if row["opened_by"] in ids and row["area"] == AREA]
    return DemoResult(
        as_of,
        report.published,
        mine,
        count_states(mine),
        people,
        inspection_events=seeded.published,
        inspections=inspections,
        reallocations=reallocations,
        trial_events=tried.published,
    )


async def _reallocations(session: AsyncSession, ids: set[str]) -> list[dict[str, Any]]:
    """The demo's reallocations from the audit trail, in the order they were recorded."""
    query = (
        select(AuditEntry)
        .where(col(AuditEntry.entity) == "case", col(AuditEntry.action) == "reallocated")
        .order_by(col(AuditEntry.seq))
    )
    found = []
    for entry in (await session.execute(query)).scalars():
        if entry.caused_by.rpartition("#")[2] not in ids:
            continue
        detail = json.loads(entry.detail)
        found.append({"urn": entry.entity_id, "by": entry.actor, **detail})
    return found


async def _settle(
    runtime: Runtime,
    redis: Redis,
    consumer: asyncio.Task[None],
    within: float,
    on_progress: Callable[[str], None],
) -> None:
    def still_running(lag: int) -> None:
        if consumer.done():  # stopped early (a signal, or a broker error it raises below)
            consumer.result()
            raise DemoFailed(f"the consumer stopped (interrupted?) with {lag} events to apply")
        on_progress(f"applying events: {lag} to go")

    try:
        await wait_until_applied(runtime=runtime, redis=redis, within=within, on_wait=still_running)
    except TimeoutError as error:
        raise DemoFailed(
            f"{error}; another consumer in the same group may hold them pending "
            "(see `followup status --json`)"
        ) from error


def count_states(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["rule"], dict.fromkeys(STATES, 0))[row["state"]] += 1
    return dict(sorted(counts.items()))
