"""Raise alarms: each step of an obligation's due date once, routed to the people it goes to,
its tracking-stream event in the same transaction; its alerts (one per recipient) are recorded
from it right after (alerting.py), before anything is sent.

The unique keys decide what is new: an alarm already raised (by an earlier tick, a catch-up
after a restart, or another clock process) inserts nothing and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from events.envelope import Event
from events.outbound import (
    CLOCK_SOURCE,
    ObligationEscalated,
    ObligationLapsed,
    ObligationMet,
    ObligationWarning,
    obligation_ref,
    outbound_event,
)
from schemas import bulk
from schemas.tables import Alarm
from services.alerts.clock.directory import case_units, load_directory
from services.alerts.clock.hours import WorkingHours
from services.alerts.clock.routing import About, Recipient
from services.alerts.clock.schedule import Step, repeat_step
from services.platform.outbox import add_events
from services.rules.calendar import Calendar
from services.rules.pack import Rule

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("followup.alerts")


@dataclass(frozen=True, slots=True)
class Due:
    """An obligation as the clock reads it (a Core row of `obligations`)."""

    id: str
    rule: str
    urn: str | None
    owner: str | None
    area: str | None
    due: date
    state: str
    closed_on: date | None = None

    @classmethod
    def of(cls, row: Any) -> Due:
        return cls(
            row.id, row.rule, row.urn, row.owner, row.area, row.due, row.state, row.closed_on
        )

    @property
    def ref(self) -> str:
        return obligation_ref(self.id)


@dataclass(frozen=True, slots=True)
class Context:
    rules: Mapping[str, Rule]
    calendar: Calendar
    hours: WorkingHours
    repeat_days: int


async def raise_alarms(
    *,
    session: AsyncSession,
    candidates: Sequence[tuple[Due, Step]],
    context: Context,
    now: datetime,
    reminders_after: datetime | None = None,
) -> int:
    """Record the new ones among `candidates`, each with the people it goes to, and their
    tracking-stream events; return how many were new. Their alerts are recorded from the
    alarm rows by `record_alerts.record_alerts`, in a transaction of their own, so the events
    (whose latency is promised) need not wait for alerts and audit entries.

    `reminders_after`: the lapses' reminders start with the first one after this moment (going
    live: none is owed for the time before the clock ran); else with the first."""
    unique = {(o.id, o.due, s.level): (o, s) for o, s in candidates}
    if not unique:
        return 0
    pairs = list(unique.values())
    units = await case_units(session=session, urns={o.urn for o, _ in pairs if o.urn})
    directory = await load_directory(
        session=session,
        owners={o.owner for o, _ in pairs if o.owner},
        areas={o.area for o, _ in pairs if o.area},
    )
    slots: dict[datetime, datetime] = {}
    repeats: dict[tuple[str, date], datetime | None] = {}
    routed: dict[tuple[str, date, str], list[Recipient]] = {}
    rows = []
    for key, (o, s) in unique.items():
        routed[key] = recipients = directory.route(
            s.roles, About(o.owner, o.area, units.get(o.urn) if o.urn else None)
        )
        ready = max(s.at, now) if s.kind == "repeat" else s.at
        if ready not in slots:
            slots[ready] = context.hours.next_slot(ready)
        if s.kind == "lapse" and (o.rule, o.due) not in repeats:
            repeats[(o.rule, o.due)] = _first_repeat(o, context, reminders_after)
        rows.append(
            {
                "obligation_id": o.id,
                "due": o.due,
                "level": s.level,
                "rule": o.rule,
                "urn": o.urn,
                "area": o.area,
                "fell_due_at": s.at,
                "raised_at": now,
                "repeat_at": repeats.get((o.rule, o.due)) if s.kind == "lapse" else None,
                "repeats": 0,
                "recipients": [[r.staff_id, r.role, r.reason] for r in recipients],
                "deliver_after": slots[ready],
                "alerted_at": None,
            }
        )
    new = await bulk.write(session, Alarm, rows, key=_ALARM_KEY, returning=_ALARM_KEY)
    inserted = {tuple(r) for r in new}
    events: list[Event] = []
    for key, (o, s) in unique.items():
        if key not in inserted:
            continue
        if not routed[key]:
            log.error(
                "nobody on record to alert",
                extra={"obligation_ref": o.ref, "alert_level": s.level, "area": o.area},
            )
        events.append(step_event(o, s, [r.staff_id for r in routed[key]]))
    await add_events(session=session, events=events, now=now)
    return len(events)


_ALARM_KEY = ("obligation_id", "due", "level")


def _first_repeat(o: Due, context: Context, after: datetime | None) -> datetime | None:
    if context.repeat_days <= 0:
        return None
    rule, every, calendar = context.rules[o.rule], context.repeat_days, context.calendar
    k = 1
    step = repeat_step(rule, o.due, k, every, calendar)
    while after is not None and step.at <= after:
        k += 1
        step = repeat_step(rule, o.due, k, every, calendar)
    return step.at


def step_event(o: Due, s: Step, recipients: list[str]) -> Event:
    common: dict[str, Any] = {
        "obligation_ref": o.ref,
        "rule": o.rule,
        "urn": o.urn,
        "area": o.area,
        "due": o.due,
    }
    data: Any
    if s.kind == "warning":
        data = ObligationWarning(
            **common, level=s.level, working_days_before=s.days, recipients=recipients
        )
    elif s.kind == "lapse":
        data = ObligationLapsed(**common, recipients=recipients)
    else:
        data = ObligationEscalated(
            **common,
            level=s.level,
            kind="repeat" if s.kind == "repeat" else "escalation",
            working_days_after=s.days,
            recipients=recipients,
        )
    return outbound_event(
        event_id=f"{data.type_name}:{o.ref}:{o.due}:{s.level}",
        source=CLOCK_SOURCE,
        time=s.at,
        data=data,
    )


def met_event(o: Due, now: datetime) -> Event:
    data = ObligationMet(
        obligation_ref=o.ref,
        rule=o.rule,
        urn=o.urn,
        area=o.area,
        due=o.due,
        state="met-late" if o.state == "met-late" else "met",
        closed_on=o.closed_on,
    )
    return outbound_event(
        event_id=f"obligation-met:{o.ref}:{o.due}", source=CLOCK_SOURCE, time=now, data=data
    )
