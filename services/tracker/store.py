"""Data access for the tracker: keyword-only functions, bulk statements, one caller's transaction.

Each function works on a whole batch so a batch of events costs a handful of statements.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events.outbound import obligation_ref
from schemas import bulk
from schemas.db import dialect_of
from schemas.tables import (
    Case,
    LinkedFacts,
    Obligation,
    ObligationChange,
    ReceivedEvent,
    StaffMember,
    Track,
)
from services.platform.audit_trail import AuditRecord, append_audit
from services.rules.engine import merge_facts
from services.rules.ledger import LinkKey, TrackKey, TrackState
from services.rules.model import CaseInfo, Change, Fact, ObligationDraft
from services.rules.reallocation import Move
from services.tracker import cache
from services.tracker.cache import FactKey
from services.tracker.conflicts import Conflict, find_conflicts


@dataclass(frozen=True, slots=True)
class Received:
    fresh: list[Fact]  # first sightings, to apply
    conflicts: list[Conflict]  # duplicates with other content than the one that stands


async def record_received(
    *, session: AsyncSession, facts: Sequence[Fact], now: datetime
) -> Received:
    """Store first sightings; return them, and the duplicates whose content differs from the
    one that stands (exact duplicates change nothing and are not returned). The stored
    content is read only for the keys found stored, in one statement."""
    unique = merge_facts((), facts)
    if not unique:
        return Received([], [])
    at = now
    book = cache.texts_of(session)
    racing = dialect_of(session) == "postgresql"
    stored: dict[FactKey, Any] = {}
    if racing:
        # Workers may race for an event: the one whose row went in applies it.
        candidates = list(unique)
    else:
        # SQLite: the stored are looked up first and the rest inserted, returning nothing. Each
        # returned row is a step of its own for the sqlite3 module, which made returning slower
        # than a lookup and a plain insert (BENCHMARKS.md). A process that stored one of these
        # events in between makes the insert fail on the key, and nothing of the batch is kept: the
        # consumer applies it again in halves, which find the event stored
        # (tests/integration/test_received_race.py).
        stored = await _stored(session, unique)
        candidates = [f for f in unique if (f.source, f.id) not in stored]
    rows = [
        {
            "source": f.source,
            "event_id": f.id,
            "type": f.type,
            "time": f.time,
            "payload": cache.text_of(f, book),
            "received_at": at,
        }
        for f in candidates
    ]
    returned = await bulk.write(
        session,
        ReceivedEvent,
        rows,
        key=("source", "event_id") if racing else (),
        returning=("source", "event_id") if racing else (),
    )
    fresh = candidates
    if racing:
        kept = {(s, i) for s, i in returned}
        fresh = [f for f in candidates if (f.source, f.id) in kept]
        if len(fresh) < len(candidates):  # stored before, or by a worker that won the race
            stored = await _stored(session, [f for f in candidates if (f.source, f.id) not in kept])
    conflicts = find_conflicts(facts, unique, _standing(stored, unique, book))
    for conflict in conflicts:
        if conflict.stored_before:
            # The book has the received content's text for this key: a track holding the
            # stored fact, saved by this batch, must be saved with the stored content.
            fact = conflict.standing
            book[(fact.source, fact.id)] = cache.dumps(fact.to_json())
    return Received(fresh, conflicts)


def _standing(
    stored: Mapping[FactKey, Any], unique: Sequence[Fact], book: Mapping[FactKey, str]
) -> dict[FactKey, Fact]:
    """The stored facts; where the stored text is the batch's own for the key (an entry
    delivered again, the usual duplicate), the batch's fact, not parsed again."""
    if not stored:
        return {}
    firsts = {(f.source, f.id): f for f in unique}
    return {
        key: firsts[key] if text == book.get(key) else Fact.from_json(bulk.json_value(text))
        for key, text in stored.items()
    }


async def _stored(session: AsyncSession, facts: Sequence[Fact]) -> dict[FactKey, Any]:
    """The stored payload of each of these facts' keys that is in events_received."""
    query = "SELECT source, event_id, payload FROM events_received"
    keys = bulk.PairsIn("source", "event_id", [(f.source, f.id) for f in facts])
    return {(s, i): payload for s, i, payload in await bulk.select_where(session, query, keys)}


async def upsert_cases(*, session: AsyncSession, facts: Iterable[Fact], now: datetime) -> set[str]:
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
            "updated_at": now,
        }
        for urn, f in latest.items()
    ]
    written = await bulk.write(
        session, Case, rows, key=("urn",), on_conflict="later", returning=("urn",)
    )
    return {urn for (urn,) in written}


