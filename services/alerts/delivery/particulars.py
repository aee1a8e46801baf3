"""What a digest says of each obligation beyond its alerts (docs/contract.md, section 7, "The
digest email"): the rule's title, whose task it is, the case and what the opening event says
of the thing tracked, working days overdue, and the next step with the people it will reach.

Read at sending time, in a few queries per digest: the obligations, their tracks' facts, the
part of the org chart routing needs, and acknowledgements and snoozes. A victim's or
defendant's id is never read out: only the fields listed in `SHOWN` are.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.bulk import among
from schemas.tables import Obligation, Track
from services.alerts.clock import store
from services.alerts.clock.directory import case_units, load_directory
from services.alerts.clock.routing import About, Directory
from services.alerts.clock.schedule import london_day, next_escalation
from services.rules.calendar import Calendar
from services.rules.due import CustodyExpiry
from services.rules.pack import Rule

# Fields of an opening event a reader may see, in this order, with their labels. Never
# `victim_id` or `defendant_id`: the obligation's reference stands for them.
SHOWN = (
    ("hearing_id", "hearing"),
    ("court", "court"),
    ("hearing_date", "hearing date"),
    ("decision", "decision"),
    ("decision_date", "decision date"),
    ("limit", "custody time limit"),
    ("custody_start", "in custody since"),
    ("complaint_id", "complaint"),
    ("request_id", "review request"),
    ("stage", "stage"),
    ("action_id", "action"),
)
_PERSONAL = (("victim_id", "victim"), ("defendant_id", "defendant"))


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    staff_id: str
    role: str


@dataclass(frozen=True, slots=True)
class Next:
    """The next step: what it is, the London day it falls due, who it will reach."""

    kind: str  # lapse, escalation, repeat
    days: int  # working days after the lapse (escalation, repeat)
    on: date
    people: tuple[Person, ...]
    held_until: datetime | None = None  # a snooze holds escalations and reminders till then


@dataclass(frozen=True, slots=True)
class Particulars:
    title: str
    owner: Person | None
    owner_id: str | None  # set even when the owner is not on record
    details: tuple[tuple[str, str], ...]  # (label, value) from SHOWN
    stands_for: str | None  # "victim" or "defendant" when the reference stands for one
    overdue: int | None  # working days overdue today; None while not yet due
    custody_expiry: date | None  # the due date, for a custody time limit itself
    next: Next | None
    stopped: bool = False  # escalation stopped by an acknowledgement


async def load_particulars(
    *,
    session: AsyncSession,
    obligation_ids: Collection[str],
    rules: Mapping[str, Rule],
    calendar: Calendar,
    now: datetime,
    repeat_days: int,
) -> dict[str, Particulars]:
    """By obligation id; an obligation gone or of a rule no longer in the pack is left out."""
    if not obligation_ids:
        return {}
    rows = list(
        (
            await session.execute(
                select(Obligation).where(among(session, col(Obligation.id), obligation_ids))
            )
        ).scalars()
    )
    facts = await _facts(session, {(r.rule, r.key) for r in rows})
    directory = await load_directory(
        session=session,
        owners={r.owner for r in rows if r.owner},
        areas={r.area for r in rows if r.area},
    )
    units = await case_units(session=session, urns={r.urn for r in rows if r.urn})
    holds = await store.holds(session=session, ids=[r.id for r in rows], now=now)
    today = london_day(now)
    found = {}
    for row in rows:
        rule = rules.get(row.rule)
        if rule is None:
            continue
        about = About(row.owner, row.area, units.get(row.urn) if row.urn else None)
        upcoming = next_escalation(rule, row.due, calendar, now, repeat_every=repeat_days)
        step = upcoming.step if upcoming is not None else None
        key = (row.id, row.due)
        escalating = step is not None and step.kind in ("escalation", "repeat")
        stopped = escalating and key in holds.acknowledged
        coming = None
        if step is not None and not stopped:
            people = _people(directory, [r.staff_id for r in directory.route(step.roles, about)])
            held = holds.snoozed.get(key) if escalating else None
            coming = Next(step.kind, step.days, step.day, people, held)
        owner = _people(directory, [row.owner] if row.owner else [])
        found[row.id] = Particulars(
            title=rule.title,
            owner=owner[0] if owner else None,
            owner_id=row.owner,
            details=shown(_opening(facts.get((row.rule, row.key), []), rule)),
            stands_for=next((w for f, w in _PERSONAL if f in rule.opens.key_fields), None),
            overdue=calendar.working_days_between(row.due, today) if today > row.due else None,
            custody_expiry=row.due if custody_limit(rule) else None,
            next=coming,
            stopped=stopped,
        )
    return found


def custody_limit(rule: Rule) -> bool:
    """A custody time limit itself (its due date is the expiry), not a review before it."""
    return isinstance(rule.due, CustodyExpiry) and not rule.due.days_before


def shown(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (label, str(data[name])) for name, label in SHOWN if data.get(name) not in (None, "")
    )


def _opening(facts: Sequence[Mapping[str, Any]], rule: Rule) -> dict[str, Any]:
    """The opening events' data, later ones over earlier (a corrected court or date)."""
    merged: dict[str, Any] = {}
    for fact in facts:
        if fact.get("type") == rule.opens.type:
            merged.update(fact.get("data") or {})
    return merged


def _people(directory: Directory, ids: Sequence[str]) -> tuple[Person, ...]:
    found = []
    for staff_id in ids:
        person = directory.people.get(staff_id)
        if person is not None:
            found.append(Person(person.name or staff_id, staff_id, person.role))
    return tuple(found)


async def _facts(
    session: AsyncSession, tracks: set[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    if not tracks:
        return {}
    statement = select(col(Track.rule), col(Track.key), col(Track.facts)).where(
        among(session, col(Track.rule), sorted({rule for rule, _ in tracks})),
        among(session, col(Track.key), sorted({key for _, key in tracks})),
    )
    return {
        (rule, key): list(facts)
        for rule, key, facts in (await session.execute(statement)).all()
        if (rule, key) in tracks
    }
