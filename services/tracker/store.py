"""Data access for the tracker: keyword-only functions, bulk statements, one caller's transaction.

Each function works on a whole batch so a batch of events costs a handful of statements.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.db import dialect_of
from schemas.tables import (
    Case,
    DeadLetter,
    LinkedFacts,
    Obligation,
    ObligationChange,
    ReceivedEvent,
    StaffMember,
    Track,
    utcnow,
)
from services.audit.trail import AuditRecord, append_audit
from services.rules.engine import merge_facts
from services.rules.ledger import LinkKey, TrackKey, TrackState
from services.rules.model import CaseInfo, Change, Fact, ObligationDraft


def _insert(session: AsyncSession, model: Any) -> Any:
    """INSERT with ON CONFLICT support, for whichever database the session is bound to.

    Built on the Core table and executed with a list of rows, so SQLAlchemy compiles it once
    and batches the rows itself ("insertmanyvalues") instead of compiling a statement with a
    VALUES clause per row, which cost more than the database work.
    """
    dialect = dialect_of(session)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


async def record_received(*, session: AsyncSession, facts: Sequence[Fact]) -> list[Fact]:
    """Store first sightings; return only the facts not seen before (duplicates change nothing)."""
    unique = merge_facts((), facts)
    if not unique:
        return []
    rows = [
        {
            "source": f.source,
            "event_id": f.id,
            "type": f.type,
            "time": f.time,
            "subject": None,
            "payload": f.to_json(),
            "received_at": utcnow(),
        }
        for f in unique
    ]
    table = ReceivedEvent.__table__.c  # type: ignore[attr-defined]
    statement = (
        _insert(session, ReceivedEvent)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(table.source, table.event_id)
    )
    fresh = {(s, i) for s, i in (await session.execute(statement, rows)).all()}
    return [f for f in unique if (f.source, f.id) in fresh]


async def upsert_cases(*, session: AsyncSession, facts: Iterable[Fact]) -> set[str]:
    """Apply case-registered facts, the later `time` standing; return the URNs that changed."""
    latest = _latest_by(facts, "urn")
    if not latest:
        return set()
    rows = [
        {
            "urn": urn,
            "area": f.data["area"],
            "unit": f.data["unit"],
            "owner": f.data["owner"],
            "event_time": f.time,
            "event_source": f.source,
            "event_id": f.id,
            "updated_at": utcnow(),
        }
        for urn, f in latest.items()
    ]
    return set(await _upsert_later(session, Case, rows, "urn"))


async def upsert_staff(*, session: AsyncSession, facts: Iterable[Fact]) -> set[str]:
    latest = _latest_by(facts, "staff_id")
    rows = [
        {
            "staff_id": staff_id,
            "name": f.data["name"],
            "email": f.data["email"],
            "role": f.data["role"],
            "area": f.data["area"],
            "unit": f.data.get("unit"),
            "line_manager": f.data.get("line_manager"),
            "event_time": f.time,
            "event_source": f.source,
            "event_id": f.id,
            "updated_at": utcnow(),
        }
        for staff_id, f in latest.items()
    ]
    return set(await _upsert_later(session, StaffMember, rows, "staff_id")) if rows else set()


async def _upsert_later(
    session: AsyncSession, table: Any, rows: list[dict[str, Any]], key: str
) -> list[str]:
    statement = _insert(session, table)
    columns = table.__table__.c
    updates = {name: statement.excluded[name] for name in rows[0] if name != key}
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_=updates,
        where=tuple_(columns.event_time, columns.event_source, columns.event_id)
        < tuple_(
            statement.excluded.event_time,
            statement.excluded.event_source,
            statement.excluded.event_id,
        ),
    ).returning(columns[key])
    return [row[0] for row in (await session.execute(statement, rows)).all()]


def _latest_by(facts: Iterable[Fact], field: str) -> dict[str, Fact]:
    latest: dict[str, Fact] = {}
    for fact in facts:
        key = fact.data[field]
        if key not in latest or latest[key].order < fact.order:
            latest[key] = fact
    return latest


async def load_cases(*, session: AsyncSession, urns: Collection[str]) -> dict[str, CaseInfo]:
    if not urns:
        return {}
    result = await session.execute(select(Case).where(col(Case.urn).in_(urns)))
    return {
        c.urn: CaseInfo(
            urn=c.urn,
            area=c.area,
            unit=c.unit,
            owner=c.owner,
            order=(c.event_time, c.event_source, c.event_id),
        )
        for c in result.scalars()
    }


async def load_tracks(
    *,
    session: AsyncSession,
    keys: Collection[TrackKey] = (),
    urns: Collection[str] = (),
    links: Collection[LinkKey] = (),
) -> list[TrackState]:
    """Tracks by key, every track of these cases, and every track reached through these links,
    each with its obligations."""
    wanted = []
    if keys:
        wanted.append(tuple_(col(Track.rule), col(Track.key)).in_(list(keys)))
    if urns:
        wanted.append(col(Track.urn).in_(list(urns)))
    if links:
        wanted.append(tuple_(col(Track.rule), col(Track.link)).in_(list(links)))
    if not wanted:
        return []
    # Core rows, not ORM objects: no identity map or instance state per row on the hot path.
    table: Any = Track.__table__  # type: ignore[attr-defined]
    rows = (await session.execute(select(table).where(or_(*wanted)))).all()
    tracks = {
        (t.rule, t.key): TrackState(
            rule=t.rule,
            key=t.key,
            urn=t.urn,
            link=t.link,
            facts=tuple(Fact.from_json(raw) for raw in t.facts),
            refresh_on=t.refresh_on,
        )
        for t in rows
    }
    for row in await _obligations_of(session, list(tracks)):
        tracks[(row.rule, row.key)].obligations[row.id] = to_draft(row)
    return list(tracks.values())


async def _obligations_of(session: AsyncSession, keys: list[TrackKey]) -> list[Any]:
    if not keys:
        return []
    table: Any = Obligation.__table__  # type: ignore[attr-defined]
    statement = select(table).where(tuple_(table.c.rule, table.c.key).in_(keys))
    return list((await session.execute(statement)).all())


async def refresh_keys(*, session: AsyncSession, today: date) -> list[TrackKey]:
    """Tracks whose obligations change by the passing of time by `today`."""
    statement = select(col(Track.rule), col(Track.key)).where(col(Track.refresh_on) <= today)
    return [(rule, key) for rule, key in (await session.execute(statement)).all()]


async def save_tracks(*, session: AsyncSession, tracks: Sequence[TrackState]) -> None:
    if not tracks:
        return
    rows = [
        {
            "rule": t.rule,
            "key": t.key,
            "urn": t.urn,
            "link": t.link,
            "refresh_on": t.refresh_on,
            "facts": [f.to_json() for f in t.facts],
            "updated_at": utcnow(),
        }
        for t in tracks
    ]
    statement = _insert(session, Track)
    statement = statement.on_conflict_do_update(
        index_elements=["rule", "key"],
        set_={name: statement.excluded[name] for name in rows[0] if name not in ("rule", "key")},
    )
    await session.execute(statement, rows)


async def load_linked(
    *, session: AsyncSession, keys: Collection[LinkKey]
) -> dict[LinkKey, list[Fact]]:
    if not keys:
        return {}
    statement = select(LinkedFacts).where(
        tuple_(col(LinkedFacts.rule), col(LinkedFacts.link)).in_(list(keys))
    )
    return {
        (row.rule, row.link): [Fact.from_json(raw) for raw in row.facts]
        for row in (await session.execute(statement)).scalars()
    }


async def save_linked(*, session: AsyncSession, linked: Mapping[LinkKey, Sequence[Fact]]) -> None:
    if not linked:
        return
    rows = [
        {
            "rule": rule,
            "link": link,
            "facts": [f.to_json() for f in facts],
            "updated_at": utcnow(),
        }
        for (rule, link), facts in linked.items()
    ]
    statement = _insert(session, LinkedFacts)
    statement = statement.on_conflict_do_update(
        index_elements=["rule", "link"],
        set_={"facts": statement.excluded.facts, "updated_at": statement.excluded.updated_at},
    )
    await session.execute(statement, rows)


async def record_changes(*, session: AsyncSession, changes: Sequence[Change]) -> None:
    """The obligation's history: what changed, from what to what, and which events did it."""
    if not changes:
        return
    now = utcnow()
    rows = [
        {
            "obligation_id": c.obligation_id,
            "kind": c.kind,
            "due_before": c.before.due if c.before else None,
            "due_after": c.after.due if c.after else None,
            "state_before": c.before.state if c.before else None,
            "state_after": c.after.state if c.after else None,
            "closed_on": c.after.closed_on if c.after else None,
            "caused_by": " ".join(c.cause),
            "recorded_at": now,
        }
        for c in changes
    ]
    await session.execute(_insert(session, ObligationChange), rows)
    await append_audit(session=session, records=[_audited(c) for c in changes], at=now)


