"""One small builder per section: `async (*, session, scope, week, as_of) -> Section`.

`SECTIONS` is the page, in order. A section that depends on another capability (the
escalation level of each lapse from alerts, recommendation follow-up from the audit
capability) is added by appending a builder here and its rendering beside the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.summaries import queries
from services.summaries.model import (
    ZERO,
    Breakdown,
    Counts,
    Custody,
    CustodyLimit,
    Group,
    Lapse,
    Lapses,
    PersonLoad,
    RuleCounts,
    Scope,
    Section,
    Timeliness,
    Workload,
    timeliness,
    total,
)
from services.summaries.weeks import IsoWeek

TREND_WEEKS = 13
WORKLOAD_DAYS = 14
CUSTODY_DAYS = 28


class SectionBuilder(Protocol):
    def __call__(
        self, *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
    ) -> Awaitable[Section]: ...


def _counts(row: Any) -> Counts:
    return Counts.of(met=row.met, late=row.late, lapsed=row.lapsed, open=row.open)


async def build_timeliness(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Timeliness:
    weeks = week.window(TREND_WEEKS)
    rows = await queries.counts_by_rule_and_day(
        session=session, scope=scope, first=weeks[0].monday, last=week.sunday, as_of=as_of
    )
    per_rule: dict[str, dict[str, Counts]] = {}
    for row in rows:
        weekly = per_rule.setdefault(row.rule, {})
        name = str(IsoWeek.of(row.due))
        weekly[name] = weekly.get(name, ZERO) + _counts(row)
    return timeliness(per_rule=per_rule, week=week, weeks=[str(w) for w in weeks])


async def _breakdown(
    by: str, *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Breakdown:
    rows = await queries.counts_by_group(
        session=session, scope=scope, by=by, first=week.monday, last=week.sunday, as_of=as_of
    )
    grouped: dict[str | None, list[RuleCounts]] = {}
    for row in rows:
        grouped.setdefault(row.grp, []).append(RuleCounts(row.rule, _counts(row)))
    names = await queries.staff_names(
        session=session, ids=[k for k in grouped if k is not None] if by == "team" else []
    )
    groups = [
        Group(
            key=key,
            label=_group_label(by, key, names),
            rules=sorted(rules, key=lambda r: r.rule),
            total=total(r.counts for r in rules),
        )
        for key, rules in grouped.items()
    ]
    # Groups with something owed first; "no unit"/"no team" last.
    groups.sort(key=lambda g: (g.key is None, g.key or ""))
    return Breakdown(by=by, week=str(week), groups=groups)


def _group_label(by: str, key: str | None, names: dict[str, str]) -> str:
    if key is None:
        return "no case unit" if by == "unit" else "no team (owner unknown)"
    return f"{names[key]} ({key})" if key in names else key


async def build_units(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Breakdown:
    return await _breakdown("unit", session=session, scope=scope, week=week, as_of=as_of)


async def build_teams(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Breakdown:
    return await _breakdown("team", session=session, scope=scope, week=week, as_of=as_of)


async def build_lapses(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Lapses:
    rows = await queries.lapsed_in(
        session=session, scope=scope, first=week.monday, last=week.sunday, as_of=as_of
    )
    items = [
        Lapse(
            obligation_id=row.id,
            rule=row.rule,
            urn=row.urn,
            owner=row.owner,
            owner_name=row.name,
            manager=row.manager,
            due=row.due,
            age_days=(as_of - row.due).days,
        )
        for row in rows
    ]
    items.sort(key=lambda lapse: (-lapse.age_days, lapse.obligation_id))
    return Lapses(week=str(week), items=items)


async def build_workload(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Workload:
    ends = as_of + timedelta(days=WORKLOAD_DAYS - 1)
    rows = await queries.open_load_by_owner(
        session=session, scope=scope, starts=as_of, ends=ends, as_of=as_of
    )
    people = [PersonLoad(r.owner, r.name, r.team, int(r[3]), int(r[4])) for r in rows]
    people.sort(key=lambda p: (-p.due_next_14, -p.open_past_due, p.staff_id or ""))
    return Workload(starts=as_of, ends=ends, people=people, teams=await _teams(session, people))


async def _teams(session: AsyncSession, people: Sequence[PersonLoad]) -> list[PersonLoad]:
    sums: dict[str | None, tuple[int, int]] = {}
    for person in people:
        soon, overdue = sums.get(person.team, (0, 0))
        sums[person.team] = (soon + person.due_next_14, overdue + person.open_past_due)
    names = await queries.staff_names(session=session, ids=[t for t in sums if t is not None])
    teams = [PersonLoad(t, names.get(t or ""), t, soon, over) for t, (soon, over) in sums.items()]
    teams.sort(key=lambda t: (-t.due_next_14, -t.open_past_due, t.staff_id or ""))
    return teams


async def build_custody(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Custody:
    ends = as_of + timedelta(days=CUSTODY_DAYS)
    rows = await queries.custody_limits_expiring(
        session=session, scope=scope, starts=as_of, ends=ends
    )
    items = [
        CustodyLimit(
            obligation_id=row.id,
            urn=row.urn,
            defendant=row.key.rpartition("/")[2],
            owner=row.owner,
            owner_name=row.name,
            expires=row.due,
            days_left=(row.due - as_of).days,
        )
        for row in rows
    ]
    return Custody(starts=as_of, ends=ends, items=items)


def sections_for(scope: Scope) -> list[SectionBuilder]:
    """The page for a scope: a unit's page has no per-unit table, a team's no per-team one."""
    builders: list[SectionBuilder] = [build_timeliness]
    if scope.unit is None and scope.manager is None:
        builders.append(build_units)
    if scope.manager is None:
        builders.append(build_teams)
    return [*builders, build_lapses, build_workload, build_custody]
