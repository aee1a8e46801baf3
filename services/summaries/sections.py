"""One small builder per section: `async (*, session, scope, week, as_of) -> Section`.

`sections_for` is the page, in order. A section that depends on another capability (the
escalation level of each lapse from alerts; recommendation follow-up from the audit
capability, in follow_up.py) is added by appending a builder here and its rendering beside
the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

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
from services.summaries.recommendations import build_audit_seal, build_recommendations
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

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
    staff = await queries.staff_of(
        session=session, ids=[r.grp for r in rows] if by == "team" else []
    )
    grouped: dict[str | None, dict[str, Counts]] = {}
    for row in rows:
        key = row.grp if by == "unit" else _team(row.grp, staff)
        rules = grouped.setdefault(key, {})
        rules[row.rule] = rules.get(row.rule, ZERO) + _counts(row)
    managers = await queries.staff_of(session=session, ids=grouped) if by == "team" else {}
    groups = [
        Group(
            key=key,
            label=_group_label(by, key, managers),
            rules=[RuleCounts(rule, rules[rule]) for rule in sorted(rules)],
            total=total(rules.values()),
        )
        for key, rules in grouped.items()
    ]
    groups.sort(key=lambda g: (g.key is None, g.key or ""))  # "no unit"/"no team" last
    return Breakdown(by=by, week=str(week), groups=groups)


def _team(owner: str | None, staff: dict[str, queries.Person]) -> str | None:
    person = staff.get(owner or "")
    return person.team(owner) if person and owner else None


def _group_label(by: str, key: str | None, managers: dict[str, queries.Person]) -> str:
    if key is None:
        return "no case unit" if by == "unit" else "no team (owner unknown)"
    return f"{managers[key].name} ({key})" if key in managers else key


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
    alerts = await queries.lapse_alerts(session=session, ids=[row.id for row in rows])
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
            escalation=escalation_of(
                [(a.level, a.role) for a in alerts if (a.obligation_id, a.due) == (row.id, row.due)]
            ),
        )
        for row in rows
    ]
    items.sort(key=lambda lapse: (-lapse.age_days, lapse.obligation_id))
    return Lapses(week=str(week), items=items)


def escalation_of(alerts: list[tuple[str, str]]) -> str | None:
    """ "escalation-3: dccp" from the (level, role) pairs raised: the furthest step, with every
    role told at that step."""
    if not alerts:
        return None

    def step(level: str) -> int:
        return 0 if level == "lapse" else int(level.removeprefix("escalation-"))

    top = max(step(level) for level, _ in alerts)
    level = "lapse" if top == 0 else f"escalation-{top}"
    roles = sorted({role for lvl, role in alerts if step(lvl) == top})
    return f"{level}: {', '.join(roles)}"


async def build_workload(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Workload:
    ends = as_of + timedelta(days=WORKLOAD_DAYS - 1)
    rows = await queries.open_load_by_owner(
        session=session, scope=scope, starts=as_of, ends=ends, as_of=as_of
    )
    staff = await queries.staff_of(session=session, ids=[r.owner for r in rows])
    people = [
        PersonLoad(
            staff_id=r.owner,
            name=staff[r.owner].name if r.owner in staff else None,
            team=_team(r.owner, staff),
            due_next_14=int(r.due_soon),
            open_past_due=int(r.overdue),
        )
        for r in rows
    ]
    people.sort(key=lambda p: (-p.due_next_14, -p.open_past_due, p.staff_id or ""))
    return Workload(starts=as_of, ends=ends, people=people, teams=await _teams(session, people))


async def _teams(session: AsyncSession, people: Sequence[PersonLoad]) -> list[PersonLoad]:
    sums: dict[str | None, tuple[int, int]] = {}
    for person in people:
        soon, overdue = sums.get(person.team, (0, 0))
        sums[person.team] = (soon + person.due_next_14, overdue + person.open_past_due)
    managers = await queries.staff_of(session=session, ids=sums)
    teams = [
        PersonLoad(t, managers[t].name if t in managers else None, t, soon, over)
        for t, (soon, over) in sums.items()
    ]
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
    """The page for a scope: a unit's page has no per-unit table and no recommendations, a
    team's no per-team table."""
    builders: list[SectionBuilder] = [build_timeliness]
    if scope.unit is None and scope.manager is None:
        builders.append(build_units)
    if scope.manager is None:
        builders.append(build_teams)
    builders += [build_lapses, build_workload, build_custody]
    if scope.unit is None:
        # Recommendations belong to an Area (or a team, by their action owners), never a unit.
        builders.append(build_recommendations)
    builders.append(build_audit_seal)
    return builders