async def upsert_staff(*, session: AsyncSession, facts: Iterable[Fact], now: datetime) -> set[str]:
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
            "left_date": bulk.day(f.data.get("left_date")),  # JSON text in a fact
            "event_time": f.time,
            "event_source": f.source,
            "event_id": f.id,
            "updated_at": now,
        }
        for staff_id, f in latest.items()
    ]
    written = await bulk.write(
        session, StaffMember, rows, key=("staff_id",), on_conflict="later", returning=("staff_id",)
    )
    return {staff_id for (staff_id,) in written}


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
_draft_values = attrgetter(*_DRAFT)


def _draft_of(row: Sequence[Any]) -> ObligationDraft:
    """From a driver row of the obligations table's `_DRAFT` columns."""
    values = dict(zip(_DRAFT, row, strict=True))
    values["due"], values["closed_on"] = bulk.day(values["due"]), bulk.day(values["closed_on"])
    return ObligationDraft(**values)


async def refresh_keys(*, session: AsyncSession, today: date) -> list[TrackKey]:
    """Tracks whose obligations change by the passing of time by `today`."""
    statement = select(col(Track.rule), col(Track.key)).where(col(Track.refresh_on) <= today)
    return [(rule, key) for rule, key in (await session.execute(statement)).all()]


async def save_tracks(
    *, session: AsyncSession, tracks: Sequence[TrackState], now: datetime
) -> None:
    """Upsert, each with a new version; the cache keeps them once the transaction commits."""
    if not tracks:
        return
    at, version, book = now, cache.new_version(), cache.texts_of(session)
    rows, writes = [], []
    for t in tracks:
        texts = {(f.source, f.id): cache.text_of(f, book) for f in t.facts}
        facts = f"[{', '.join(texts.values())}]"
        rows.append(
            {
                "rule": t.rule,
                "key": t.key,
                "urn": t.urn,
                "link": t.link,
                "refresh_on": t.refresh_on,
                "facts": facts,
                "updated_at": at,
                "version": version,
            }
        )
        # A copy: the ledger that holds `t` may still change it, or its transaction roll back.
        writes.append(cache.Written(version, t.copy(), texts, len(facts)))
    await bulk.write(session, Track, rows, key=("rule", "key"), on_conflict="replace")
    cache.written(session, writes)


async def load_linked(
    *, session: AsyncSession, keys: Collection[LinkKey]
) -> dict[LinkKey, tuple[Fact, ...]]:
    """The linked facts of these keys: from this process's cache when the database holds the
    write it remembers (as load_tracks), else read and parsed."""
    query = "SELECT rule, link, version FROM linked_facts"
    rows = await bulk.select_where(session, query, bulk.PairsIn("rule", "link", keys))
    remembered, book = cache.cache_of(session), cache.texts_of(session)
    found: dict[LinkKey, tuple[Fact, ...]] = {}
    missing: list[LinkKey] = []
    for rule, link, version in rows:
        hit = remembered.take_linked((rule, link), version)
        if hit is None:
            missing.append((rule, link))
            continue
        found[(rule, link)] = hit.facts
        book.update(hit.texts)
    if missing:
        query = "SELECT rule, link, facts FROM linked_facts"
        for rule, link, facts in await bulk.select_where(
            session, query, bulk.PairsIn("rule", "link", missing)
        ):
            found[(rule, link)] = tuple(Fact.from_json(raw) for raw in bulk.json_value(facts))
    return found


async def save_linked(
    *, session: AsyncSession, linked: Mapping[LinkKey, Sequence[Fact]], now: datetime
) -> None:
    """Upsert, each with a new version; the cache keeps them once the transaction commits.
    Stored by joining the facts' texts, as save_tracks stores a track's."""
    if not linked:
        return
    version, book = cache.new_version(), cache.texts_of(session)
    rows, writes = [], []
    for (rule, link), facts in linked.items():
        texts = {(f.source, f.id): cache.text_of(f, book) for f in facts}
        stored = f"[{', '.join(texts.values())}]"
        rows.append(
            {"rule": rule, "link": link, "facts": stored, "updated_at": now, "version": version}
        )
        writes.append(cache.Linked(version, (rule, link), tuple(facts), texts, len(stored)))
    await bulk.write(session, LinkedFacts, rows, key=("rule", "link"), on_conflict="replace")
    cache.written(session, writes)


