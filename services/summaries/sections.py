"""One small builder per section: `async (*, session, scope, week, as_of) -> Section`; the
since-the-last-call section is given the call's time by `functools.partial`.

`sections_for` is the page, in order. A section that depends on another capability (the
escalation level of each lapse from alerts; recommendation follow-up from the audit
capability, in follow_up.py) is added by appending a builder here and its rendering beside
the others.
"""

from __future__ import annotations

import functools
import json
import statistics
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from services.rules.calendar import LONDON
from services.summaries import queries
from services.summaries.backlog import build_backlog
from services.summaries.escalation import escalation_of
from services.summaries.model import (
    ZERO,
    AlertAction,
    Backlog,
    Breakdown,
    Capacity,
    Changes,
    Counts,
    Custody,
    CustodyLimit,
    Group,
    Lapse,
    Lapses,
    PersonLoad,
    Reallocation,
    ReviewRow,
    ReviewTimeliness,
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
CAPACITY_LISTED = 3  # who could take cases: the fewest loaded of each team

__all__ = ["escalation_of"]


@dataclass(frozen=True, slots=True)
class CallTime:
    """When the weekly call's summary is published: FOLLOWUP_SUMMARY_DAY and _TIME."""

    weekday: str
    at: time


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
    """The lapses due in the week alone (the weekly pack lists every lapse instead, in its
    backlog section; kept for callers that ask for this one)."""
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


async def build_pack_backlog(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Backlog:
    """Every lapse still open at the as-of date, whatever week it fell due in."""
    return await build_backlog(session=session, scope=scope, before=as_of, as_of=as_of)


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
            open_not_due=int(r.not_due),
        )
        for r in rows
    ]
    people.sort(key=lambda p: (-p.open_past_due, -p.load, p.staff_id or ""))
    candidates = await queries.casework_staff(session=session, scope=scope, as_of=as_of)
    return Workload(
        starts=as_of,
        ends=ends,
        people=people,
        teams=await _teams(session, people),
        capacity=capacity(people=people, candidates=candidates),
    )


def capacity(*, people: Sequence[PersonLoad], candidates: Sequence[Any]) -> list[Capacity]:
    """Who could take cases (docs/contract.md section 9, "Capacity"): in each legal manager's
    team, the casework staff (CASEWORK_ROLES, not left) with no lapse of their own and an open
    load (open not yet due + lapsed) at or below the team's median load over those staff, those
    with no open obligation at all counting 0; fewest first, at most CAPACITY_LISTED a team."""
    loads = {p.staff_id: p for p in people if p.staff_id is not None}
    teams: dict[str | None, list[Any]] = {}
    for row in candidates:
        teams.setdefault(row.line_manager, []).append(row)
    found: list[Capacity] = []
    for team, members in teams.items():
        load = {m.staff_id: loads[m.staff_id].load if m.staff_id in loads else 0 for m in members}
        median = statistics.median(load.values())
        free = [
            m
            for m in members
            if load[m.staff_id] <= median
            and (loads[m.staff_id].open_past_due if m.staff_id in loads else 0) == 0
        ]
        free.sort(key=lambda m: (load[m.staff_id], m.staff_id))
        found += [
            Capacity(
                team=team,
                staff_id=m.staff_id,
                name=m.name,
                unit=m.unit,
                load=load[m.staff_id],
                lapsed=0,
                team_median=float(median),
            )
            for m in free[:CAPACITY_LISTED]
        ]
    found.sort(key=lambda c: (c.team is None, c.team or "", c.load, c.staff_id))
    return found


async def _teams(session: AsyncSession, people: Sequence[PersonLoad]) -> list[PersonLoad]:
    sums: dict[str | None, tuple[int, int, int]] = {}
    for person in people:
        soon, overdue, later = sums.get(person.team, (0, 0, 0))
        sums[person.team] = (
            soon + person.due_next_14,
            overdue + person.open_past_due,
            later + person.open_not_due,
        )
    managers = await queries.staff_of(session=session, ids=sums)
    teams = [
        PersonLoad(t, managers[t].name if t in managers else None, t, soon, over, later)
        for t, (soon, over, later) in sums.items()
    ]
    teams.sort(key=lambda t: (-t.open_past_due, -t.load, t.staff_id or ""))
    return teams


