"""Apply a batch of accepted events: the one place where facts meet the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from events import Event
from services.rules.calendar import Calendar
from services.rules.engine import derive, diff, merge_facts, route
from services.rules.model import Change, Fact
from services.rules.pack import Rule
from services.tracker import store
from services.tracker.intake import decode_entries


@dataclass(slots=True)
class BatchOutcome:
    received: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    changes: list[Change] = field(default_factory=list)


async def apply_entries(
    *,
    sessions: async_sessionmaker[AsyncSession],
    entries: list[tuple[bytes, Mapping[bytes, bytes]]],
    rules: Sequence[Rule],
    calendar: Calendar,
) -> BatchOutcome:
    """One transaction per batch: the events' effects and the batch's dead letters commit
    together, and the caller acknowledges the entries only after that."""
    decoded = decode_entries(entries)
    async with sessions() as session, session.begin():
        outcome = await apply_events(
            session=session, events=decoded.events, rules=rules, calendar=calendar
        )
        await store.add_dead_letters(session=session, letters=decoded.dead)
    outcome.dead_letters = len(decoded.dead)
    return outcome


def fact_from_event(event: Event) -> Fact:
    wire = event.to_wire()
    return Fact(
        source=event.source, id=event.id, type=event.type, time=event.time, data=wire["data"]
    )


async def apply_events(
    *, session: AsyncSession, events: Sequence[Event], rules: Sequence[Rule], calendar: Calendar
) -> BatchOutcome:
    """Record, dedupe and apply events inside the caller's transaction."""
    facts = [fact_from_event(e) for e in events]
    fresh = await store.record_received(session=session, facts=facts)
    outcome = BatchOutcome(received=len(fresh), duplicates=len(facts) - len(fresh))
    if not fresh:
        return outcome
    await store.upsert_staff(session=session, facts=[f for f in fresh if f.type == "staff-updated"])
    changed_urns = await store.upsert_cases(
        session=session, facts=[f for f in fresh if f.type == "case-registered"]
    )

    incoming: dict[store.TrackKey, list[Fact]] = defaultdict(list)
    urn_of: dict[store.TrackKey, str | None] = {}
    for fact in fresh:
        for ref in route(rules, fact):
            incoming[(ref.rule, ref.key)].append(fact)
            urn_of.setdefault((ref.rule, ref.key), ref.urn)
    # A case registered (or reassigned) after its obligations were opened gives them their
    # owner and area: re-derive every track of that case.
    for track_key, urn in (
        await store.track_keys_for_urns(session=session, urns=changed_urns)
    ).items():
        urn_of.setdefault(track_key, urn)
    if not urn_of:
        return outcome

    outcome.changes = await _rederive(session, urn_of, incoming, rules, calendar)
    return outcome


async def _rederive(
    session: AsyncSession,
    urn_of: dict[store.TrackKey, str | None],
    incoming: dict[store.TrackKey, list[Fact]],
    rules: Sequence[Rule],
    calendar: Calendar,
) -> list[Change]:
    by_id = {rule.id: rule for rule in rules}
    keys = list(urn_of)
    known = await store.load_tracks(session=session, keys=keys)
    before = await store.load_obligations(session=session, keys=keys)
    cases = await store.load_cases(session=session, urns={u for u in urn_of.values() if u})

    tracks: dict[store.TrackKey, tuple[str | None, Sequence[Fact]]] = {}
    changes: list[Change] = []
    for rule_id, key in keys:
        if rule_id not in by_id:
            continue  # a rule withdrawn from the pack: its obligations stay as they were
        facts = merge_facts(known.get((rule_id, key), ()), incoming.get((rule_id, key), ()))
        urn = urn_of[(rule_id, key)]
        tracks[(rule_id, key)] = (urn, facts)
        derived = derive(by_id[rule_id], key, facts, cases.get(urn) if urn else None, calendar)
        changes.extend(diff(before.get((rule_id, key), {}), derived))

    await store.save_tracks(
        session=session, tracks={k: v for k, v in tracks.items() if k in incoming}
    )
    await store.save_obligations(
        session=session, drafts=[c.after for c in changes if c.after is not None]
    )
    await store.delete_obligations(
        session=session, ids=[c.obligation_id for c in changes if c.kind == "removed"]
    )
    return changes