def _audited(change: Change) -> AuditRecord:
    before, after = change.before, change.after
    return AuditRecord(
        entity="obligation",
        entity_id=change.obligation_id,
        action=change.kind,
        actor="rules-engine",
        caused_by=" ".join(change.cause),
        detail={
            "due_before": before.due.isoformat() if before else None,
            "due_after": after.due.isoformat() if after else None,
            "state_before": before.state if before else None,
            "state_after": after.state if after else None,
            "closed_on": after.closed_on.isoformat() if after and after.closed_on else None,
        },
    )


async def save_obligations(*, session: AsyncSession, drafts: Sequence[ObligationDraft]) -> None:
    if not drafts:
        return
    now = utcnow()
    rows = [{**_draft_columns(d), "created_at": now, "updated_at": now} for d in drafts]
    statement = _insert(session, Obligation)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            name: statement.excluded[name] for name in rows[0] if name not in ("id", "created_at")
        },
    )
    await session.execute(statement, rows)


async def delete_obligations(*, session: AsyncSession, ids: Collection[str]) -> None:
    if ids:
        await session.execute(delete(Obligation).where(col(Obligation.id).in_(ids)))


async def add_dead_letters(*, session: AsyncSession, letters: Sequence[DeadLetter]) -> None:
    session.add_all(letters)
    await session.flush()


def to_draft(row: Any) -> ObligationDraft:
    """From an Obligation, or a Core row of the obligations table."""
    return ObligationDraft(
        id=row.id,
        rule=row.rule,
        key=row.key,
        urn=row.urn,
        owner=row.owner,
        area=row.area,
        opened_by=row.opened_by,
        due=row.due,
        state=row.state,  # the column holds only StoredState values
        closed_on=row.closed_on,
        explanation=row.explanation,
    )


def _draft_columns(draft: ObligationDraft) -> dict[str, str | date | datetime | None]:
    return {
        "id": draft.id,
        "rule": draft.rule,
        "key": draft.key,
        "urn": draft.urn,
        "owner": draft.owner,
        "area": draft.area,
        "opened_by": draft.opened_by,
        "due": draft.due,
        "state": draft.state,
        "closed_on": draft.closed_on,
        "explanation": draft.explanation,
    }
