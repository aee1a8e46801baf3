"""Turn raw stream entries into events, or into dead letters that say why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from events import Event, EventRejected, parse_event
from schemas.tables import DeadLetter
from services.broker.streams import ENTRY_FIELD


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[Event]
    dead: list[DeadLetter]


def decode_entries(
    entries: list[tuple[bytes, Mapping[bytes, bytes]]], *, ratings: Sequence[str] | None = None
) -> Decoded:
    """`ratings`: the follow-up ratings accepted (settings.ratings; None, the contract's)."""
    events: list[Event] = []
    dead: list[DeadLetter] = []
    for entry_id, fields in entries:
        raw = fields.get(ENTRY_FIELD)
        if raw is None:
            dead.append(
                _dead(entry_id, storable(repr(dict(fields))), None, "entry has no 'event' field")
            )
            continue
        try:
            events.append(parse_event(raw, plain=False, ratings=ratings))
        except EventRejected as rejected:
            dead.append(_dead(entry_id, storable(raw), rejected.field, rejected.reason))
    return Decoded(events, dead)


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
