"""Read-side queries used by the CLI and the HTTP API."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events.outbound import OBLIGATION_REF, obligation_ref
from schemas.bulk import pairs_in
from schemas.tables import DeadLetter, Obligation, ObligationChange, StaffMember, Track
from services.access.filters import in_scope
from services.access.scope import Scope
from services.rules.calendar import Calendar
from services.rules.model import effective_state
from services.rules.pack import Rule


async def list_obligations(
    *,
    session: AsyncSession,
    today: date,
    state: str | None = None,
    rule: str | None = None,
    urn: str | None = None,
    scope: Scope | None = None,
    owners: Collection[str] | None = None,
    area: str | None = None,
    unit: str | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    after: tuple[date, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Obligations in (due, id) order; `today`: the day states are judged on (lapsed is open
    and due before it). `scope`: only what its holder may see (None: everything, for the
    command line). `owners`: owned by one of them; `unit`: owned by a member of that unit
    (of `area` when given). `after`: the (due, obligation_ref) of the last row of the page
    before: the page after it, read by key, never by offset, so rows written meanwhile
    neither repeat nor shift a page."""
    conditions = [_in_state(state, today)] if state else []
    if scope is not None:
        conditions.append(in_scope(scope, owner=col(Obligation.owner), area=col(Obligation.area)))
    for column, value in [(Obligation.rule, rule), (Obligation.urn, urn), (Obligation.area, area)]:
        if value:
            conditions.append(col(column) == value)
    if owners is not None:
        conditions.append(col(Obligation.owner).in_(sorted(owners)))
    if unit:
        conditions.append(col(Obligation.owner).in_(_unit_members(unit, area)))
    if due_from:
        conditions.append(col(Obligation.due) >= due_from)
    if due_to:
        conditions.append(col(Obligation.due) <= due_to)
    if after is not None:
        conditions.append(await _after(session, conditions, *after))
    order = (col(Obligation.due), col(Obligation.id))
    statement = select(Obligation).where(*conditions).order_by(*order)
    if limit is not None:
        # The page's ids first, from an index alone where one covers the conditions (a
        # team's (owner, due, id)); then only those rows: sorting whole rows would read every
        # row of the team from the table to keep a hundred (BENCHMARKS.md, "Dashboard").
        page = select(col(Obligation.id)).where(*conditions).order_by(*order).limit(limit)
        statement = select(Obligation).where(col(Obligation.id).in_(page)).order_by(*order)
    rows = (await session.execute(statement)).scalars()
    return [obligation_json(row, today) for row in rows]


async def _after(
    session: AsyncSession, conditions: list[ColumnElement[bool]], due: date, ref: str
) -> ColumnElement[bool]:
    """Past the row of that due date and reference. A cursor names the row by reference, so
    it shows no reader an id they may not see; the indexed `ref` column finds the id. Gone,
    or moved to another date, the page starts at that date again: a row read twice rather
    than one missed."""
    same = select(col(Obligation.id)).where(
        *conditions, col(Obligation.ref) == ref, col(Obligation.due) == due
    )
    found = (await session.scalars(same)).first()
    if found is None:
        return col(Obligation.due) >= due
    return tuple_(col(Obligation.due), col(Obligation.id)) > (due, found)


def _unit_members(unit: str, area: str | None) -> Select[str]:
    """Obligations carry no unit: a unit's are those its staff own (a few dozen ids from the
    staff table, then the owner index), cheaper than a join through every case."""
    members = select(col(StaffMember.staff_id)).where(col(StaffMember.unit) == unit)
    return members.where(col(StaffMember.area) == area) if area else members


def _in_state(state: str, today: date) -> ColumnElement[bool]:
    """`effective_state` as a condition."""
    if state == "lapsed":
        return and_(col(Obligation.state) == "open", col(Obligation.due) < today)
    if state == "open":
        return and_(col(Obligation.state) == "open", col(Obligation.due) >= today)
    return col(Obligation.state) == state


async def find_obligation(
    *, session: AsyncSession, reference: str, scope: Scope | None
) -> Obligation | None:
    """One obligation by its id or its `ob-` reference (docs/contract.md section 7), the one
    emails and pages show; None when unknown or outside `scope` (the same answer, so
    existence does not leak). `scope` None: everything, for the command line."""
    statement = select(Obligation)
    if OBLIGATION_REF.fullmatch(reference):
        statement = statement.where(col(Obligation.ref) == reference)
    else:
        statement = statement.where(col(Obligation.id) == reference)
    if scope is not None:
        statement = statement.where(
            in_scope(scope, owner=col(Obligation.owner), area=col(Obligation.area))
        )
    return (await session.execute(statement.limit(1))).scalars().first()


