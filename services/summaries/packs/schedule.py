"""When monthly and quarterly packs are due, for whom, and claiming each (Area, period)
exactly once (docs/contract.md section 9, "Added: monthly and quarterly packs").

A pack is a row of `summaries_published` like a weekly summary: scope kind `area`, scope id
the Area, and in its `week` column the period (`2017-08`, `2017-Q3`), which never looks like
an ISO week (`2017-W30`), so the weekly publisher and this one never take each other's rows
(`services.summaries.schedule.pending`). Leasing, delivery notes and marking sent are the
weekly scheduler's own functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import PublishedSummary, StaffMember
from services.rules.calendar import LONDON, Calendar
from services.summaries.packs.periods import PackPeriod
from services.summaries.schedule import Recipient

P: Any = PublishedSummary.__table__  # type: ignore[attr-defined]
S: Any = StaffMember.__table__  # type: ignore[attr-defined]
ROLES = ("ccp", "abm")


@dataclass(frozen=True, slots=True)
class DuePeriod:
    period: PackPeriod
    due_at: datetime  # the London moment its pack is due


def due_periods(
    *,
    now: datetime,
    calendar: Calendar,
    working_day: int,
    at: time,
    catch_up_months: int,
    since: datetime | None = None,
) -> list[DuePeriod]:
    """The months and quarters whose moment has passed, the latest and up to
    `catch_up_months` months (and the quarters ending in them) before it, oldest first; none
    that ended (its last day over, London) before `since`, the scheduler's first start."""
    today = now.astimezone(LONDON).date()
    found = []
    for every in ("monthly", "quarterly"):
        period = PackPeriod.of(today, every).previous()
        oldest = PackPeriod.of(today, "monthly")
        for _ in range(catch_up_months + 1):
            oldest = oldest.previous()
        candidates = []
        while period.end >= oldest.start:
            candidates.append(period)
            period = period.previous()
        for period in reversed(candidates):
            moment = period.moment(calendar=calendar, working_day=working_day, at=at)
            ended = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=LONDON)
            if moment <= now and (since is None or ended > since):
                found.append(DuePeriod(period, moment))
    return found


@dataclass(frozen=True, slots=True)
class PackAudience:
    area: str
    recipients: Sequence[Recipient]


async def pack_audiences(*, session: AsyncSession) -> list[PackAudience]:
    """One pack per Area that has a CCP or an ABM, sent to each of them."""
    rows = await session.execute(
        select(S.c.staff_id, S.c.email, S.c.area)
        .where(S.c.role.in_(ROLES))
        .order_by(S.c.area, S.c.staff_id)
    )
    by_area: dict[str, list[Recipient]] = {}
    for row in rows:
        by_area.setdefault(row.area, []).append(Recipient(row.staff_id, row.email))
    return [PackAudience(area, people) for area, people in by_area.items()]


async def recipients_of(*, session: AsyncSession, area: str) -> list[Recipient]:
    for audience in await pack_audiences(session=session):
        if audience.area == area:
            return list(audience.recipients)
    return []  # they left since the claim: nobody to send to


async def claimed(*, session: AsyncSession, periods: Sequence[str]) -> set[tuple[str, str]]:
    rows = await session.execute(
        select(P.c.scope_id, P.c.week).where(P.c.scope_kind == "area", P.c.week.in_(periods))
    )
    return {(row.scope_id, row.week) for row in rows}


async def claim(*, session: AsyncSession, area: str, due: DuePeriod, now: datetime) -> bool:
    """Record that this Area's pack for this period is to be published; False if some process
    already did (the unique scope kind, scope id and period)."""
    row = {
        "scope_kind": "area",
        "scope_id": area,
        "area": area,
        "week": str(due.period),
        "due_at": due.due_at,
        "status": "pending",
        "attempts": 0,
        "delivered": [],
        "claimed_at": now,
    }
    key = ("scope_kind", "scope_id", "week")
    return bool(await bulk.write(session, PublishedSummary, [row], key=key, returning=("id",)))
