"""Data access for the tracker: keyword-only functions, bulk statements, one caller's transaction.

Each function works on a whole batch so a batch of events costs a handful of statements.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas import bulk
from schemas.db import dialect_of, insert_for, upsert_later
from schemas.tables import (
    DeadLetter,
    LinkedFacts,
    Obligation,
    StaffMember,
    Track,
    utcnow,
)
from services.platform.audit_trail import AuditRecord
from services.rules.engine import merge_facts
from services.rules.ledger import LinkKey, TrackKey, TrackState
from services.rules.model import CaseInfo, Change, Fact, ObligationDraft
from services.tracker import cache

_RECEIVED = bulk.Columns.of(
    "events_received",
    source="text",
    event_id="text",
    type="text",
    time="timestamptz",
    payload="json",
    received_at="timestamptz",
)


async def record_received(
    *, session: AsyncSession, facts: Sequence[Fact], now: datetime | None = None
) -> list[Fact]:
    """Store first sightings; return only the facts not seen before (duplicates change nothing)."""
    unique = merge_facts((), facts)
    if not unique:
        return []
    at = now or utcnow()
    book = cache.texts_of(session)
    racing = dialect_of(session) == "postgresql"
    if racing:
        # Workers may race for an event: the one whose row went in applies it.
        tail = "ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id"
        candidates = list(unique)
    else:
        # SQLite: the stored are looked up first and the rest inserted, returning nothing. Each
        # returned row is a step of its own for the sqlite3 module: 500 new events took 3.0 ms
        # returned, 2.0 ms looked up and inserted. A process that stored one of these events in
        # between makes the insert fail on the key, and nothing of the batch is kept: the
        # consumer applies it again in halves, which find the event stored
        # (tests/integration/test_received_race.py).
        query = "SELECT source, event_id FROM events_received"
        keys = bulk.PairsIn("source", "event_id", [(f.source, f.id) for f in unique])
        stored = {(s, i) for s, i in await bulk.select_where(session, query, keys)}
        tail, candidates = "", [f for f in unique if (f.source, f.id) not in stored]
    rows = [(f.source, f.id, f.type, f.time, cache.text_of(f, book), at) for f in candidates]
    returned = await bulk.insert(session, _RECEIVED, rows, tail=tail)
    if not racing:
        return candidates
    fresh = {(s, i) for s, i in returned}
    return [f for f in candidates if (f.source, f.id) in fresh]


_CASES = bulk.Columns.of(
    "cases",
    urn="text",
    area="text",
    unit="text",
    owner="text",
    event_time="timestamptz",
    event_source="text",
    event_id="text",
    updated_at="timestamptz",
)


async def upsert_cases(
    *, session: AsyncSession, facts: Iterable[Fact], now: datetime | None = None
) -> set[str]:
    """Apply case-registered facts, the later `time` standing; return the URNs that changed."""
    latest = _latest_by(facts, "urn")
    if not latest:
        return set()
    at = now or utcnow()
    rows = [
        (urn, f.data["area"], f.data["unit"], f.data["owner"], f.time, f.source, f.id, at)
        for urn, f in latest.items()
    ]
    # Only a later event replaces the row: (time, source, id) compared as one value.
    tail = (
        f"{_upsert_tail(_CASES, ('urn',))} WHERE (cases.event_time, cases.event_source, "
        "cases.event_id) < (excluded.event_time, excluded.event_source, excluded.event_id) "
        "RETURNING urn"
    )
    return {row[0] for row in await bulk.insert(session, _CASES, rows, tail=tail)}


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
    return set(await upsert_later(session=session, model=StaffMember, rows=rows, key="staff_id"))


def _latest_by(facts: Iterable[Fact], field: str) -> dict[str, Fact]:
    latest: dict[str, Fact] = {}
    for fact in facts:
        key = fact.data[field]
        if key not in latest or latest[key].order < fact.order:
            latest[key] = fact
    return latest


async def load_cases(*, session: AsyncSession, urns: Collection[str]) -> dict[str, CaseInfo]:
    query = "SELECT urn, area, unit, owner, event_time, event_source, event_id FROM cases"
    rows = await bulk.select_where(session, query, bulk.In("urn", urns))
    return {
        urn: CaseInfo(urn, area, unit, owner, (bulk.timestamp(at), source, event_id))
        for urn, area, unit, owner, at, source, event_id in rows
    }


async def load_tracks(
    *,
    session: AsyncSession,
    keys: Collection[TrackKey] = (),
    urns: Collection[str] = (),
    links: Collection[LinkKey] = (),
) -> list[TrackState]:
    """Tracks by key, every track of these cases, and every track reached through these links,
    each with its obligations: from this process's cache when the database holds the write it
    remembers (the version matches), else read and parsed."""
    wanted = (
        bulk.PairsIn("rule", "key", keys),
        bulk.In("urn", urns),
        bulk.PairsIn("rule", "link", links),
    )
    query = "SELECT rule, key, urn, link, refresh_on, version FROM tracks"
    rows = await bulk.select_where(session, query, *wanted)
    remembered, book = cache.cache_of(session), cache.texts_of(session)
    tracks: dict[TrackKey, TrackState] = {}
    missing: list[TrackKey] = []
    for rule, key_, urn, link, refresh_on, version in rows:
        key = (rule, key_)
        hit = remembered.take(key, version)
        if hit is None:
            missing.append(key)
            tracks[key] = TrackState(
                rule=rule, key=key_, urn=urn, link=link, refresh_on=bulk.day(refresh_on)
            )
            continue
        tracks[key] = hit.state
        book.update(hit.texts)
    if missing:
        query = "SELECT rule, key, facts FROM tracks"
        for rule, key_, facts in await bulk.select_where(
            session, query, bulk.PairsIn("rule", "key", missing)
        ):
            tracks[(rule, key_)].facts = tuple(Fact.from_json(r) for r in bulk.json_value(facts))
        query = f"SELECT {', '.join(_DRAFT)} FROM obligations"
        for row in await bulk.select_where(session, query, bulk.PairsIn("rule", "key", missing)):
            draft = _draft_of(row)
            tracks[(draft.rule, draft.key)].obligations[draft.id] = draft
    return list(tracks.values())


# The obligations columns a draft is read from: its own fields, in order.
_DRAFT = tuple(f.name for f in fields(ObligationDraft))


def _draft_of(row: Sequence[Any]) -> ObligationDraft:
    """From a driver row of the obligations table's `_DRAFT` columns."""
    values = dict(zip(_DRAFT, row, strict=True))
    values["due"], values["closed_on"] = bulk.day(values["due"]), bulk.day(values["closed_on"])
    return ObligationDraft(**values)


