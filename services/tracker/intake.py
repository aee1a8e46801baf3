"""Turn raw stream entries into events, or into dead letters that say why not."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from events import Event, EventRejected, parse_event
from schemas.tables import DeadLetter
from services.broker.streams import ENTRY_FIELD
from services.rules.model import Fact, in_utc
from services.tracker.cache import FactKey, text_with


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[Event]
    dead: list[DeadLetter]
    # Each event as the rules read it (None where making it failed: it is made again inside
    # the batch's transaction, where a failure is pinned to its entry), and each fact's stored
    # JSON text. Made here because the consumer decodes a batch while the one before waits on
    # the database, so this work costs the batch's transaction nothing.
    facts: list[Fact | None] = field(default_factory=list)
    texts: dict[FactKey, str] = field(default_factory=dict)


def fact_from_event(event: Event) -> Fact:
    # Defaults filled in (a VRR request without `stage` is at local resolution), so the rules
    # see the same data whether a sender spelled a default out or left it to the contract.
    return Fact(
        source=event.source,
        id=event.id,
        type=event.type,
        time=in_utc(event.time),
        data=event.data.model_dump(mode="json"),
    )


def prepare(event: Event, texts: dict[FactKey, str]) -> Fact | None:
    """The event's fact, its JSON text added to `texts` (the first content of a key stands, as
    events_received keeps it); None if that failed."""
    try:
        fact = fact_from_event(event)
        if (fact.source, fact.id) not in texts:
            # pydantic's own serialiser (written in Rust) while the validated model is at hand
            texts[(fact.source, fact.id)] = text_with(fact, event.data.model_dump_json())
    except Exception:
        return None
    return fact


def decode_entries(
    entries: list[tuple[bytes, Mapping[bytes, bytes]]], *, ratings: Sequence[str] | None = None
) -> Decoded:
    """`ratings`: the follow-up ratings accepted (settings.ratings; None, the contract's)."""
    decoded = Decoded([], [])
    for entry_id, fields in entries:
        _decode_one(entry_id, fields, ratings, decoded)
    return decoded


async def decode_between(
    entries: list[tuple[bytes, Mapping[bytes, bytes]]],
    *,
    ratings: Sequence[str] | None = None,
    every: int = 50,
) -> Decoded:
    """`decode_entries`, letting other tasks run every `every` entries: the batch before,
    waiting on the database between its statements, goes on meanwhile."""
    decoded = Decoded([], [])
    for n, (entry_id, fields) in enumerate(entries, 1):
        _decode_one(entry_id, fields, ratings, decoded)
        if n % every == 0:
            await asyncio.sleep(0)
    return decoded


def _decode_one(
    entry_id: bytes,
    fields: Mapping[bytes, bytes],
    ratings: Sequence[str] | None,
    decoded: Decoded,
) -> None:
    raw = fields.get(ENTRY_FIELD)
    if raw is None:
        reason = "entry has no 'event' field"
        decoded.dead.append(_dead(entry_id, storable(repr(dict(fields))), None, reason))
        return
    try:
        event = parse_event(raw, plain=False, ratings=ratings)
    except EventRejected as rejected:
        decoded.dead.append(_dead(entry_id, storable(raw), rejected.field, rejected.reason))
        return
    decoded.events.append(event)
    decoded.facts.append(prepare(event, decoded.texts))


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
