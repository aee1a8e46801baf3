"""Turning raw input, whatever it is, into an `Event` or an `EventRejected`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from events.envelope import Event, coerce_dataversion
from events.errors import EventRejected
from events.inspection import RATINGS_CONTEXT
from events.registry import FIRST_VERSIONS, event_model_for

REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "data")
MAX_INT_BITS = 14_000  # about the 4,300 digits Python will convert to or from text
MAX_DEPTH = 64  # well inside both Python's recursion limit and pydantic's serialiser's
# One byte-order mark before the JSON is skipped, as RFC 8259 section 8.1 allows (editors on
# Windows write one at the start of a file): by both ways of reading, so they agree.
BOM = "\ufeff"
UTF8_BOM = BOM.encode()


def parse_event(
    raw: str | bytes | Mapping[str, Any],
    *,
    plain: bool = True,
    ratings: Sequence[str] | None = None,
) -> Event:
    """Validate one structured-mode CloudEvent; raises EventRejected and nothing else.

    `plain=False` returns the type-specific envelope as validated (an Event subclass with the
    same fields), skipping the copy into a plain Event: for consumers on the hot path.
    `ratings`: the follow-up ratings accepted (the FOLLOWUP_RATINGS setting); None, the
    contract's list.
    """
    context = None if ratings is None else {RATINGS_CONTEXT: ratings}
    if isinstance(raw, bytes | str) and (typed := _quickly(raw, context)) is not None:
        return _plain(typed) if plain else typed
    try:
        return _validate(_decode(raw), plain=plain, context=context)
    except EventRejected:
        raise
    except RecursionError:
        raise EventRejected(None, "nested too deeply") from None
    except Exception as exc:
        # Whatever slipped past the checks, a poison message must reach the dead-letter store
        # with a reason rather than crash the consumer reading it.
        raise EventRejected(None, f"unreadable event ({type(exc).__name__}: {exc})") from exc


def _decode(raw: object) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            raise EventRejected(None, reason) from None
    if isinstance(raw, str):
        raw = raw.removeprefix(BOM)
        _check_utf8(raw)
        value = _load_json(raw)
        # Numbers were checked as they were read, so the walk is needed only when the text
        # might be deep, or hold a NUL or a lone surrogate (both can only come escaped now);
        # these scans cost far less than the walk.
        walk = raw.count("{") + raw.count("[") > MAX_DEPTH or "\\u" in raw
    elif isinstance(raw, Mapping):
        value, walk = dict(raw), True
    else:
        raise EventRejected(None, f"expected JSON text or a mapping, not {type(raw).__name__}")
    if not isinstance(value, dict):
        raise EventRejected(None, f"expected a JSON object, not {_json_kind(value)}")
    if walk:
        _check_shape(value)
    return value


def _check_utf8(text: str) -> None:
    """Text holding a lone surrogate unescaped came from bytes that are not UTF-8 (a file read
    with surrogateescape, as `followup publish` reads one): say so, as for bytes."""
    if (found := _SURROGATE.search(text)) is None:
        return
    code = ord(found.group())
    what = f"byte 0x{code - 0xDC00:02x}" if code >= 0xDC80 else f"lone surrogate U+{code:04X}"
    raise EventRejected(None, f"not valid UTF-8 ({what} at character {found.start()})")


def _load_json(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        what = "a byte-order mark (U+FEFF)" if text[exc.pos : exc.pos + 1] == BOM else exc.msg
        raise EventRejected(None, f"not valid JSON ({what} at column {exc.colno})") from None
    except ValueError as exc:  # NaN/Infinity, or an integer too long to convert
        raise EventRejected(None, f"not valid JSON ({exc})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: a finite literal that overflows to infinity
        raise ValueError(f"number {text[:40]} is too large")
    return value


def _bounded(text: str) -> int:
    value = int(text)
    if value.bit_length() > MAX_INT_BITS:
        raise ValueError(f"integer of {len(text)} digits is too large")
    return value


# Built once: json.loads with hooks builds a decoder (and its scanner) on every call, which cost
# as much as the decoding on the consumer's hot path.
_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_float=_finite, parse_int=_bounded
)


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _check_shape(value: dict[str, Any]) -> None:
    # Iterative, so a self-referencing mapping or a very deep one cannot recurse us to death.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise EventRejected(None, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, Mapping):
            for key in node:
                if isinstance(key, str):
                    _check_text(key)
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, str):
            _check_text(node)
        elif isinstance(node, list | tuple):
            stack.extend((child, depth + 1) for child in node)
        elif not _fits_json(node):
            # A mapping can hold what JSON text cannot, and to_json() must stay readable.
            raise EventRejected(None, "holds a number JSON cannot carry (NaN, Infinity or huge)")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(text: str) -> None:
    """Text every store can hold: no NUL (PostgreSQL refuses it), no lone surrogate (not
    encodable as UTF-8)."""
    if "\x00" in text:
        raise EventRejected(None, "holds a NUL character (\\u0000), which is not stored")
    if _SURROGATE.search(text):
        raise EventRejected(None, "holds a lone surrogate (\\ud800-\\udfff), not valid text")


def _fits_json(node: object) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, int):
        return node.bit_length() <= MAX_INT_BITS
    return True


def _validate(raw: dict[str, Any], *, plain: bool, context: dict[str, Any] | None) -> Event:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in raw]
    if missing:
        raise EventRejected.from_errors([(name, "required attribute missing") for name in missing])
    type_name = raw["type"]
    if not isinstance(type_name, str):
        raise EventRejected("type", "must be a string")
    try:
        version = coerce_dataversion(raw.get("dataversion"))
    except ValueError as exc:
        raise EventRejected("dataversion", str(exc)) from None
    model = event_model_for(type_name, version)
    try:
        typed = model.model_validate(raw, context=context)
    except ValidationError as exc:
        raise EventRejected.from_validation_error(exc) from None
    return _plain(typed) if plain else typed


def _plain(typed: Event) -> Event:
    # A plain Event, so it compares equal to one built directly from the same parts.
    return Event.model_construct(_fields_set=typed.model_fields_set, **dict(typed))


def _quickly(raw: bytes | str, context: dict[str, Any] | None) -> Event | None:
    """The event, read and validated by pydantic in one call (a third of the long way's cost),
    when it is plainly what the long way would return; None sends it the long way, which says
    what is wrong. Plainly: no escape in the text (a NUL or lone surrogate can only come as
    one), not nested deeply, no field beyond the contract's (where NaN, Infinity or an
    overflowing number could hide), and no integer too long to carry."""
    try:
        text = (raw if isinstance(raw, bytes) else raw.encode()).removeprefix(UTF8_BOM)
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if b"\\u" in text or text.count(b"{") + text.count(b"[") > MAX_DEPTH:
        return None
    try:
        typed = FIRST_VERSIONS.validate_json(text, context=context)
    except ValidationError:
        return None
    if typed.__pydantic_extra__ or typed.data.__pydantic_extra__:
        return None
    if any(not _fits_json(value) for value in typed.data.__dict__.values()):
        return None
    return typed
