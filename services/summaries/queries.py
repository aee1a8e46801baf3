"""What the summary reads, aggregated in the database (GROUP BY), never row by row.

Every function is keyword-only and takes the scope; cancelled obligations are never counted.
An obligation's unit is its case's unit (obligations.urn -> cases.unit); its team is its
owner's legal manager: the owner themself when the owner is a legal manager, else the owner's
line manager (staff.line_manager).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause
from sqlmodel import col

from schemas.tables import Alert, AuditEntry, Case, Obligation, StaffMember
from services.summaries.model import Scope

OB: Any = Obligation.__table__  # type: ignore[attr-defined]
C: Any = Case.__table__  # type: ignore[attr-defined]
S: Any = StaffMember.__table__  # type: ignore[attr-defined]
AL: Any = Alert.__table__  # type: ignore[attr-defined]
AU: Any = AuditEntry.__table__  # type: ignore[attr-defined]
CUSTODY_RULE = "custody-time-limit"
REVIEW_RULE = "case-review"
# A case review's obligation id is `case-review/URN/STAGE`; its court type is the stage's first
# word (docs/contract.md section 9, "Review timeliness").
COURT_TYPES = ("magistrates", "crown")
# Who could take cases (docs/contract.md section 9, "Capacity").
CASEWORK_ROLES = ("prosecutor", "paralegal", "advocate")


def team_of(staff: Any) -> ColumnElement[Any]:
    return case((staff.c.role == "legal-manager", staff.c.staff_id), else_=staff.c.line_manager)


def _in_scope(statement: Select[Any], scope: Scope) -> Select[Any]:
    statement = statement.where(OB.c.area == scope.area)
    if scope.unit is not None:
        statement = statement.where(
            OB.c.urn.in_(select(C.c.urn).where(C.c.unit == scope.unit, C.c.area == scope.area))
        )
    if scope.manager is not None:
        members = select(S.c.staff_id).where(
            or_(S.c.staff_id == scope.manager, S.c.line_manager == scope.manager)
        )
        statement = statement.where(OB.c.owner.in_(members))
    return statement


def _state_sums(as_of: date) -> list[ColumnElement[Any]]:
    def count_when(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    return [
        count_when(OB.c.state == "met").label("met"),
        count_when(OB.c.state == "met-late").label("late"),
        count_when(and_(OB.c.state == "open", OB.c.due < as_of)).label("lapsed"),
        count_when(and_(OB.c.state == "open", OB.c.due >= as_of)).label("open"),
    ]


def _due_between(first: date, last: date) -> ColumnElement[bool]:
    return and_(OB.c.due >= first, OB.c.due <= last, OB.c.state != "cancelled")


async def counts_by_rule_and_day(
    *, session: AsyncSession, scope: Scope, first: date, last: date, as_of: date
) -> list[Any]:
    """(rule, due, met, late, lapsed, open) for obligations due first..last, one row per
    rule and due date: at most rules x days rows, whatever the volume."""
    statement = _in_scope(
        select(OB.c.rule, OB.c.due, *_state_sums(as_of)).where(_due_between(first, last)), scope
    ).group_by(OB.c.rule, OB.c.due)
    return list((await session.execute(statement)).all())


async def counts_by_group(
    *, session: AsyncSession, scope: Scope, by: str, first: date, last: date, as_of: date
) -> list[Any]:
    """(grp, rule, met, late, lapsed, open): grp is the case's unit (by "unit") or the owner
    (by "team"; the caller maps owners to teams with `staff_of`), None where unknown."""
    source: FromClause
    if by == "unit":
        source = OB.outerjoin(C, C.c.urn == OB.c.urn)
        group: ColumnElement[Any] = C.c.unit
    elif by == "team":
        source, group = OB, OB.c.owner
    else:
        raise ValueError(f"group by unit or team, not {by!r}")
    statement = _in_scope(
        select(group.label("grp"), OB.c.rule, *_state_sums(as_of))
        .select_from(source)
        .where(_due_between(first, last)),
        scope,
    ).group_by(group, OB.c.rule)
    return list((await session.execute(statement)).all())


async def lapsed_in(
    *, session: AsyncSession, scope: Scope, first: date, last: date, as_of: date
) -> list[Any]:
    """Obligations due first..last still open past due at `as_of`, with owner and manager."""
    statement = _in_scope(
        select(
            OB.c.id,
            OB.c.rule,
            OB.c.urn,
            OB.c.owner,
            OB.c.due,
            S.c.name,
            team_of(S).label("manager"),
        )
        .select_from(OB.outerjoin(S, S.c.staff_id == OB.c.owner))
        .where(OB.c.due >= first, OB.c.due <= last, OB.c.due < as_of, OB.c.state == "open"),
        scope,
    ).order_by(OB.c.due, OB.c.id)
    return list((await session.execute(statement)).all())


def _open_past_due(before: date) -> ColumnElement[bool]:
    return and_(OB.c.state == "open", OB.c.due < before)


async def backlog_counts(*, session: AsyncSession, scope: Scope, before: date) -> list[Any]:
    """(unit, owner, due, lapsed) of obligations still open and due before `before`: one row
    per case unit, owner and due date, whatever the volume."""
    statement = _in_scope(
        select(C.c.unit.label("unit"), OB.c.owner, OB.c.due, func.count().label("lapsed"))
        .select_from(OB.outerjoin(C, C.c.urn == OB.c.urn))
        .where(_open_past_due(before)),
        scope,
    ).group_by(C.c.unit, OB.c.owner, OB.c.due)
    return list((await session.execute(statement)).all())


async def backlog_items(
    *, session: AsyncSession, scope: Scope, before: date, limit: int
) -> list[Any]:
    """The oldest `limit` of the backlog, with owner's name, manager and case unit."""
    statement = _in_scope(
        select(
            OB.c.id,
            OB.c.rule,
            OB.c.urn,
            OB.c.owner,
            OB.c.due,
            S.c.name,
            team_of(S).label("manager"),
        )
        .select_from(OB.outerjoin(S, S.c.staff_id == OB.c.owner))
        .where(_open_past_due(before)),
        scope,
    )
    rows = await session.execute(statement.order_by(OB.c.due, OB.c.id).limit(limit))
    return list(rows.all())