async def build_review(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> ReviewTimeliness:
    """`case-review` obligations due in the week by court type, unit, team and person, and
    the 13 weeks' total (docs/contract.md section 9, "Review timeliness")."""
    rows = await queries.review_counts(
        session=session, scope=scope, first=week.monday, last=week.sunday, as_of=as_of
    )
    thirteen = await queries.review_counts(
        session=session,
        scope=scope,
        first=week.shifted(-(TREND_WEEKS - 1)).monday,
        last=week.sunday,
        as_of=as_of,
    )
    staff = await queries.staff_of(session=session, ids=[r.owner for r in rows])
    courts: dict[str | None, Counts] = dict.fromkeys(queries.COURT_TYPES, ZERO)
    units: dict[str | None, Counts] = {}
    teams: dict[str | None, Counts] = {}
    persons: dict[str | None, Counts] = {}
    for row in rows:
        counts = _counts(row)
        for grouped, key in (
            (courts, row.court),
            (units, row.unit),
            (teams, _team(row.owner, staff)),
            (persons, row.owner),
        ):
            grouped[key] = grouped.get(key, ZERO) + counts
    managers = await queries.staff_of(session=session, ids=teams)

    def rows_of(grouped: dict[str | None, Counts], label: Any) -> list[ReviewRow]:
        found = [ReviewRow(key, label(key), counts) for key, counts in grouped.items()]
        found.sort(key=lambda r: (r.key is None, r.key or ""))
        return found

    def who(key: str | None) -> str:
        if key is None:
            return "no owner"
        return f"{staff[key].name} ({key})" if key in staff else key

    return ReviewTimeliness(
        week=str(week),
        all=total(_counts(row) for row in rows),
        by_court=rows_of({k: v for k, v in courts.items() if k != "other" or v.due}, _court_label),
        by_unit=rows_of(units, lambda k: k or "no case unit"),
        by_team=rows_of(teams, lambda k: _group_label("team", k, managers)),
        by_person=rows_of(persons, who),
        last_13=total(_counts(row) for row in thirteen),
    )


def _court_label(court: str | None) -> str:
    return {"magistrates": "magistrates' court", "crown": "Crown Court"}.get(court or "", "other")


async def build_changes(
    *,
    session: AsyncSession,
    scope: Scope,
    week: IsoWeek,
    as_of: date,
    call: CallTime | None = None,
) -> Changes:
    """Reallocations, acknowledgements and snoozes recorded since the last call
    (docs/contract.md section 9, "Since the last call")."""
    since, until = call_window(week, as_of, call)
    members = (
        await queries.team_members(session=session, manager=scope.manager)
        if scope.manager
        else None
    )
    reallocations = []
    for row in await queries.reallocations(session=session, scope=scope, since=since, until=until):
        detail = _detail(row.detail)
        decided = _decided(detail, row.recorded_at)
        if not since <= decided < until:
            continue
        moved = detail.get("moved", detail.get("obligations", ()))
        found = Reallocation(
            at=decided,
            urn=row.entity_id,
            from_owner=_text(detail.get("from")),
            to_owner=_text(detail.get("to")),
            reason=_text(detail.get("reason")),
            moved=len(moved) if isinstance(moved, list | tuple) else 0,
            by=row.actor,
        )
        if members is None or {found.from_owner, found.to_owner} & members:
            reallocations.append(found)
    acknowledgements: list[AlertAction] = []
    snoozes: list[AlertAction] = []
    for row in await queries.alert_actions(session=session, scope=scope, since=since, until=until):
        detail = _detail(row.detail)
        snoozed = row.action == "snoozed"
        action = AlertAction(
            at=row.recorded_at,
            alert_id=row.alert_id,
            obligation_ref=row.obligation_ref,
            level=row.level,
            rule=row.rule,
            urn=row.urn,
            recipient=row.recipient,
            by=row.actor,
            until=_text(detail.get("until")) if snoozed else None,
            reason=_text(detail.get("reason")) if snoozed else None,
        )
        (snoozes if snoozed else acknowledgements).append(action)
    return Changes(
        since=since,
        until=until,
        reallocations=reallocations,
        acknowledgements=acknowledgements,
        snoozes=snoozes,
    )


def _detail(text: Any) -> dict[str, Any]:
    try:
        found = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _decided(detail: dict[str, Any], recorded_at: datetime) -> datetime:
    """When a reallocation was decided: its event's `time` (the entry's `at`), so a replayed
    or late-delivered one counts in the week it happened; else when it was recorded."""
    at = detail.get("at")
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at)
        except ValueError:
            pass
    return recorded_at


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def call_window(week: IsoWeek, as_of: date, call: CallTime | None) -> tuple[datetime, datetime]:
    """Since the last call: from the previous week's publication moment (without a schedule,
    the previous week's end, this week's Monday 00:00) to this week's publication moment or
    the end of the as-of date, whichever is first (Europe/London; until excluded)."""
    end_of_day = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=LONDON)
    if call is None:
        return datetime.combine(week.monday, time(0), tzinfo=LONDON), end_of_day
    since = week.previous().moment(call.weekday, call.at)
    return since, min(end_of_day, week.moment(call.weekday, call.at))


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


def sections_for(scope: Scope, call: CallTime | None = None) -> list[SectionBuilder]:
    """The weekly call pack for a scope, in the order the call decides (docs/contract.md
    section 9, "The weekly call pack"): review timeliness; timeliness by rule (hearing record
    sheets and victim letters first) and its unit and team tables; custody time limits of the
    next 28 days; the backlog of every lapse; workload against lapses and capacity; what
    changed since the last call; recommendations. A unit's page has no per-unit table and no
    recommendations, a team's no per-team table."""
    builders: list[SectionBuilder] = [build_review, build_timeliness]
    if scope.unit is None and scope.manager is None:
        builders.append(build_units)
    if scope.manager is None:
        builders.append(build_teams)
    builders += [
        build_custody,
        build_pack_backlog,
        build_workload,
        functools.partial(build_changes, call=call),
    ]
    if scope.unit is None:
        # Recommendations belong to an Area (or a team, by their action owners), never a unit.
        builders.append(build_recommendations)
    builders.append(build_audit_seal)
    return builders
