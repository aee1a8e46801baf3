"""The backlog: every obligation still open past its due date, whatever week it fell due in,
counted by due week, case unit and legal manager's team, with the oldest listed and the
total counted (docs/contract.md section 9, "the weekly call pack"). The weekly pack counts
those due before its as-of date; the Area page those due before the week's Monday (section
12, "Area and inspection pages")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from services.summaries import queries
from services.summaries.escalation import escalation_of
from services.summaries.model import Backlog, GroupCount, Lapse, Scope
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["LISTED", "Backlog", "GroupCount", "build_backlog"]

LISTED = 200  # the oldest shown; the counts cover every one


async def build_backlog(
    *, session: AsyncSession, scope: Scope, before: date, as_of: date, limit: int = LISTED
) -> Backlog:
    rows = await queries.backlog_counts(session=session, scope=scope, before=before)
    staff = await queries.staff_of(session=session, ids=[r.owner for r in rows])
    units: Counter[str | None] = Counter()
    teams: Counter[str | None] = Counter()
    weeks: Counter[str | None] = Counter()
    for row in rows:
        units[row.unit] += row.lapsed
        weeks[str(IsoWeek.of(row.due))] += row.lapsed
        person = staff.get(row.owner or "")
        teams[person.team(row.owner) if person and row.owner else None] += row.lapsed
    managers = await queries.staff_of(session=session, ids=teams)
    listed = await queries.backlog_items(session=session, scope=scope, before=before, limit=limit)
    alerts = await queries.lapse_alerts(session=session, ids=[r.id for r in listed])
    by_week = [GroupCount(week, f"due in {week}", n) for week, n in weeks.items() if n]
    by_week.sort(key=lambda g: g.key or "")
    return Backlog(
        before=before,
        as_of=as_of,
        total=sum(units.values()),
        by_week=by_week,
        by_unit=_ordered(units, lambda key: key or "no case unit"),
        by_team=_ordered(
            teams,
            lambda key: (
                "no team (owner unknown)"
                if key is None
                else f"{managers[key].name} ({key})"
                if key in managers
                else key
            ),
        ),
        items=[
            Lapse(
                obligation_id=row.id,
                rule=row.rule,
                urn=row.urn,
                owner=row.owner,
                owner_name=row.name,
                manager=row.manager,
                due=row.due,
                age_days=(as_of - row.due).days,
                escalation=escalation_of(
                    [
                        (a.level, a.role)
                        for a in alerts
                        if (a.obligation_id, a.due) == (row.id, row.due)
                    ]
                ),
            )
            for row in listed
        ],
    )


def _ordered(counts: Counter[str | None], label: Callable[[str | None], str]) -> list[GroupCount]:
    """Most lapsed first; "no unit"/"no team" last."""
    found = [GroupCount(key, label(key), n) for key, n in counts.items() if n]
    found.sort(key=lambda g: (g.key is None, -g.lapsed, g.key or ""))
    return found