async def units_of(*, session: AsyncSession, area: str) -> list[str]:
    """The case units of an Area, and its staff's, in order (the drill-down's choices)."""
    named = select(C.c.unit).where(C.c.area == area).union(select(S.c.unit).where(S.c.area == area))
    return sorted(unit for unit in (await session.scalars(named)).all() if unit)


async def legal_managers_of(*, session: AsyncSession, area: str) -> dict[str, str]:
    """The Area's legal managers (the heads of its teams), staff id to name."""
    rows = await session.execute(
        select(S.c.staff_id, S.c.name).where(S.c.area == area, S.c.role == "legal-manager")
    )
    return {row.staff_id: row.name for row in rows}


async def lapse_alerts(*, session: AsyncSession, ids: Iterable[str]) -> list[Any]:
    """(obligation_id, due, level, role) of the lapse and escalation alerts raised for these
    obligations: how far up the chain each lapse has gone."""
    wanted = list(ids)
    if not wanted:
        return []
    statement = (
        select(AL.c.obligation_id, AL.c.due, AL.c.level, AL.c.role)
        .where(AL.c.obligation_id.in_(wanted))
        .where(or_(AL.c.level == "lapse", AL.c.level.like("escalation-%")))
        .distinct()
    )
    return list((await session.execute(statement)).all())


