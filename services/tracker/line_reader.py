"""Lines of a JSON Lines input read as bytes, each bounded in size (`followup publish`).

Bytes, not text: an encoding problem is then the business of the one line that has it (named
by `events.parse_event`), never the reader's. A line over the limit is not read into memory
beyond it: what follows is counted and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

BOM = b"\xef\xbb\xbf"
# What an over-long line keeps of its text (at most the limit), for the dead letter: enough
# to see its id, source and type.
PREFIX_BYTES = 65_536
_SKIP_BYTES = 1 << 20  # the rest of an over-long line is read in pieces this size


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its number in the input (from 1), its bytes without the line ending (only a
    prefix when it is over the limit) and its full size in bytes without the line ending."""

    number: int
    text: bytes
    size: int

    def over(self, limit: int) -> bool:
        return self.size > limit


def read_lines(stream: Readable, *, max_bytes: int, from_line: int = 1) -> Iterator[Line]:
    """Every line of `stream` from line `from_line` on (those before are read and dropped, so
    numbers stay those of the input). A UTF-8 byte order mark opening the input is dropped."""
    number, keep = 0, min(max_bytes, PREFIX_BYTES)
    while True:
        # Two bytes over the limit: a line of exactly the limit fits with its "\r\n".
        head = stream.readline(max_bytes + 2)
        if not head:
            return
        number += 1
        whole = head.endswith(b"\n") or len(head) < max_bytes + 2
        size = len(head) if whole else len(head) + _skip_rest(stream, after=head)
        if number == 1 and head.startswith(BOM):
            head, size = head[len(BOM) :], size - len(BOM)
        if whole:
            head = _without_ending(head)
            size = len(head)
        if number >= from_line:
            yield Line(number, head if size <= max_bytes else head[:keep], size)


def _skip_rest(stream: Readable, *, after: bytes) -> int:
    """Read the rest of an over-long line in pieces; its size without the line ending."""
    size, last = 0, after[-1:]
    while rest := stream.readline(_SKIP_BYTES):
        if not rest.endswith(b"\n"):
            size, last = size + len(rest), rest[-1:]
            continue
        size += len(rest) - 1
        if (rest[-2:-1] or last) == b"\r":
            size -= 1
        break
    return size


def over_limit(what: str, size: int, limit: int) -> str:
    """Why something of `size` bytes is refused (a line by `publish`, an event by the consumer)."""
    return f"{what} is {size:,} bytes, over the {limit:,}-byte limit (FOLLOWUP_MAX_EVENT_BYTES)"


def numbered(lines: Iterable[str | bytes]) -> Iterator[Line]:
    """Lines already in memory (the demo, tests), numbered from 1; each may end in a newline."""
    for number, line in enumerate(lines, start=1):
        raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        text = _without_ending(raw)
        yield Line(number, text, len(text))


def _without_ending(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(b"\n") else raw
