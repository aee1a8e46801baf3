"""Turn raw stream entries into events, or into dead letters that say why not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from events import Event, EventRejected, parse_event
from schemas.tables import DeadLetter
from services.broker.streams import ENTRY_FIELD


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[Event]
    dead: list[DeadLetter]


def decode_entries(entries: list[tuple[bytes, Mapping[bytes, bytes]]]) -> Decoded:
    events: list[Event] = []
    dead: list[DeadLetter] = []
    for entry_id, fields in entries:
        raw = fields.get(ENTRY_FIELD)
        if raw is None:
            dead.append(
                _dead(entry_id, repr(dict(fields))[:10_000], None, "entry has no 'event' field")
            )
            continue
        try:
            events.append(parse_event(raw))
        except EventRejected as rejected:
            dead.append(
                _dead(entry_id, raw.decode("utf-8", "replace"), rejected.field, rejected.reason)
            )
    return Decoded(events, dead)


def _dead(entry_id: bytes, raw: str, field: str | None, reason: str) -> DeadLetter:
    return DeadLetter(
        origin="stream",
        stream_entry_id=entry_id.decode(),
        field=field,
        reason=reason,
        raw=raw,
    )