async def open_load_by_owner(
    *, session: AsyncSession, scope: Scope, starts: date, ends: date, as_of: date
) -> list[Any]:
    """(owner, due_soon, overdue, not_due): open obligations due starts..ends, open past due
    at as_of, and open not yet past due (any due date), for owners with any open."""
    due_soon = func.sum(case((and_(OB.c.due >= starts, OB.c.due <= ends), 1), else_=0))
    overdue = func.sum(case((OB.c.due < as_of, 1), else_=0))
    not_due = func.sum(case((OB.c.due >= as_of, 1), else_=0))
    statement = _in_scope(
        select(
            OB.c.owner,
            due_soon.label("due_soon"),
            overdue.label("overdue"),
            not_due.label("not_due"),
        ).where(OB.c.state == "open"),
        scope,
    ).group_by(OB.c.owner)
    return list((await session.execute(statement)).all())


async def custody_limits_expiring(
    *, session: AsyncSession, scope: Scope, starts: date, ends: date
) -> list[Any]:
    """Open custody time limits expiring starts..ends, soonest first."""
    statement = _in_scope(
        select(OB.c.id, OB.c.urn, OB.c.key, OB.c.owner, OB.c.due, S.c.name)
        .select_from(OB.outerjoin(S, S.c.staff_id == OB.c.owner))
        .where(
            OB.c.rule == CUSTODY_RULE, OB.c.state == "open", OB.c.due >= starts, OB.c.due <= ends
        ),
        scope,
    ).order_by(OB.c.due, OB.c.id)
    return list((await session.execute(statement)).all())


def court_of() -> ColumnElement[Any]:
    """The court type of a `case-review/URN/STAGE` obligation, from its stage's first word."""
    return case(
        *((OB.c.id.like(f"{REVIEW_RULE}/%/{court}-%"), court) for court in COURT_TYPES),
        else_="other",
    )


async def review_counts(
    *, session: AsyncSession, scope: Scope, first: date, last: date, as_of: date
) -> list[Any]:
    """(court, unit, owner, met, late, lapsed, open) of `case-review` obligations due
    first..last: one row per court type, case unit and owner."""
    court = court_of()
    statement = _in_scope(
        select(court.label("court"), C.c.unit.label("unit"), OB.c.owner, *_state_sums(as_of))
        .select_from(OB.outerjoin(C, C.c.urn == OB.c.urn))
        .where(OB.c.rule == REVIEW_RULE, _due_between(first, last)),
        scope,
    ).group_by(court, C.c.unit, OB.c.owner)
    return list((await session.execute(statement)).all())


async def casework_staff(*, session: AsyncSession, scope: Scope, as_of: date) -> list[Any]:
    """(staff_id, name, role, unit, line_manager) of the scope's staff who take cases
    (CASEWORK_ROLES) and have not left by `as_of`."""
    statement = select(S.c.staff_id, S.c.name, S.c.role, S.c.unit, S.c.line_manager).where(
        S.c.area == scope.area,
        S.c.role.in_(CASEWORK_ROLES),
        or_(S.c.left_date.is_(None), S.c.left_date > as_of),
    )
    if scope.unit is not None:
        statement = statement.where(S.c.unit == scope.unit)
    if scope.manager is not None:
        statement = statement.where(S.c.line_manager == scope.manager)
    return list((await session.execute(statement.order_by(S.c.staff_id))).all())


async def reallocations(
    *, session: AsyncSession, scope: Scope, since: datetime, until: datetime
) -> list[Any]:
    """(recorded_at, entity_id, actor, detail) of the audit trail's case reallocations
    recorded since `since` for cases of the scope's Area (and unit), oldest first: the
    candidates for since..until. The caller keeps those decided in the window (the entry's
    `at`, else when recorded: an entry is never recorded before its event happened), and a
    team's (`from` or `to` in the team)."""
    cases = select(C.c.urn).where(C.c.area == scope.area)
    if scope.unit is not None:
        cases = cases.where(C.c.unit == scope.unit)
    statement = (
        select(AU.c.seq, AU.c.recorded_at, AU.c.entity_id, AU.c.actor, AU.c.detail)
        .where(AU.c.entity == "case", AU.c.action == "reallocated")
        .where(AU.c.recorded_at >= since)
        .where(AU.c.entity_id.in_(cases))
        .order_by(AU.c.seq)
    )
    return list((await session.execute(statement)).all())