async def refresh_keys(*, session: AsyncSession, today: date) -> list[TrackKey]:
    """Tracks whose obligations change by the passing of time by `today`."""
    statement = select(col(Track.rule), col(Track.key)).where(col(Track.refresh_on) <= today)
    return [(rule, key) for rule, key in (await session.execute(statement)).all()]


_TRACKS = bulk.Columns.of(
    "tracks",
    rule="text",
    key="text",
    urn="text",
    link="text",
    refresh_on="date",
    facts="json",
    updated_at="timestamptz",
    version="bigint",
)


async def save_tracks(
    *, session: AsyncSession, tracks: Sequence[TrackState], now: datetime | None = None
) -> None:
    """Upsert, each with a new version; the cache keeps them once the transaction commits."""
    if not tracks:
        return
    at, version, book = now or utcnow(), cache.new_version(), cache.texts_of(session)
    rows, writes = [], []
    for t in tracks:
        texts = {(f.source, f.id): cache.text_of(f, book) for f in t.facts}
        facts = f"[{', '.join(texts.values())}]"
        rows.append((t.rule, t.key, t.urn, t.link, t.refresh_on, facts, at, version))
        # A copy: the ledger that holds `t` may still change it, or its transaction roll back.
        copy = replace(t, obligations=dict(t.obligations))
        writes.append(cache.Written(version, copy, texts))
    await bulk.insert(session, _TRACKS, rows, tail=_upsert_tail(_TRACKS, ("rule", "key")))
    cache.written(session, writes)


