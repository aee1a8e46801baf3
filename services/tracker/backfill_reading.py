"""Reading a stretch of a backfill's input file into facts' JSON texts: the part of
`followup backfill` that runs in a helper process, on the other core, while the command applies
the stretch before (docs/contract.md section 6, "Added: backfill").

The helper opens the file itself and is told only where to start, so no line crosses between
the processes on its way in; what comes back is what `reading.read_outcomes` makes of each line
(the fact's JSON text, or why it was refused), the raw bytes only of a line refused. Like
`reading`, it imports only the wire contracts and the rules' Fact, for a quick start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.tracker import reading
from services.tracker.line_reader import over_limit, read_lines

IDENTITY_BYTES = 1 << 20  # a file is known by its size and its first MiB


@dataclass(frozen=True, slots=True)
class Refused:
    """A line not loaded: its number, the field at fault (if one is), why, and its text (a
    prefix only, if it was over the size limit)."""

    line: int
    field: str | None
    reason: str
    raw: bytes


@dataclass(slots=True)
class Stretch:
    """Lines `first`..`last` of the file, ending at byte `end` (where the next stretch starts).
    `texts`: each accepted line's fact as JSON text, with its line number; `unread`: lines
    accepted whose fact could not be made here (made again, and failed or not, by the caller);
    `refused`: the rest, blank lines aside."""

    first: int
    last: int
    end: int
    texts: list[tuple[int, str]] = field(default_factory=list)
    unread: list[tuple[int, bytes]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def file_identity(path: Path) -> tuple[str, int]:
    """The file's key (sha256 of its size and its first MiB) and its size in bytes."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(IDENTITY_BYTES)
    return hashlib.sha256(f"{size}:".encode() + head).hexdigest(), size


def read_stretch(
    path: str,
    *,
    offset: int,
    after_line: int,
    lines: int,
    max_bytes: int,
    ratings: Sequence[str] | None,
) -> Stretch:
    """Up to `lines` lines from byte `offset`, the first of them line `after_line` + 1."""
    with Path(path).open("rb") as handle:
        handle.seek(offset)
        stretch = Stretch(first=after_line + 1, last=after_line, end=offset)
        numbers: list[int] = []
        raws: list[bytes] = []
        for line in read_lines(handle, max_bytes=max_bytes):
            number = after_line + line.number
            stretch.last = number
            if line.over(max_bytes):
                reason = over_limit("line", line.size, max_bytes)
                stretch.refused.append(Refused(number, None, reason, line.text))
            elif text := line.text.strip():
                numbers.append(number)
                raws.append(text)
            if line.number >= lines:
                break
        stretch.end = handle.tell()
    for number, raw, outcome in zip(
        numbers, raws, reading.read_outcomes(raws, ratings), strict=True
    ):
        if isinstance(outcome, str):
            stretch.texts.append((number, outcome))
        elif isinstance(outcome, tuple):
            stretch.refused.append(Refused(number, outcome[0], outcome[1], raw))
        else:
            stretch.unread.append((number, raw))
    return stretch
