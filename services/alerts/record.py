"""Raise alarms: each step of an obligation's due date once, its alerts (one per recipient)
recorded before anything is sent, its tracking-stream event in the same transaction.

The unique keys decide what is new: an alarm already raised (by an earlier tick, a catch-up
after a restart, or another clock process) inserts nothing and sends nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from events.envelope import Event
from events.outbound import (
    CLOCK_SOURCE,
    ObligationEscalated,
    ObligationLapsed,
    ObligationMet,
    ObligationWarning,
    outbound_event,
)
from schemas.tables import Alarm, Alert
from services.alerts.directory import case_units, load_directory
from services.alerts.routing import About
from services.alerts.sql import insert_for
from services.alerts.tracking import add_events
from services.audit.trail import AuditRecord, append_audit
from services.lapse.hours import WorkingHours
from services.lapse.schedule import Step, repeat_step
from services.rules.calendar import Calendar
from services.rules.pack import Rule

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


def obligation_ref(obligation_id: str) -> str:
    """What alerts, events and logs call an obligation: its id holds the key of what it
    tracks (a victim's or defendant's id), which must not leave the database."""
    return "ob-" + hashlib.sha256(obligation_id.encode()).hexdigest()[:16]


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
) -> int:
    """Record the new ones among `candidates`; return how many alerts were raised."""
    unique = {(o.id, o.due, s.level): (o, s) for o, s in candidates}
    if not unique:
        return 0
    table = Alarm.__table__.c  # type: ignore[attr-defined]
    statement = (
        insert_for(session, Alarm)
        .on_conflict_do_nothing(index_elements=["obligation_id", "due", "level"])
        .returning(table.obligation_id, table.due, table.level)
    )
    rows = [_alarm_row(o, s, context, now) for o, s in unique.values()]
    new = {tuple(r) for r in (await session.execute(statement, rows)).all()}
    fresh = [pair for key, pair in unique.items() if key in new]
    if not fresh:
        return 0
    return await _alert(session, fresh, context, now)


def _alarm_row(o: Due, s: Step, context: Context, now: datetime) -> dict[str, Any]:
    repeat_at = None
    if s.kind == "lapse" and context.repeat_days > 0:
        rule = context.rules[o.rule]
        repeat_at = repeat_step(rule, o.due, 1, context.repeat_days, context.calendar).at
    return {
        "obligation_id": o.id,
        "due": o.due,
        "level": s.level,
        "rule": o.rule,
        "urn": o.urn,
        "area": o.area,
        "fell_due_at": s.at,
        "raised_at": now,
        "repeat_at": repeat_at,
        "repeats": 0,
    }


async def _alert(
    session: AsyncSession, fresh: list[tuple[Due, Step]], context: Context, now: datetime
) -> int:
    units = await case_units(session=session, urns={o.urn for o, _ in fresh if o.urn})
    directory = await load_directory(
        session=session,
        owners={o.owner for o, _ in fresh if o.owner},
        areas={o.area for o, _ in fresh if o.area},
    )
    rows: list[dict[str, Any]] = []
    events: list[Event] = []
    for o, s in fresh:
        about = About(o.owner, o.area, units.get(o.urn) if o.urn else None)
        recipients = directory.route(s.roles, about)
        if not recipients:
            log.error(
                "nobody on record to alert",
                extra={"obligation_ref": o.ref, "level": s.level, "area": o.area},
            )
        deliver_after = context.hours.next_slot(max(s.at, now) if s.kind == "repeat" else s.at)
        rows += [
            {
                "obligation_id": o.id,
                "obligation_ref": o.ref,
                "due": o.due,
                "level": s.level,
                "recipient": r.staff_id,
                "role": r.role,
                "reason": r.reason,
                "rule": o.rule,
                "urn": o.urn,
                "area": o.area,
                "fell_due_at": s.at,
                "raised_at": now,
                "deliver_after": deliver_after,
                "state": "pending",
            }
            for r in recipients
        ]
        events.append(step_event(o, s, [r.staff_id for r in recipients]))
    await add_events(session=session, events=events, now=now)
    if not rows:
        return 0
    table = Alert.__table__.c  # type: ignore[attr-defined]
    statement = (
        insert_for(session, Alert)
        .on_conflict_do_nothing(index_elements=["obligation_id", "due", "level", "recipient"])
        .returning(table.id, table.obligation_ref, table.level, table.recipient, table.role)
    )
    raised = (await session.execute(statement, rows)).all()
    by_key = {(r["obligation_ref"], r["level"], r["recipient"]): r for r in rows}
    records = [
        AuditRecord(
            entity="alert",
            entity_id=str(alert_id),
            action="raised" if level.startswith(("warning", "lapse")) else "escalated",
            actor="lapse-clock",
            caused_by=f"clock:{by_key[(ref, level, who)]['fell_due_at'].isoformat()}",
            detail={
                "obligation_ref": ref,
                "rule": by_key[(ref, level, who)]["rule"],
                "urn": by_key[(ref, level, who)]["urn"],
                "due": by_key[(ref, level, who)]["due"].isoformat(),
                "level": level,
                "recipient": who,
                "role": role,
                "reason": by_key[(ref, level, who)]["reason"],
            },
        )
        for alert_id, ref, level, who, role in raised
    ]
    await append_audit(session=session, records=records, at=now)
    return len(raised)


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