def _upsert_tail(columns: bulk.Columns, key: tuple[str, ...], keep: tuple[str, ...] = ()) -> str:
    """ON CONFLICT (key) DO UPDATE every other column but `keep` to the new row's value."""
    updated = [n for n in columns.names if n not in key and n not in keep]
    sets = ", ".join(f'"{n}" = excluded."{n}"' for n in updated)
    return f"ON CONFLICT ({', '.join(chr(34) + k + chr(34) for k in key)}) DO UPDATE SET {sets}"


async def load_linked(
    *, session: AsyncSession, keys: Collection[LinkKey]
) -> dict[LinkKey, list[Fact]]:
    query = "SELECT rule, link, facts FROM linked_facts"
    rows = await bulk.select_where(session, query, bulk.PairsIn("rule", "link", keys))
    return {
        (rule, link): [Fact.from_json(raw) for raw in bulk.json_value(facts)]
        for rule, link, facts in rows
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
    statement = insert_for(session, LinkedFacts)
    statement = statement.on_conflict_do_update(
        index_elements=["rule", "link"],
        set_={"facts": statement.excluded.facts, "updated_at": statement.excluded.updated_at},
    )
    await session.execute(statement, rows)


_CHANGES = bulk.Columns.of(
    "obligation_changes",
    obligation_id="text",
    kind="text",
    due_before="date",
    due_after="date",
    state_before="text",
    state_after="text",
    closed_on="date",
    caused_by="text",
    recorded_at="timestamptz",
)


async def record_changes(
    *, session: AsyncSession, changes: Sequence[Change], now: datetime | None = None
) -> None:
    """The obligation's history: what changed, from what to what, and which events did it.
    (Their audit entries are appended by the caller, with the batch's others: `audited`.)"""
    if not changes:
        return
    at = now or utcnow()
    rows = [
        (
            c.obligation_id,
            c.kind,
            c.before.due if c.before else None,
            c.after.due if c.after else None,
            c.before.state if c.before else None,
            c.after.state if c.after else None,
            c.after.closed_on if c.after else None,
            " ".join(c.cause),
            at,
        )
        for c in changes
    ]
    await bulk.insert(session, _CHANGES, rows)


def audited(change: Change) -> AuditRecord:
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


_OBLIGATIONS = bulk.Columns.of(
    "obligations",
    id="text",
    rule="text",
    key="text",
    urn="text",
    owner="text",
    area="text",
    opened_by="text",
    due="date",
    state="text",
    closed_on="date",
    explanation="text",
    created_at="timestamptz",
    updated_at="timestamptz",
)


async def save_obligations(
    *, session: AsyncSession, drafts: Sequence[ObligationDraft], now: datetime | None = None
) -> None:
    """Insert or update; `updated_at` is set on every write, `created_at` only on the first."""
    if not drafts:
        return
    at = now or utcnow()
    rows = [
        (
            d.id,
            d.rule,
            d.key,
            d.urn,
            d.owner,
            d.area,
            d.opened_by,
            d.due,
            d.state,
            d.closed_on,
            d.explanation,
            at,
            at,
        )
        for d in drafts
    ]
    tail = _upsert_tail(_OBLIGATIONS, ("id",), keep=("created_at",))
    await bulk.insert(session, _OBLIGATIONS, rows, tail=tail)


async def delete_obligations(*, session: AsyncSession, ids: Collection[str]) -> None:
    if ids:
        await session.execute(delete(Obligation).where(col(Obligation.id).in_(ids)))


async def add_dead_letters(*, session: AsyncSession, letters: Sequence[DeadLetter]) -> None:
    session.add_all(letters)
    await session.flush()
