"""Run the demo's weeks through the real pipeline with the clock stepped day by day: each
morning the lapse clock ticks and delivers its digests and the weekly summaries due go out,
then the day's events are published and applied (docs/contract.md section 6, "Added: the
demo")."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import Alert, AuditEntry, LapseClockState, StaffMember
from services.alerts.clock.store import move_to_present
from services.alerts.delivery.action_links import digest_links
from services.alerts.service import AlertService
from services.audit.seeds import seed_lines
from services.entrypoints.app import build_app
from services.entrypoints.demo.inspections import inspection_statuses, seed_inspection_ids
from services.entrypoints.demo.plan import AREA, DemoClock, by_day, demo_plan, summary_weekday
from services.platform.broker.connect import redis_client
from services.platform.clock import now as wall_clock
from services.platform.runtime import Runtime
from services.rules.calendar import LONDON
from services.rules.model import STATES
from services.simulation import Plan, to_line, weeks_of
from services.summaries.publisher import SummaryPublisher
from services.summaries.schedule import start_again
from services.tracker.metrics import wait_until_applied
from services.tracker.publishing import publish_lines
from services.tracker.queries import list_obligations


@dataclass(frozen=True, slots=True)
class WeekDone:
    """One simulated week, as the live display shows it."""

    number: int
    monday: date
    events: int
    emails: int  # alert digest emails sent during the week
    summaries: int  # weekly summaries delivered during the week


@dataclass(frozen=True, slots=True)
class DemoResult:
    as_of: date
    published: int  # events the weeks hold (a second run publishes them again as duplicates)
    obligations: list[dict[str, Any]]  # the Area's, as `followup obligations --json`
    counts: dict[str, dict[str, int]]  # rule -> state -> how many, every state present
    staff: dict[str, dict[str, str | None]]  # staff_id -> name, role, line_manager, email
    # The seed inspections (services/audit/seeds): events published, and per inspection how many
    # recommendations have each status as of `as_of`.
    inspection_events: int = 0
    inspections: dict[str, dict[str, int]] | None = None
    # The case reallocations of the weeks as the audit trail has them (entity `case`, action
    # `reallocated`): urn, by, and the entry's detail (from, to, reason, moved, ...).
    reallocations: list[dict[str, Any]] = field(default_factory=list)
    trial_events: int = 0  # trial outcomes among the events
    weeks: list[WeekDone] = field(default_factory=list)
    alerts_sent: int = 0  # the Area's alerts sent, this run and any before it
    summaries_sent: int = 0  # weekly summaries delivered by this run
    types: dict[str, int] = field(default_factory=dict)  # events by type
    clock_ahead: date | None = None  # the lapse clock had already run past the weeks


class DemoFailed(RuntimeError):
    """The demo could not finish; the message says why and what to look at."""


async def run_demo(
    *,
    runtime: Runtime,
    redis_url: str,
    as_of: date,
    plan: Plan | None = None,
    within: float = 120.0,
    on_progress: Callable[[str], None] = lambda _: None,
    on_week: Callable[[WeekDone], None] = lambda _: None,
) -> DemoResult:
    """Start the consumer in-process with the injected clock, then step through the weeks.

    Events carry fixed (source, id) pairs and alerts and summaries are claimed once, so a
    second run publishes only duplicates, sends nothing again and gives the same result."""
    plan = plan or demo_plan()
    clock = DemoClock(datetime.combine(plan.start, datetime.min.time(), tzinfo=LONDON))
    runtime = replace(runtime, today=clock.today, now=clock.now)
    redis = redis_client(redis_url)
    app = build_app(runtime, redis_url, http=False)
    consumer = asyncio.create_task(app.run())
    links = digest_links(runtime.settings, now=clock.now)
    alerts = AlertService(runtime, redis, now=clock.now, links=links)
    # The tracker stamps what it writes with the runtime's clock, here the demo's: the lapse
    # clock looks for fresh obligations by that clock too.
    alerts.clock.wall = clock.now
    summaries = SummaryPublisher(runtime, redis, now=clock.now)
    summary_day = summary_weekday(runtime.settings.summary_day)
    weeks: list[WeekDone] = []
    types: Counter[str] = Counter()
    ids: set[str] = set()
    try:
        async with runtime.sessions() as session:
            ahead = await _clock_ahead(session, plan.start)
        inspection_lines = seed_lines()
        on_progress(f"publishing {len(inspection_lines)} seed inspection events")
        seeded = await _publish(runtime, redis, inspection_lines, "a seed inspection event")
        for number, events in enumerate(weeks_of(plan), start=1):
            monday = plan.start + timedelta(weeks=number - 1)
            sent = delivered = 0
            for day, todays in by_day(monday, events):
                clock.morning_of(day)
                on_progress(f"week {number}: {day:%a %-d %b %Y}")
                if runtime.calendar.is_working_day(day):  # a tick catches up the days between
                    await alerts.clock.tick()
                    sent += await _deliver_all(alerts)
                    await alerts.clock.publish(clock.now())
                if todays:
                    await _publish(runtime, redis, [to_line(e) for e in todays], "a demo event")
                    await _settle(runtime, redis, consumer, within, on_progress)
                if day.weekday() == summary_day:
                    clock.at(day, runtime.settings.summary_time)
                    delivered += len(await summaries.publish_due(clock.now()))
            types.update(e["type"] for e in events)
            ids.update(e["id"] for e in events)
            done = WeekDone(number, monday, len(events), sent, delivered)
            weeks.append(done)
            on_week(done)
        await _settle(runtime, redis, consumer, within, on_progress)
        async with runtime.sessions() as session, session.begin():
            await move_to_present(session=session, now=wall_clock())
            await start_again(session=session, now=wall_clock())
    finally:
        # The broker and client must be closed before the embedded Redis is asked to stop.
        app.exit()
        try:
            await asyncio.wait_for(consumer, 30)
        finally:
            await redis.aclose()
    on_progress("reading obligations")
    async with runtime.sessions() as session:
        rows = await list_obligations(session=session, today=as_of)
        people = await _people(session)
        reallocations = await _reallocations(session, ids)
        inspections = await inspection_statuses(
            session=session, inspection_ids=seed_inspection_ids(inspection_lines), as_of=as_of
        )
        alerts_sent = await _alerts_sent(session)
    mine = [row for row in rows if row["area"] == AREA]
    return DemoResult(
        as_of,
        sum(types.values()),
        mine,
        count_states(mine),
        people,
        inspection_events=seeded,
        inspections=inspections,
        reallocations=reallocations,
        trial_events=types["trial-outcome-recorded"],
        weeks=weeks,
        alerts_sent=alerts_sent,
        summaries_sent=sum(w.summaries for w in weeks),
        types=dict(types),
        clock_ahead=ahead,
    )


async def _deliver_all(alerts: AlertService) -> int:
    """Every digest email due now (a delivery round sends at most 100)."""
    sent = 0
    while True:
        report = await alerts.deliverer.deliver()
        sent += report.sent
        if report.sent + report.failed < 100:
            return sent


async def _publish(runtime: Runtime, redis: Redis, lines: list[str], what: str) -> int:
    report = await publish_lines(runtime=runtime, redis=redis, lines=lines)
    if report.rejected:  # a bug in the generator or the seeds, not in anyone's input
        raise DemoFailed(f"{what} was rejected: {report.rejected[0].reason}")
    return report.published


async def _clock_ahead(session: AsyncSession, start: date) -> date | None:
    """When this data folder's lapse clock first started, if after the weeks began (a clock of
    another time, such as `serve`'s): then none of the weeks' alarms can be raised here."""
    state = await session.get(LapseClockState, "lapse")
    if state is None or state.started_at.astimezone(LONDON).date() <= start:
        return None
    return state.started_at.astimezone(LONDON).date()


async def _alerts_sent(session: AsyncSession) -> int:
    query = select(func.count()).where(col(Alert.area) == AREA, col(Alert.state) == "sent")
    return int(await session.scalar(query) or 0)


async def _people(session: AsyncSession) -> dict[str, dict[str, str | None]]:
    staff = await session.execute(select(StaffMember).where(col(StaffMember.area) == AREA))
    return {
        s.staff_id: {
            "name": s.name,
            "role": s.role,
            "line_manager": s.line_manager,
            "email": s.email,
        }
        for s in staff.scalars()
    }


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
