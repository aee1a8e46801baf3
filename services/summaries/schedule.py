"""When summaries are due, for whom, and claiming each (scope, week) exactly once.

Pure week arithmetic plus keyword-only data access. A claim is an INSERT of the unique
(scope kind, scope id, week) with ON CONFLICT DO NOTHING, so restarts and concurrent `serve`
processes agree on one row; a delivery takes a time-limited lease on a pending row with a
conditional UPDATE, so two processes never send the same summary at once, and a process that
dies mid-send leaves the row to be retried after its lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import LapseClockState, PublishedSummary, StaffMember
from services.rules.calendar import LONDON
from services.summaries.model import Scope
from services.summaries.weeks import IsoWeek

P: Any = PublishedSummary.__table__  # type: ignore[attr-defined]
S: Any = StaffMember.__table__  # type: ignore[attr-defined]
L: Any = LapseClockState.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DueWeek:
    week: IsoWeek
    due_at: datetime  # the London moment its summary is due


def due_weeks(
    *, now: datetime, day: str, at: time, catch_up: int, since: datetime | None = None
) -> list[DueWeek]:
    """The current week once its moment has passed, and up to `catch_up` weeks before it
    (missed while the service was down), oldest first; none that ended (its Sunday over)
    before `since`, the scheduler's first start."""
    current = IsoWeek.of(now.astimezone(LONDON).date())
    found = []
    for back in range(catch_up, -1, -1):
        week = current.shifted(-back)
        moment = week.moment(day, at)
        ended = week.shifted(1).moment("monday", time(0))
        if moment <= now and (since is None or ended > since):
            found.append(DueWeek(week, moment))
    return found


SCHEDULER = "summaries"  # its row in `lapse_clock`


async def first_start(*, session: AsyncSession, now: datetime) -> datetime:
    """When the scheduler first ran (docs/contract.md, section 9, "Going live"), recorded the
    first time it is asked. Kept as the row `summaries` of the `lapse_clock` table (its cursor
    columns unused), so no migration; a database that predates the row takes the earliest
    start it shows instead (the lapse clock's, the first summary claimed), so an upgrade does
    not narrow catching up."""
    known = await _started(session, SCHEDULER)
    if known is not None:
        return known
    earlier = [
        await _started(session, "lapse"),
        await session.scalar(select(func.min(P.c.claimed_at))),
    ]
    started = min([now, *(moment for moment in earlier if moment is not None)])
    row = {
        "name": SCHEDULER,
        "started_at": started,
        "cursor": started,
        "scanned_to": started,
        "updated_at": now,
    }
    await bulk.write(session, LapseClockState, [row], key=("name",))
    stored = await _started(session, SCHEDULER)  # another process's, if it came first
    assert stored is not None
    return stored


async def start_again(*, session: AsyncSession, now: datetime) -> None:
    """The scheduler's first start moved to `now` (never earlier), so no week before it is
    caught up: `followup demo` hands the schedule back to the present after its simulated
    weeks (docs/contract.md section 6, "Added: the demo")."""
    await session.execute(
        update(L).where(L.c.name == SCHEDULER, L.c.started_at < now).values(started_at=now)
    )


async def _started(session: AsyncSession, name: str) -> datetime | None:
    found: datetime | None = await session.scalar(select(L.c.started_at).where(L.c.name == name))
    return found


@dataclass(frozen=True, slots=True)
class Recipient:
    staff_id: str
    email: str


@dataclass(frozen=True, slots=True)
class Audience:
    """A scope and who receives its summary."""

    scope: Scope
    recipients: Sequence[Recipient]


async def audiences(*, session: AsyncSession) -> list[Audience]:
    """An Area summary for the DCCPs of each Area, a team summary for each legal manager."""
    rows = (
        await session.execute(
            select(S.c.staff_id, S.c.email, S.c.role, S.c.area)
            .where(S.c.role.in_(("dccp", "legal-manager")))
            .order_by(S.c.area, S.c.staff_id)
        )
    ).all()
    by_area: dict[str, list[Recipient]] = {}
    found = []
    for row in rows:
        if row.role == "dccp":
            by_area.setdefault(row.area, []).append(Recipient(row.staff_id, row.email))
        else:
            scope = Scope(area=row.area, manager=row.staff_id)
            found.append(Audience(scope, [Recipient(row.staff_id, row.email)]))
    return [Audience(Scope(area=area), people) for area, people in by_area.items()] + found


