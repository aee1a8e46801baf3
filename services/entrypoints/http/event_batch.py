"""A CloudEvents JSON batch (`application/cloudevents-batch+json`: a JSON array of structured
events) cut into each event's own bytes, unparsed, so each is validated exactly as `followup
publish` validates a line (events.parse_event, through tracker.publishing.validate_lines) and
published as it came. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BOM = "\ufeff"
# Reads any element to its end whatever it holds (NaN, a huge integer): whether the event is
# acceptable is validate_lines' to say, with the field, not the splitter's.
_LENIENT = json.JSONDecoder(
    parse_constant=lambda _: None, parse_float=lambda _: 0.0, parse_int=lambda _: 0
)
_SPACE = " \t\n\r"


class BatchUnreadable(ValueError):
    """The body is not a JSON array: no event in it can be told from the next."""


@dataclass(frozen=True, slots=True)
class Element:
    raw: bytes  # as received, invalid UTF-8 included
    source: str | None  # the event's `source` and `id` when it has them as strings
    id: str | None


def split_batch(body: bytes) -> list[Element]:
    """Each element of the array in `body`, in order. Bytes that are not UTF-8 are carried
    through to the element holding them, which parse_event then refuses by name."""
    text = body.decode("utf-8", "surrogateescape").removeprefix(BOM)
    at = _skip(text, 0)
    if text[at : at + 1] != "[":
        raise BatchUnreadable("a batch is a JSON array of events: it does not start with [")
    found: list[Element] = []
    at = _skip(text, at + 1)
    if text[at : at + 1] == "]":
        return _end(text, at, found)
    while True:
        try:
            value, end = _LENIENT.raw_decode(text, at)
        except (ValueError, RecursionError) as error:
            raise BatchUnreadable(f"not valid JSON at character {at} ({error})") from None
        found.append(_element(text[at:end].encode("utf-8", "surrogateescape"), value))
        at = _skip(text, end)
        mark = text[at : at + 1]
        if mark == "]":
            return _end(text, at, found)
        if mark != ",":
            raise BatchUnreadable(f"expected , or ] at character {at}")
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at


def _end(text: str, at: int, found: list[Element]) -> list[Element]:
    if _skip(text, at + 1) != len(text):
        raise BatchUnreadable(f"text after the array's end at character {at + 1}")
    return found


def _element(raw: bytes, value: Any) -> Element:
    named = value if isinstance(value, dict) else {}
    source, event_id = named.get("source"), named.get("id")
    return Element(
        raw,
        source if isinstance(source, str) else None,
        event_id if isinstance(event_id, str) else None,
    )


def single(body: bytes) -> Element:
    """A structured-mode body: one event, whatever it holds (an unreadable one is named by
    parse_event like a line of `followup publish`)."""
    try:
        value = _LENIENT.decode(body.decode("utf-8", "surrogateescape").removeprefix(BOM))
    except (ValueError, RecursionError):
        value = None
    return _element(body, value)