# A case's case-reallocated facts are kept in linked_facts under this name, which no rule id can
# take (rule ids are lower-case letters, digits and hyphens), keyed by the case's URN.
REALLOCATIONS = "@case-reallocated"


def reallocations_of(loaded: Mapping[LinkKey, Sequence[Fact]]) -> dict[str, tuple[Fact, ...]]:
    """Each case's case-reallocated facts, in time order, from what `load_linked` read with the
    keys `(REALLOCATIONS, urn)` (services/rules/reallocation.py)."""
    found = ((urn, facts) for (rule, urn), facts in loaded.items() if rule == REALLOCATIONS)
    return {urn: merge_facts((), facts) for urn, facts in found}


async def save_reallocations(
    *, session: AsyncSession, reallocations: Mapping[str, Sequence[Fact]], now: datetime
) -> None:
    await save_linked(
        session=session,
        linked={(REALLOCATIONS, urn): facts for urn, facts in reallocations.items()},
        now=now,
    )


def reallocation_audited(fact: Fact, move: Move | None) -> AuditRecord:
    """The one audit entry of a case reallocated: entity `case`, action `reallocated`, with the
    case's owner before, the obligations it moved and their owners before (`Ledger.moved`),
    and `at`, the event's `time` (when it was decided; contract section 2, "Added event
    types")."""
    moved = move.obligations if move else []
    return AuditRecord(
        entity="case",
        entity_id=str(fact.data["urn"]),
        action="reallocated",
        actor=str(fact.data.get("reallocated_by") or fact.source),
        caused_by=f"{fact.source}#{fact.id}",
        detail={
            "from": move.case_owner_before if move else None,
            "to": str(fact.data["new_owner"]),
            "reason": fact.data["reason"],
            "reallocated_date": fact.data["reallocated_date"],
            "at": fact.time.isoformat(),
            "moved": sorted(obligation for obligation, _ in moved),
            "owners_before": sorted({owner for _, owner in moved if owner}),
        },
    )


async def record_changes(
    *, session: AsyncSession, changes: Sequence[Change], now: datetime
) -> None:
    """The obligation's history: what changed, from what to what, and which events did it.
    (Their audit entries are appended by the caller, with the batch's others: `audited`.)"""
    if not changes:
        return
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
    await bulk.write(session, ObligationChange, rows)


def audited(change: Change) -> AuditRecord:
    before, after = change.before, change.after
    owners = {}
    if before and after and before.owner != after.owner:
        # A case reallocated, or registered to another lawyer: who had it and who has it.
        owners = {"owner_before": before.owner, "owner_after": after.owner}
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
        }
        | owners,
    )


async def save_obligations(
    *, session: AsyncSession, drafts: Sequence[ObligationDraft], now: datetime
) -> None:
    """Insert or update; `updated_at` is set on every write, `created_at` only on the first."""
    if not drafts:
        return
    rows = [
        dict(zip(_DRAFT, _draft_values(d), strict=True),
             created_at=now, updated_at=now, ref=obligation_ref(d.id))
        for d in drafts
    ]  # fmt: skip
    await bulk.write(
        session, Obligation, rows, key=("id",), on_conflict="replace", keep=("created_at",)
    )


async def delete_obligations(*, session: AsyncSession, ids: Collection[str]) -> None:
    if ids:
        await session.execute(delete(Obligation).where(col(Obligation.id).in_(ids)))


async def save_state(
    *,
    session: AsyncSession,
    tracks: Sequence[TrackState],
    linked: Mapping[LinkKey, Sequence[Fact]],
    reallocations: Mapping[str, Sequence[Fact]],
    changes: Sequence[Change],
    now: datetime,
    audit: Sequence[AuditRecord] = (),
) -> None:
    """What the engine changed, then its audit entries in one append, the last statement: on
    PostgreSQL the append holds the chain's lock until commit, so it comes as late as it can.
    A batch of the consumer and a replay save alike."""
    await save_tracks(session=session, tracks=tracks, now=now)
    await save_linked(session=session, linked=linked, now=now)
    await save_reallocations(session=session, reallocations=reallocations, now=now)
    await save_obligations(
        session=session, drafts=[c.after for c in changes if c.after is not None], now=now
    )
    await delete_obligations(
        session=session, ids=[c.obligation_id for c in changes if c.kind == "removed"]
    )
    await record_changes(session=session, changes=changes, now=now)
    await append_audit(session=session, records=[*map(audited, changes), *audit], at=now)
