"""What the lapse clock reads and writes. Every read is an index range: open obligations of a
rule due in a date range (rule, state, due), obligations written since the last look
(updated_at), reminders due (alarms.repeat_at), snoozes ended (alerts.snoozed_until)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas import bulk
from schemas.bulk import among
from schemas.db import claim_lock
from schemas.tables import Alarm, Alert, LapseClockState, Obligation

CLOCK = "lapse"
_COLUMNS = (
    col(Obligation.id),
    col(Obligation.rule),
    col(Obligation.urn),
    col(Obligation.owner),
    col(Obligation.area),
    col(Obligation.due),
    col(Obligation.state),
    col(Obligation.closed_on),
)


async def load_state(
    *, session: AsyncSession, now: datetime, scanned_to: datetime
) -> LapseClockState:
    """The cursor; on the very first start it begins now, so the clock raises what falls due
    from then on (and whatever is written afterwards), not every alarm in history (the lapses
    already owed are the ticker's to raise, docs/contract.md, section 7, "Going live")."""
    state = await session.get(LapseClockState, CLOCK)
    if state is not None:
        return state
    state = LapseClockState(
        name=CLOCK, started_at=now, cursor=now, scanned_to=scanned_to, updated_at=now
    )
    session.add(state)
    await session.flush()
    return state


async def cursor(*, session: AsyncSession) -> datetime | None:
    """Up to when every alarm has been raised; None before the clock's first start."""
    found: datetime | None = await session.scalar(
        select(col(LapseClockState.cursor)).where(col(LapseClockState.name) == CLOCK)
    )
    return found


async def move_to_present(*, session: AsyncSession, now: datetime) -> None:
    """Treat everything between the cursor and `now` as history: `followup demo`, whose clock
    stood in its simulated weeks, hands the clock back to the present (docs/contract.md
    section 6, "Added: the demo"), so a `serve` on the same data does not catch up the years
    between day by day."""
    state = await session.get(LapseClockState, CLOCK)
    if state is not None and state.cursor < now:
        state.cursor = state.scanned_to = state.updated_at = now


async def started(*, session: AsyncSession) -> bool:
    """Whether the clock has ever started (its cursor is stored)."""
    return await session.get(LapseClockState, CLOCK) is not None


async def open_due_between(
    *, session: AsyncSession, rule: str, first: date, last: date
) -> list[Any]:
    statement = select(*_COLUMNS).where(
        col(Obligation.rule) == rule,
        col(Obligation.state) == "open",
        col(Obligation.due) >= first,
        col(Obligation.due) <= last,
    )
    return list((await session.execute(statement)).all())


async def open_by_id(*, session: AsyncSession, ids: Collection[str]) -> list[Any]:
    if not ids:
        return []
    statement = select(*_COLUMNS).where(among(session, col(Obligation.id), ids))
    return list((await session.execute(statement)).all())


@dataclass(frozen=True, slots=True)
class Written:
    """Obligations written since the clock's last look: those it has not seen in this state
    (rows as `open_by_id` gives them), and every one's stamp for the next look."""

    fresh: list[Any]
    stamps: dict[str, object]


async def written_since(
    *, session: AsyncSession, since: datetime, horizon: date, seen: Mapping[str, object]
) -> Written:
    """Obligations written after `since` that may need the clock (open ones due soon enough to
    have an alarm fallen due, and closed ones: the clock may have alerted about them) and not
    `seen` with the same stamp. The look reads the last seconds of writes again each time, so
    it reads only ids and stamps (as the driver gives them), and whole rows for the fresh."""
    statement = (
        "SELECT id, updated_at FROM obligations "
        f"WHERE updated_at > {bulk.mark(session, 1)} "
        f"AND (state != 'open' OR due <= {bulk.mark(session, 2)})"
    )
    params = (bulk.bound(session, since), bulk.bound(session, horizon))
    stamps: dict[str, object] = dict(await bulk.run(session, statement, params))
    fresh = [id_ for id_, stamp in stamps.items() if seen.get(id_) != stamp]
    return Written(await open_by_id(session=session, ids=fresh), stamps)


async def alarmed(*, session: AsyncSession, keys: Collection[tuple[str, date]]) -> set[str]:
    """Which of these (obligation, due) the clock has raised an alarm about."""
    if not keys:
        return set()
    statement = select(col(Alarm.obligation_id), col(Alarm.due)).where(
        among(session, col(Alarm.obligation_id), (k[0] for k in keys))
    )
    wanted = set(keys)
    return {o for o, d in (await session.execute(statement)).all() if (o, d) in wanted}


@dataclass(frozen=True, slots=True)
class Holds:
    """Acknowledged (escalation stops) and snoozed (escalation waits) obligations' due dates."""

    acknowledged: set[tuple[str, date]]
    snoozed: dict[tuple[str, date], datetime]


async def holds(*, session: AsyncSession, ids: Collection[str], now: datetime) -> Holds:
    if not ids:
        return Holds(set(), {})
    statement = select(
        col(Alert.obligation_id),
        col(Alert.due),
        col(Alert.level),
        col(Alert.acknowledged_at),
        col(Alert.snoozed_until),
    ).where(
        among(session, col(Alert.obligation_id), ids),
        or_(col(Alert.acknowledged_at).is_not(None), col(Alert.snoozed_until) > now),
    )
    acknowledged: set[tuple[str, date]] = set()
    snoozed: dict[tuple[str, date], datetime] = {}
    for obligation_id, due, level, acked_at, until in (await session.execute(statement)).all():
        key = (obligation_id, due)
        # An acknowledgement of a warning says the owner knows the date is near; only one
        # made of the lapse or after it stops escalation.
        if acked_at is not None and not level.startswith("warning"):
            acknowledged.add(key)
        if until is not None and until > now:
            snoozed[key] = max(until, snoozed.get(key, until))
    return Holds(acknowledged, snoozed)


async def snoozes_ended(*, session: AsyncSession, after: datetime, upto: datetime) -> set[str]:
    statement = select(col(Alert.obligation_id)).where(
        col(Alert.snoozed_until) > after, col(Alert.snoozed_until) <= upto
    )
    return {row[0] for row in (await session.execute(statement)).all()}


async def repeats_due(*, session: AsyncSession, now: datetime, page: int = 1000) -> list[Alarm]:
    await claim_lock(session, Alarm)
    statement = (
        select(Alarm)
        .where(col(Alarm.repeat_at) <= now)
        .order_by(col(Alarm.repeat_at))
        .limit(page)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())
