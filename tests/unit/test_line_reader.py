"""`followup publish` reads bytes, line by line, each bounded: one bad line never costs another."""

from __future__ import annotations

import io
import json

from schemas.tables import DeadLetter
from services.tracker.line_reader import PREFIX_BYTES, Line, numbered, read_lines
from services.tracker.publishing import validate_lines
from tests.factories import letter_due

LIMIT = 4096


def good(victim: str) -> bytes:
    return json.dumps({**letter_due("2018-02-01", victim_id=victim), "id": victim}).encode()


def read(data: bytes, *, from_line: int = 1, limit: int = LIMIT) -> list[Line]:
    return list(read_lines(io.BytesIO(data), max_bytes=limit, from_line=from_line))


def outcomes(data: bytes, *, from_line: int = 1) -> list[tuple[int, str]]:
    """(line, "ok" or the reason) for each non-blank line."""
    lines = read_lines(io.BytesIO(data), max_bytes=LIMIT, from_line=from_line)
    return [
        (line.number, outcome.reason if isinstance(outcome, DeadLetter) else "ok")
        for line, outcome in validate_lines(lines, max_bytes=LIMIT)
    ]


def test_invalid_utf8_on_one_line_is_that_line_rejected_and_the_others_read() -> None:
    data = good("V1") + b"\n" + b'{"id": "caf\xe9"}\n' + good("V2") + b"\n"
    assert outcomes(data) == [
        (1, "ok"),
        (2, "not valid UTF-8 (invalid continuation byte at byte 11)"),
        (3, "ok"),
    ]


def test_the_dead_letter_keeps_the_line_with_its_bad_bytes_replaced() -> None:
    [(_, dead)] = validate_lines(numbered([b'{"id": "caf\xe9"}']), max_bytes=LIMIT)
    assert isinstance(dead, DeadLetter)
    assert (dead.origin, dead.line, dead.raw) == ("publish", 1, '{"id": "caf\ufffd"}')


def test_a_byte_order_mark_opening_the_input_is_dropped() -> None:
    assert outcomes(b"\xef\xbb\xbf" + good("V1") + b"\r\n" + good("V2")) == [(1, "ok"), (2, "ok")]


def test_a_byte_order_mark_opening_a_later_line_is_skipped_and_inside_one_named() -> None:
    # parse_event skips one opening an event (docs/contract.md, section 1, strict wire types)
    assert outcomes(good("V1") + b"\n\xef\xbb\xbf" + good("V2")) == [(1, "ok"), (2, "ok")]
    [(number, reason)] = outcomes(b'{"a": \xef\xbb\xbf1}')
    assert number == 1 and reason.startswith("not valid JSON")


def test_line_endings_and_blank_lines() -> None:
    assert [(line.number, line.text) for line in read(b"a\r\n\nb\n  \nc")] == [
        (1, b"a"),
        (2, b""),
        (3, b"b"),
        (4, b"  "),
        (5, b"c"),
    ]
    assert outcomes(good("V1") + b"\n\n   \n" + good("V2")) == [(1, "ok"), (4, "ok")]


def test_an_over_long_line_is_refused_with_its_size_and_a_bounded_prefix() -> None:
    huge = b'{"id": "' + b"x" * 200_000 + b'"}'
    data = good("V1") + b"\n" + huge + b"\r\n" + good("V2") + b"\n"
    lines = read(data)
    assert [(line.number, line.size) for line in lines] == [
        (1, len(good("V1"))),
        (2, len(huge)),
        (3, len(good("V2"))),
    ]
    assert lines[1].text == huge[:LIMIT]  # at most the limit
    [line] = read(huge, limit=100_000)
    assert (line.size, line.text) == (len(huge), huge[:PREFIX_BYTES])  # at most the prefix
    assert outcomes(data) == [
        (1, "ok"),
        (2, f"line is {len(huge):,} bytes, over the 4,096-byte limit (FOLLOWUP_MAX_EVENT_BYTES)"),
        (3, "ok"),
    ]


class Counting(io.BytesIO):
    """Records the largest piece any one read returned."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        piece = super().readline(size)
        self.largest = max(self.largest, len(piece))
        return piece


def test_an_over_long_line_is_never_read_whole() -> None:
    stream = Counting(b"x" * 5_000_000 + b"\n" + good("V1"))
    lines = list(read_lines(stream, max_bytes=LIMIT))
    assert [(line.number, line.size) for line in lines] == [(1, 5_000_000), (2, len(good("V1")))]
    assert stream.largest <= 1 << 20


def test_sizes_at_the_limit_whatever_the_line_ending() -> None:
    at = b"x" * LIMIT
    for ending in (b"\n", b"\r\n", b""):
        [line] = read(at + ending)
        assert (line.size, line.over(LIMIT)) == (LIMIT, False), ending
        [line] = read(at + b"y" + ending)
        assert (line.size, line.over(LIMIT)) == (LIMIT + 1, True), ending
        [line] = read(at + b"yz0123" + ending)
        assert line.size == LIMIT + 6, ending
    for ending in (b"\n", b"\r\n"):
        [line, after] = read(at + b"yz" + ending + b"next")
        assert (line.size, after.text) == (LIMIT + 2, b"next"), ending
        [line, after] = read(at + b"yz0123" + ending + b"next")
        assert (line.size, after.text) == (LIMIT + 6, b"next"), ending
    # "\r" as the last byte of the first piece read and "\n" as the first of the next
    [line, after] = read(b"x" * (LIMIT + 1) + b"\r\nnext")
    assert (line.size, after.text) == (LIMIT + 1, b"next")


def test_from_line_skips_what_is_before_and_keeps_the_numbers_of_the_input() -> None:
    data = b"\xef\xbb\xbfone\n" + b"x" * 10_000 + b"\nthree\nfour"
    assert [(line.number, line.text) for line in read(data, from_line=3)] == [
        (3, b"three"),
        (4, b"four"),
    ]
    assert read(data, from_line=9) == []
    assert [line.number for line in read(data, from_line=1)] == [1, 2, 3, 4]