async def open_obligations(
    *,
    session: AsyncSession,
    scope: Scope,
    due_by: date | None = None,
    due_from: date | None = None,
    rule: str | None = None,
    owners: Collection[str] | None = None,
    limit: int = 2000,
) -> list[Obligation]:
    """Open obligations in `scope` (lapsed ones included), soonest due first: those due from
    `due_from` and by `due_by` when given, of one `rule`, owned by one of `owners`; at most
    `limit`."""
    statement = (
        select(Obligation)
        .where(
            col(Obligation.state) == "open",
            in_scope(scope, owner=col(Obligation.owner), area=col(Obligation.area)),
        )
        .order_by(col(Obligation.due), col(Obligation.id))
        .limit(limit)
    )
    if due_by is not None:
        statement = statement.where(col(Obligation.due) <= due_by)
    if due_from is not None:
        statement = statement.where(col(Obligation.due) >= due_from)
    if rule:
        statement = statement.where(col(Obligation.rule) == rule)
    if owners is not None:
        statement = statement.where(col(Obligation.owner).in_(sorted(owners)))
    return list((await session.execute(statement)).scalars())


async def track_details(
    *, session: AsyncSession, tracks: Collection[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """What the facts of each track (rule, key) say, the later overriding the earlier: a
    hearing's court and date, for a page to name the hearing an obligation is about."""
    if not tracks:
        return {}
    statement = select(col(Track.rule), col(Track.key), col(Track.facts)).where(
        pairs_in(col(Track.rule), col(Track.key), sorted(tracks))
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for rule, key, facts in (await session.execute(statement)).all():
        merged: dict[str, Any] = {}
        for fact in sorted(facts, key=lambda f: (f["time"], f["source"], f["id"])):
            merged.update(fact["data"])
        found[(rule, key)] = merged
    return found


def obligation_json(row: Obligation, today: date) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "key": row.key,
        "urn": row.urn,
        "owner": row.owner,
        "area": row.area,
        "opened_by": row.opened_by,
        "due": row.due.isoformat(),
        "state": effective_state(row.state, row.due, today),
        "closed_on": row.closed_on.isoformat() if row.closed_on else None,
        "explanation": row.explanation,
    }


async def count_dead_letters(*, session: AsyncSession, origin: str | None = None) -> int:
    """Dead letters still dead (neither replayed nor discarded); of one `origin` if given."""
    statement = select(func.count()).select_from(DeadLetter).where(col(DeadLetter.status) == "dead")
    if origin is not None:
        statement = statement.where(col(DeadLetter.origin) == origin)
    return int((await session.execute(statement)).scalar_one())


async def obligation_ids_like(*, session: AsyncSession, obligation_id: str) -> list[str]:
    """Up to 20 stored obligation ids sharing the longest leading part of `obligation_id`
    (rule, then rule and key...), for telling someone who mistyped one what exists."""
    parts = obligation_id.split("/")
    for keep in range(len(parts) - 1, 0, -1):
        prefix = "/".join(parts[:keep]) + "/"
        statement = (
            select(col(Obligation.id))
            .where(col(Obligation.id).startswith(prefix, autoescape=True))
            .order_by(Obligation.id)
            .limit(20)
        )
        found = list((await session.scalars(statement)).all())
        if found:
            return found
    return sorted(set((await session.scalars(select(col(Obligation.rule)).distinct())).all()))


async def explain_obligation(
    *,
    session: AsyncSession,
    obligation_id: str,
    today: date,
    rules: Sequence[Rule],
    calendar: Calendar,
    scope: Scope | None = None,
) -> dict[str, Any] | None:
    """One obligation with its warning dates and the history of every change to it, by its
    id or its `ob-` reference; None when unknown or outside `scope` (the same answer, so
    existence does not leak)."""
    row = await find_obligation(session=session, reference=obligation_id, scope=scope)
    if row is None:
        return None
    obligation_id = row.id
    rule = next((r for r in rules if r.id == row.rule), None)
    statement = (
        select(ObligationChange)
        .where(col(ObligationChange.obligation_id) == obligation_id)
        .order_by(col(ObligationChange.id))
    )
    history = (await session.execute(statement)).scalars()
    return {
        **obligation_json(row, today),
        "obligation_ref": obligation_ref(row.id),
        "title": rule.title if rule else None,
        "source": rule.source if rule else None,
        "unconfirmed": rule.unconfirmed if rule else None,
        "warnings": [
            {"working_days_before": n, "on": calendar.working_days_before(row.due, n).isoformat()}
            for n in (rule.warnings if rule else ())
        ],
        "history": [
            {
                "at": change.recorded_at.isoformat(),
                "kind": change.kind,
                "due_before": _iso(change.due_before),
                "due_after": _iso(change.due_after),
                "state_before": change.state_before,
                "state_after": change.state_after,
                "closed_on": _iso(change.closed_on),
                "caused_by": change.caused_by.split(),
            }
            for change in history
        ],
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
