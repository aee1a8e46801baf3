"""Apply a batch of accepted events: the one place where facts meet the database."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from events import Event
from schemas.db import dialect_of
from services.audit import projection
from services.platform.audit_trail import AuditRecord
from services.rules.calendar import Calendar
from services.rules.engine import LinkRef
from services.rules.ledger import Ledger, LinkKey, TrackKey, TrackState
from services.rules.model import Change, Fact
from services.rules.pack import Rule
from services.rules.reallocation import EVENT as REALLOCATED
from services.tracker import cache, dead_letters, intake, locks, reading, store
from services.tracker.intake import Decoded, Entry, decode_entries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(slots=True)
class BatchOutcome:
    received: int = 0
    duplicates: int = 0  # conflicts among them
    conflicts: int = 0  # duplicates with other content, kept as dead letters (conflicts.py)
    dead_letters: int = 0
    changes: list[Change] = field(default_factory=list)


async def apply_entries(
    *,
    sessions: async_sessionmaker[AsyncSession],
    entries: list[Entry],
    rules: Sequence[Rule],
    calendar: Calendar,
    today: date,
    now: datetime,
    ratings: Sequence[str] | None = None,
    decoded: Decoded | None = None,
    max_bytes: int | None = None,
) -> BatchOutcome:
    """One transaction per batch: the events' effects and the batch's dead letters commit
    together, and the caller acknowledges the entries only after that. `ratings`: the
    follow-up ratings accepted (settings.ratings; None, the contract's list). `decoded`: these
    entries already decoded (intake.decode_entries), if the caller did it beforehand."""
    if decoded is None:
        decoded = decode_entries(entries, ratings=ratings, max_bytes=max_bytes)
    async with sessions() as session:
        async with session.begin():
            outcome = await apply_events(
                session=session,
                events=decoded.unprepared,
                rules=rules,
                calendar=calendar,
                today=today,
                now=now,
                prepared=decoded.facts,
                texts=decoded.texts,
            )
            await dead_letters.add_dead_letters(session=session, letters=decoded.dead, now=now)
        cache.committed(session)
    outcome.dead_letters = len(decoded.dead)
    return outcome


async def apply_events(
    *,
    session: AsyncSession,
    events: Sequence[Event] = (),
    rules: Sequence[Rule],
    calendar: Calendar,
    today: date,
    now: datetime,
    prepared: Sequence[Fact] = (),
    texts: Mapping[cache.FactKey, str] | None = None,
) -> BatchOutcome:
    """Record, dedupe and apply events inside the caller's transaction: `events`, and the facts
    intake made of others beforehand (`prepared`, with their stored `texts`: intake.Decoded)."""
    book = cache.texts_of(session)
    if texts:
        book.update((key, text) for key, text in texts.items() if key not in book)
    facts = [
        *prepared,
        # Its stored JSON is pydantic's, not json.dumps of the fact (a tenth of a batch's time).
        *(intake.prepare(event, book) or reading.fact_from_event(event) for event in events),
    ]
    received = await store.record_received(session=session, facts=facts, now=now)
    fresh = received.fresh
    await dead_letters.keep_conflicts(session=session, conflicts=received.conflicts, now=now)
    outcome = BatchOutcome(
        received=len(fresh),
        duplicates=len(facts) - len(fresh),
        conflicts=len(received.conflicts),
    )
    if not fresh:
        return outcome
    await store.upsert_staff(
        session=session, facts=[f for f in fresh if f.type == "staff-updated"], now=now
    )
    ledger = await _ledger_for(session, rules, calendar, fresh)
    outcome.changes = ledger.apply(fresh, today=today)
    await store.upsert_cases(
        session=session, facts=[f for f in fresh if f.type == "case-registered"], now=now
    )
    projected = await projection.project(session=session, facts=fresh, now=now)
    moves = [
        store.reallocation_audited(f, ledger.moved.get(f"{f.source}#{f.id}"))
        for f in fresh
        if f.type == REALLOCATED
    ]
    await _save(session, ledger, outcome.changes, now=now, audit=[*projected, *moves])
    return outcome


async def refresh_tracks(
    *,
    sessions: async_sessionmaker[AsyncSession],
    rules: Sequence[Rule],
    calendar: Calendar,
    today: date,
    now: datetime,
) -> list[Change]:
    """Let time pass: open the obligations of recurring periods that have begun by `today`."""
    async with sessions() as session:
        async with session.begin():
            keys = await store.refresh_keys(session=session, today=today)
            if not keys:
                return []
            ledger = Ledger(rules, calendar)
            # Locked like a batch: a worker applying events to the same track must not
            # interleave.
            tracks = await _load_locked(
                session, keys=keys, held={f"t:{rule}:{key}" for rule, key in keys}
            )
            await _fill(session, ledger, tracks, links=set())
            changes = ledger.refresh(today=today)
            await _save(session, ledger, changes, now=now)
        cache.committed(session)
    return changes


async def _ledger_for(
    session: AsyncSession, rules: Sequence[Rule], calendar: Calendar, facts: Sequence[Fact]
) -> Ledger:
    """The part of the engine's state these facts can touch, locked and loaded."""
    ledger = Ledger(rules, calendar)
    keys: set[TrackKey] = set()
    links: set[LinkKey] = set()
    for fact in facts:
        for ref in ledger.routes(fact):
            if isinstance(ref, LinkRef):
                links.add((ref.rule, ref.link))
            else:
                keys.add((ref.rule, ref.key))
    # A case registered or reallocated reaches every track of the case.
    urns = {f.data["urn"] for f in facts if f.type in ("case-registered", REALLOCATED)}
    held = locks.names_of_facts(facts) | {f"t:{r}:{k}" for r, k in keys}
    held |= {f"l:{r}:{link}" for r, link in links | ledger.links_needed(facts)}
    tracks = await _load_locked(session, keys=keys, urns=urns, links=links, held=held)
    await _fill(session, ledger, tracks, links=links, facts=facts)
    return ledger


async def _load_locked(
    session: AsyncSession,
    *,
    keys: Collection[TrackKey],
    held: set[str],
    urns: set[str] | None = None,
    links: set[LinkKey] | None = None,
) -> list[TrackState]:
    """Lock `held`, load the tracks, lock what they lead to and read them again until every
    track was read under its own lock (PostgreSQL; a no-op on SQLite's single writer)."""
    await locks.lock(session, held)
    while True:
        tracks = await store.load_tracks(
            session=session, keys=keys, urns=urns or set(), links=links or set()
        )
        more = locks.names_of_tracks(tracks) - held
        if not more or dialect_of(session) != "postgresql":
            return tracks
        held |= more
        await locks.lock(session, more)
        if not any(name.startswith("t:") for name in more):
            return tracks  # cases and links are read after, under the locks now held


async def _fill(
    session: AsyncSession,
    ledger: Ledger,
    tracks: Sequence[TrackState],
    *,
    links: set[LinkKey],
    facts: Sequence[Fact] = (),
) -> None:
    """Give the ledger these tracks with the linked facts and cases their derivation reads."""
    ledger.hold(tracks)
    # Every URN a track's facts name: which one the track belongs to can change with the batch.
    every = [*facts, *(f for t in tracks for f in t.facts)]
    urns = {u for f in every if isinstance(u := f.data.get("urn"), str)}
    # The cases' reallocations are kept beside the linked facts: one statement reads both.
    moves = {(store.REALLOCATIONS, urn) for urn in urns}
    keys = links | ledger.links_needed(facts)
    loaded = await store.load_linked(session=session, keys=keys | moves)
    ledger.linked = {k: tuple(v) for k, v in loaded.items() if k not in moves}
    ledger.reallocations = store.reallocations_of(loaded)
    ledger.cases = await store.load_cases(session=session, urns=urns)


async def _save(
    session: AsyncSession,
    ledger: Ledger,
    changes: Sequence[Change],
    *,
    now: datetime,
    audit: Sequence[AuditRecord] = (),
) -> None:
    """Everything the batch changed (store.save_state)."""
    await store.save_state(
        session=session,
        tracks=[ledger.tracks[k] for k in ledger.touched],
        linked={k: ledger.linked[k] for k in ledger.touched_links},
        reallocations={u: ledger.reallocations[u] for u in ledger.touched_reallocations},
        changes=changes,
        now=now,
        audit=audit,
    )
