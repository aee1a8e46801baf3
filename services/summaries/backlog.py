"""The backlog beside the weekly summary: obligations still open that fell due before this
week's Monday (the summary's lapses section covers those due in the week), counted by case
unit and by legal manager's team, with the oldest listed (docs/contract.md section 12, "Area
and inspection pages")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from services.summaries import queries
from services.summaries.model import Lapse, Scope
from services.summaries.sections import escalation_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

LISTED = 200  # the oldest shown; the counts cover every one


@dataclass(frozen=True, slots=True)
class GroupCount:
    key: str | None  # a unit, or a team's legal manager; None: no unit / no team
    label: str
    lapsed: int


@dataclass(frozen=True, slots=True)
class Backlog:
    before: date  # the week's Monday
    total: int
    by_unit: Sequence[GroupCount]
    by_team: Sequence[GroupCount]
    items: Sequence[Lapse]  # the oldest, at most LISTED


async def build_backlog(
    *, session: AsyncSession, scope: Scope, before: date, as_of: date, limit: int = LISTED
) -> Backlog:
    rows = await queries.backlog_counts(session=session, scope=scope, before=before)
    staff = await queries.staff_of(session=session, ids=[r.owner for r in rows])
    units: Counter[str | None] = Counter()
    teams: Counter[str | None] = Counter()
    for row in rows:
        units[row.unit] += row.lapsed
        person = staff.get(row.owner or "")
        teams[person.team(row.owner) if person and row.owner else None] += row.lapsed
    managers = await queries.staff_of(session=session, ids=teams)
    listed = await queries.backlog_items(session=session, scope=scope, before=before, limit=limit)
    alerts = await queries.lapse_alerts(session=session, ids=[r.id for r in listed])
    return Backlog(
        before=before,
        total=sum(units.values()),
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
            for key in [(row.id, row.due)]
        ],
    )


def _ordered(counts: Counter[str | None], label: Callable[[str | None], str]) -> list[GroupCount]:
    """Most lapsed first; "no unit"/"no team" last."""
    found = [GroupCount(key, label(key), n) for key, n in counts.items() if n]
    found.sort(key=lambda g: (g.key is None, -g.lapsed, g.key or ""))
    return found