async def alert_actions(
    *, session: AsyncSession, scope: Scope, since: datetime, until: datetime
) -> list[Any]:
    """The audit trail's alert acknowledgements and snoozes recorded since..until (until
    excluded) of alerts about the scope's obligations, oldest first: (recorded_at, action,
    actor, detail, alert_id, obligation_ref, level, rule, urn, recipient)."""
    statement = _in_scope(
        select(
            AU.c.seq,
            AU.c.recorded_at,
            AU.c.action,
            AU.c.actor,
            AU.c.detail,
            AU.c.entity_id.label("alert_id"),
            AL.c.obligation_ref,
            AL.c.level,
            AL.c.rule,
            AL.c.urn,
            AL.c.recipient,
        )
        .select_from(
            AU.join(AL, cast(AL.c.id, String) == AU.c.entity_id).join(
                OB, OB.c.id == AL.c.obligation_id
            )
        )
        .where(AU.c.entity == "alert", AU.c.action.in_(("acknowledged", "snoozed")))
        .where(AU.c.recorded_at >= since, AU.c.recorded_at < until),
        scope,
    ).order_by(AU.c.seq)
    return list((await session.execute(statement)).all())


async def team_members(*, session: AsyncSession, manager: str) -> set[str]:
    """A legal manager's team: the manager and the staff whose line manager they are."""
    rows = await session.execute(
        select(S.c.staff_id).where(or_(S.c.staff_id == manager, S.c.line_manager == manager))
    )
    return {manager, *(row.staff_id for row in rows)}


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    role: str
    line_manager: str | None

    def team(self, staff_id: str) -> str | None:
        """A legal manager heads their own team; anyone else is in their line manager's."""
        return staff_id if self.role == "legal-manager" else self.line_manager


async def staff_of(*, session: AsyncSession, ids: Iterable[str | None]) -> dict[str, Person]:
    wanted = sorted({i for i in ids if i is not None})
    found: dict[str, Person] = {}
    for start in range(0, len(wanted), 1000):  # bounded IN lists
        rows = await session.execute(
            select(S.c.staff_id, S.c.name, S.c.role, S.c.line_manager).where(
                S.c.staff_id.in_(wanted[start : start + 1000])
            )
        )
        for row in rows:
            found[row.staff_id] = Person(row.name, row.role, row.line_manager)
    return found


async def known_areas(*, session: AsyncSession) -> list[str]:
    """Every Area named by staff, cases or obligations, in order. Obligations are read by a
    loose index scan (the next Area after the last, from the (area, ...) index: one probe per
    Area), not by reading every row: there are millions and a dozen Areas."""
    named = select(col(StaffMember.area)).union(select(col(Case.area)))
    found = {area for area in (await session.scalars(named)).all() if area}
    found.update(area for (area,) in (await session.execute(_OBLIGATION_AREAS)).all() if area)
    return sorted(found)


_OBLIGATION_AREAS = text(
    "WITH RECURSIVE areas(area) AS ("
    " SELECT min(area) FROM obligations"
    " UNION ALL"
    " SELECT (SELECT min(o.area) FROM obligations o WHERE o.area > areas.area)"
    " FROM areas WHERE areas.area IS NOT NULL"
    ") SELECT area FROM areas WHERE area IS NOT NULL"
)


async def data_version(*, session: AsyncSession) -> tuple[Any, ...]:
    """When obligations and staff last changed, each read from an index or a small table:
    a summary made at the same version counts the same (services/summaries/recent.py)."""
    statement = select(
        select(func.max(OB.c.updated_at)).scalar_subquery(),
        select(func.max(S.c.updated_at)).scalar_subquery(),
        select(func.count()).select_from(S).scalar_subquery(),
    )
    return tuple((await session.execute(statement)).one())