async def audience_of(*, session: AsyncSession, kind: str, scope_id: str, area: str) -> Audience:
    for audience in await audiences(session=session):
        if (audience.scope.kind, audience.scope.id, audience.scope.area) == (kind, scope_id, area):
            return audience
    # The DCCP or manager left since the claim: nobody to send to, and nothing is lost.
    scope = Scope(area=area, manager=scope_id if kind == "team" else None)
    return Audience(scope, [])


async def claim(*, session: AsyncSession, audience: Audience, due: DueWeek, now: datetime) -> bool:
    """Record that this scope's summary for this week is to be published; False if some
    process (this one before a restart, or another) already did."""
    scope = audience.scope
    row = {
        "scope_kind": scope.kind,
        "scope_id": scope.id,
        "area": scope.area,
        "week": str(due.week),
        "due_at": due.due_at,
        "status": "pending",
        "attempts": 0,
        "delivered": [],
        "claimed_at": now,
    }
    key = ("scope_kind", "scope_id", "week")
    return bool(await bulk.write(session, PublishedSummary, [row], key=key, returning=("id",)))


async def pending(
    *, session: AsyncSession, now: datetime, packs: bool = False
) -> list[PublishedSummary]:
    """Claimed rows not yet sent whose lease (if any) has run out, oldest week first: weekly
    summaries' rows, or with `packs` the monthly and quarterly packs' (services/summaries/
    packs), which name their period, 2017-08 or 2017-Q3, in the `week` column."""
    weekly = P.c.week.like("%-W%")
    statement = (
        select(PublishedSummary)
        .where(
            PublishedSummary.status == "pending",  # type: ignore[arg-type]
            not_(weekly) if packs else weekly,
            or_(P.c.lease_until.is_(None), P.c.lease_until <= now),
        )
        .order_by(P.c.week, P.c.id)
    )
    return list((await session.execute(statement)).scalars())


async def take_lease(
    *, session: AsyncSession, row_id: int, now: datetime, lease: timedelta
) -> bool:
    """Only one process gets a pending row until `now + lease`."""
    statement = (
        update(P)
        .where(
            and_(
                P.c.id == row_id,
                P.c.status == "pending",
                or_(P.c.lease_until.is_(None), P.c.lease_until <= now),
            )
        )
        .values(lease_until=now + lease, attempts=P.c.attempts + 1)
    )
    result: Any = await session.execute(statement)
    return bool(result.rowcount == 1)


async def note_delivered(*, session: AsyncSession, row_id: int, delivered: list[str]) -> None:
    await session.execute(update(P).where(P.c.id == row_id).values(delivered=delivered))


async def note_failure(*, session: AsyncSession, row_id: int, error: str) -> None:
    await session.execute(update(P).where(P.c.id == row_id).values(last_error=error[:2000]))


async def mark_sent(
    *, session: AsyncSession, row_id: int, now: datetime, note: str | None = None
) -> bool:
    """False when the row was already sent (by a process that took over an expired lease).
    `note`: the recipients whose address was refused, kept as the row's `last_error`."""
    result: Any = await session.execute(
        update(P)
        .where(P.c.id == row_id, P.c.status == "pending")
        .values(status="sent", sent_at=now, lease_until=None, last_error=note)
    )
    return bool(result.rowcount == 1)


async def overdue(*, session: AsyncSession, now: datetime, day: str, at: time) -> int:
    """Scopes whose summary of the latest week due is not sent, for `/metrics`
    (docs/contract.md, section 11, "Added: operations gauges"): none is claimed for it, or its
    row is still pending. Only that week, and only if it is owed (it ended after the
    scheduler's first start, or the scheduler never started); reads, never claims."""
    since = await _started(session, SCHEDULER) or now
    due = due_weeks(now=now, day=day, at=at, catch_up=1, since=since)
    if not due:
        return 0
    week = str(due[-1].week)
    sent = {
        (row.scope_kind, row.scope_id)
        for row in await session.execute(
            select(P.c.scope_kind, P.c.scope_id).where(P.c.week == week, P.c.status == "sent")
        )
    }
    owed = [(a.scope.kind, a.scope.id) for a in await audiences(session=session)]
    return sum(1 for scope in owed if scope not in sent)
