"""The durable lapse clock. Each tick raises every alarm that fell due since its cursor:

1. for each London midnight crossed (one at a time, so a long stop catches up day by day):
   for each rule and each of its steps, the open obligations whose due date puts that step on
   that day, found by one index range scan on (rule, state, due) - lapses first, committed and
   published before the rest, because their latency is promised (each alarm is recorded with
   the people it goes to and its stream event; their alerts are recorded at the end of the
   tick, see services/alerts/alerting.py);
2. reminders of unresolved lapses whose time came (alarms.repeat_at);
3. obligations whose snooze ended, and obligations the tracker wrote since the last look
   (updated_at, less a safety margin): each gets every alarm already fallen due, and a closed
   one the clock had alarmed about gets `obligation-met`.

Nothing is ever scanned whole, and the alarm and alert unique keys make re-processing (a
restart, or two clock processes) harmless; on PostgreSQL an advisory lock also keeps two
clocks from ticking at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts.clock import store
from services.alerts.clock.raise_alarms import Context, Due, met_event, raise_alarms
from services.alerts.clock.record_alerts import record_alerts
from services.alerts.clock.schedule import (
    Step,
    days_starting_in,
    due_range,
    fallen_due,
    london_day,
    midnight,
    repeat_step,
    templates,
)
from services.platform.clock import now as wall_clock
from services.platform.outbox import add_events, flush_outbox
from services.platform.settings import Settings

log = logging.getLogger("followup.lapse")
_LOCK_ID = 0x6C617073  # "laps": one clock ticks at a time on PostgreSQL
_PAGE = 1000  # alarms whose alerts are recorded per transaction


@dataclass(slots=True)
class TickReport:
    skipped: bool = False  # another clock process held the lock
    midnights: list[date] = field(default_factory=list)
    alarms: int = 0
    alerts: int = 0
    published: int = 0


class LapseClock:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        context: Context,
        redis: Redis,
        now: Callable[[], datetime],
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.engine, self.sessions, self.settings = engine, sessions, settings
        # The tracker stamps updated_at from the wall clock, whatever time the clock is told.
        self.wall = wall
        self.margin = timedelta(seconds=settings.lapse_scan_margin_seconds)
        self.context, self.redis, self.now = context, redis, now
        self._local = asyncio.Lock()
        # Written rows already looked at: their updated_at, as the database driver gives it.
        self._seen: dict[str, object] = {}
        longest = max((t.days for r in context.rules.values() for t in templates(r)), default=0)
        self._horizon = timedelta(days=3 * longest + 14)

    async def tick(self) -> TickReport:
        async with self._local, self._exclusive() as mine:
            if not mine:
                return TickReport(skipped=True)
            return await self._tick(self.now())

    async def run(self) -> None:
        """Tick every `lapse_tick_seconds`, and wake at each London midnight."""
        while True:
            try:
                report = await self.tick()
                if report.alerts:
                    log.info("alarms raised", extra={"alerts": report.alerts})
            except asyncio.CancelledError:
                raise
            except Exception:  # an outage must not stop the clock; the cursor waits for it
                log.exception("lapse clock tick failed")
            now = self.now()
            to_midnight = (midnight(london_day(now) + timedelta(days=1)) - now).total_seconds()
            await asyncio.sleep(max(0.0, min(self.settings.lapse_tick_seconds, to_midnight)))

    async def _tick(self, now: datetime) -> TickReport:
        report = TickReport()
        async with self.sessions() as session, session.begin():
            first = not await store.started(session=session)
            state = await self._state(session, now)
            start, scanned_to, began = state.cursor, state.scanned_to, state.started_at
            if first and self.settings.going_live == "alert":
                # In the transaction that begins the cursor: a crash before it commits leaves
                # the next start the first again, and a commit means never again.
                report.alarms += await self._going_live(session, now)
        if first:
            report.published += await self.publish(now)
        cursor = start
        while days := days_starting_in(cursor, now):
            day = days[0]
            await self._midnight(day, now, report)
            report.midnights.append(day)
            cursor = midnight(day)
        await self._since(start, scanned_to, began, now, report)
        # The alerts of every alarm raised above (and of any a crash left without theirs).
        while True:
            async with self.sessions() as session, session.begin():
                taken, made = await record_alerts(session=session, now=now, page=_PAGE)
            report.alerts += made
            if taken < _PAGE:
                return report

    async def _going_live(self, session: AsyncSession, now: datetime) -> int:
        """docs/contract.md, section 7, "Going live": the lapse of every open obligation that
        has lapsed by the first start, once (the alarm key). Not its warnings, nor escalations
        already fallen due: those after now come as usual, reminders from the next one on."""
        calendar, found = self.context.calendar, []
        before = london_day(now) - timedelta(days=1)  # the lapse falls due as the due day ends
        for rule in self.context.rules.values():
            lapse = next(t for t in templates(rule) if t.kind == "lapse")
            rows = await store.open_due_between(
                session=session, rule=rule.id, first=date.min, last=before
            )
            found += [(Due.of(r), lapse.step(r.due, calendar)) for r in rows]
        raised = await raise_alarms(
            session=session, candidates=found, context=self.context, now=now, reminders_after=now
        )
        log.info("going live: lapses raised", extra={"lapsed": len(found), "raised": raised})
        return raised

    async def _midnight(self, day: date, now: datetime, report: TickReport) -> None:
        calendar = self.context.calendar
        for lapses in (True, False):
            async with self.sessions() as session, session.begin():
                found: list[tuple[Due, Step]] = []
                for rule in self.context.rules.values():
                    for template in templates(rule):
                        if (template.kind == "lapse") != lapses:
                            continue
                        first, last = due_range(template, (day, day), calendar)
                        if first > last:
                            continue
                        rows = await store.open_due_between(
                            session=session, rule=rule.id, first=first, last=last
                        )
                        steps: dict[date, Step] = {}  # many obligations share a due date
                        for r in rows:
                            if r.due not in steps:
                                steps[r.due] = template.step(r.due, calendar)
                            found.append((Due.of(r), steps[r.due]))
                found = await self._unheld(session, found, now)
                report.alarms += await raise_alarms(
                    session=session, candidates=found, context=self.context, now=now
                )
                if not lapses:
                    state = await self._state(session, now)
                    state.cursor = midnight(day)
            # Lapses go out on the stream as soon as they are recorded, before the rest.
            report.published += await self.publish(now)

    async def _since(
        self,
        cursor: datetime,
        scanned_to: datetime,
        began: datetime,
        now: datetime,
        report: TickReport,
    ) -> None:
        calendar = self.context.calendar
        async with self.sessions() as session, session.begin():
            found = await self._repeats(session, now)
            ended = await store.snoozes_ended(session=session, after=cursor, upto=now)
            rows = await store.open_by_id(session=session, ids=ended)
            # A row stamped before `wall - margin` has committed by now (no tracker transaction
            # lasts that long), so the next look starts there: only the last `margin` of
            # writes is ever read twice, however many obligations are open.
            latest = max(scanned_to, self.wall() - self.margin)
            horizon = london_day(now) + self._horizon
            written = await store.written_since(
                session=session, since=scanned_to, horizon=horizon, seen=self._seen
            )
            fresh = written.fresh
            rows += [w for w in fresh if w.state == "open"]
            for row in rows:
                due = Due.of(row)
                if due.state == "open" and due.rule in self.context.rules:
                    rule = self.context.rules[due.rule]
                    steps = fallen_due(rule, due.due, calendar, now)
                    found += [(due, s) for s in steps if s.at >= began]
            found = await self._unheld(session, found, now)
            report.alarms += await raise_alarms(
                session=session, candidates=found, context=self.context, now=now
            )
            await self._met(session, [Due.of(w) for w in fresh if w.state != "open"], now)
            state = await self._state(session, now)
            state.cursor, state.scanned_to = max(state.cursor, now), latest
            state.updated_at = now
        self._seen = written.stamps  # only once it committed
        report.published += await self.publish(now)

    async def _state(self, session: AsyncSession, now: datetime) -> Any:
        return await store.load_state(
            session=session, now=now, scanned_to=self.wall() - self.margin
        )

    async def _repeats(self, session: AsyncSession, now: datetime) -> list[tuple[Due, Step]]:
        every = self.context.repeat_days
        alarms = await store.repeats_due(session=session, now=now)
        current = {
            r.id: Due.of(r)
            for r in await store.open_by_id(session=session, ids={a.obligation_id for a in alarms})
        }
        held = await store.holds(session=session, ids=set(current), now=now)
        found = []
        for alarm in alarms:
            o = current.get(alarm.obligation_id)
            rule = self.context.rules.get(alarm.rule)
            key = (alarm.obligation_id, alarm.due)
            if o is None or rule is None or o.state != "open" or o.due != alarm.due or every < 1:
                alarm.repeat_at = None  # resolved, recalculated or gone: no more reminders
            elif key in held.acknowledged:
                alarm.repeat_at = None
            elif key in held.snoozed:
                alarm.repeat_at = held.snoozed[key]
            else:
                k = alarm.repeats + 1
                while repeat_step(rule, o.due, k + 1, every, self.context.calendar).at <= now:
                    k += 1  # after a long stop, one reminder: the latest fallen due
                step = repeat_step(rule, o.due, k, every, self.context.calendar)
                if step.at <= now:
                    found.append((o, step))
                    alarm.repeats = k
                    step = repeat_step(rule, o.due, k + 1, every, self.context.calendar)
                alarm.repeat_at = step.at
        return found

    async def _unheld(
        self, session: AsyncSession, found: list[tuple[Due, Step]], now: datetime
    ) -> list[tuple[Due, Step]]:
        """Escalations and reminders stop for an acknowledged obligation and wait for a
        snoozed one (raised when the snooze ends); warnings and lapses always go."""
        escalating = {o.id for o, s in found if s.kind in ("escalation", "repeat")}
        if not escalating:
            return found
        held = await store.holds(session=session, ids=escalating, now=now)
        return [
            (o, s)
            for o, s in found
            if s.kind not in ("escalation", "repeat")
            or (
                (o.id, o.due) not in held.acknowledged
                and (s.kind == "repeat" or (o.id, o.due) not in held.snoozed)
            )
        ]

    async def _met(self, session: AsyncSession, closed: Sequence[Due], now: datetime) -> None:
        done = [o for o in closed if o.state in ("met", "met-late")]
        alarmed = await store.alarmed(session=session, keys={(o.id, o.due) for o in done})
        await add_events(
            session=session, events=[met_event(o, now) for o in done if o.id in alarmed], now=now
        )

    async def publish(self, now: datetime) -> int:
        return await flush_outbox(
            sessions=self.sessions, redis=self.redis, settings=self.settings, now=now
        )

    def _exclusive(self) -> Any:
        return _AdvisoryLock(self.engine)


class _AdvisoryLock:
    """pg_try_advisory_lock on a connection held for the tick; SQLite has one writer anyway."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: Any = None

    async def __aenter__(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        self.connection = await self.engine.connect()
        got = await self.connection.scalar(select(func.pg_try_advisory_lock(_LOCK_ID)))
        await self.connection.commit()
        return bool(got)

    async def __aexit__(self, *_: object) -> None:
        if self.connection is not None:
            await self.connection.execute(select(func.pg_advisory_unlock_all()))
            await self.connection.close()
