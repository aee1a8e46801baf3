"""Turn raw stream entries into events, or into dead letters that say why not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from events import Event, EventRejected, parse_event
from schemas.tables import DeadLetter
from services.platform.broker.streams import ENTRY_FIELD
from services.rules.model import Fact
from services.tracker import reading
from services.tracker.cache import FactKey
from services.tracker.line_reader import PREFIX_BYTES, over_limit

# A stream entry as redis-py reads it: its id and its fields.
Entry = tuple[bytes, Mapping[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A batch of entries decoded: each accepted event as the rules read it, each refused
    entry as a dead letter, and each fact's stored JSON text."""

    facts: list[Fact] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    texts: dict[FactKey, str] = field(default_factory=dict)
    # Accepted, but making the fact failed: it is made again inside the batch's transaction,
    # where the failure is pinned to its entry.
    unprepared: list[Event] = field(default_factory=list)


def prepare(event: Event, texts: dict[FactKey, str]) -> Fact | None:
    """The event's fact, its JSON text added to `texts` (the first content of a key stands, as
    events_received keeps it); None if that failed."""
    try:
        fact = reading.fact_from_event(event)
        if (fact.source, fact.id) not in texts:
            texts[(fact.source, fact.id)] = reading.text_of_event(fact, event)
    except Exception:
        return None
    return fact


def assemble(
    entries: Sequence[Entry],
    outcomes: Sequence[reading.Outcome],
    *,
    ratings: Sequence[str] | None = None,
    max_bytes: int | None = None,
) -> Decoded:
    """The batch decoded, from `reading.read_outcomes` of the entries' events (those with an event
    field, in order). Facts are read back from their texts, all in one json.loads: a quarter
    of what making them from the events cost."""
    decoded = Decoded()
    texts: list[str] = []
    given = iter(outcomes)
    for entry_id, fields in entries:
        raw = fields.get(ENTRY_FIELD)
        if raw is None:
            reason = "entry has no 'event' field"
            decoded.dead.append(_dead(entry_id, storable(repr(dict(fields))), None, reason))
            continue
        if max_bytes is not None and len(raw) > max_bytes:  # not read: raw_events left it out
            reason = over_limit("event", len(raw), max_bytes)
            kept = raw[: min(max_bytes, PREFIX_BYTES)]
            decoded.dead.append(_dead(entry_id, storable(kept), None, reason))
            continue
        outcome = next(given)
        if isinstance(outcome, str):
            texts.append(outcome)
        elif isinstance(outcome, tuple):
            decoded.dead.append(_dead(entry_id, storable(raw), outcome[0], outcome[1]))
        else:  # making the fact failed where the event was read: again here, to keep the event
            try:
                event = parse_event(raw, plain=False, ratings=ratings)
            except EventRejected as rejected:  # not expected: it was read once already
                decoded.dead.append(_dead(entry_id, storable(raw), rejected.field, rejected.reason))
                continue
            if (fact := prepare(event, decoded.texts)) is not None:
                decoded.facts.append(fact)
            else:
                decoded.unprepared.append(event)
    for text, raw_fact in zip(texts, json.loads(f"[{','.join(texts)}]"), strict=True):
        fact = Fact.from_json(raw_fact)
        decoded.facts.append(fact)
        decoded.texts.setdefault((fact.source, fact.id), text)
    return decoded


def raw_events(entries: Sequence[Entry], max_bytes: int | None = None) -> list[bytes]:
    """The event field of each entry that has one, within `max_bytes` if given, as
    `reading.read_outcomes` and `assemble` take them."""
    return [
        raw
        for _, fields in entries
        if (raw := fields.get(ENTRY_FIELD)) is not None
        and (max_bytes is None or len(raw) <= max_bytes)
    ]


def decode_entries(
    entries: Sequence[Entry],
    *,
    ratings: Sequence[str] | None = None,
    max_bytes: int | None = None,
) -> Decoded:
    """`ratings`: the follow-up ratings accepted (settings.ratings; None, the contract's).
    `max_bytes`: an event larger is refused with its size (settings.max_event_bytes)."""
    outcomes = reading.read_outcomes(raw_events(entries, max_bytes), ratings)
    return assemble(entries, outcomes, ratings=ratings, max_bytes=max_bytes)


async def decode_between(
    entries: Sequence[Entry],
    *,
    ratings: Sequence[str] | None = None,
    max_bytes: int | None = None,
    every: int = 50,
) -> Decoded:
    """`decode_entries`, letting other tasks run every `every` events: the batch before,
    waiting on the database between its statements, goes on meanwhile."""
    raws = raw_events(entries, max_bytes)
    outcomes: list[reading.Outcome] = []
    for start in range(0, len(raws), every):
        outcomes += reading.read_outcomes(raws[start : start + every], ratings)
        await asyncio.sleep(0)
    return assemble(entries, outcomes, ratings=ratings, max_bytes=max_bytes)


def storable(raw: bytes | str, limit: int = 1_000_000) -> str:
    """Text any database keeps: invalid UTF-8 replaced, NUL (which PostgreSQL text refuses)
    written as its JSON escape, and cut at `limit` characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    return text.replace("\x00", "\\u0000")[:limit]


def _dead(entry_id: bytes, raw: str, field: str | None, reason: str) -> DeadLetter:
    return DeadLetter(
        origin="stream",
        stream_entry_id=entry_id.decode(),
        field=field,
        reason=reason,
        raw=raw,
    )
