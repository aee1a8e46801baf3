"""Read-side queries used by the CLI and the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events.outbound import OBLIGATION_REF, obligation_ref
from schemas.tables import Alarm, Alert, DeadLetter, Obligation, ObligationChange
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
) -> list[dict[str, Any]]:
    statement = select(Obligation).order_by(col(Obligation.due), col(Obligation.id))
    if rule:
        statement = statement.where(col(Obligation.rule) == rule)
    if urn:
        statement = statement.where(col(Obligation.urn) == urn)
    if state == "lapsed":
        statement = statement.where(col(Obligation.state) == "open", col(Obligation.due) < today)
    elif state == "open":
        statement = statement.where(col(Obligation.state) == "open", col(Obligation.due) >= today)
    elif state:
        statement = statement.where(col(Obligation.state) == state)
    rows = (await session.execute(statement)).scalars()
    return [obligation_json(row, today) for row in rows]


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
) -> dict[str, Any] | None:
    """One obligation with its warning dates and the history of every change to it;
    `obligation_id` may be its `ob-` reference instead."""
    row = await find_obligation(session=session, name=obligation_id)
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


async def find_obligation(*, session: AsyncSession, name: str) -> Obligation | None:
    """The obligation `name` names: its id, or its `ob-` reference as emails, alerts and the
    tracking stream give it (docs/contract.md, section 7). Obligations do not store their
    reference: it is read from the alerts that carry it, else matched against the ids the
    clock raised alarms for (an alarm nobody could be told of has no alerts, but its event
    named the reference). Every reference Followup gives out is of an alarmed obligation."""
    row = await session.get(Obligation, name)
    if row is not None or not OBLIGATION_REF.fullmatch(name):
        return row
    found = await session.scalar(
        select(col(Alert.obligation_id)).where(col(Alert.obligation_ref) == name).limit(1)
    )
    if found is None:
        alarmed = await session.scalars(select(col(Alarm.obligation_id)).distinct())
        found = next((i for i in alarmed if obligation_ref(i) == name), None)
    return None if found is None else await session.get(Obligation, found)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
