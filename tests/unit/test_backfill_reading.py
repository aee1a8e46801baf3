"""Reading a backfill's file a stretch at a time (services/tracker/backfill_reading.py): line
numbers stay the file's, each stretch starts at the byte the one before ended, and every
non-blank line is accepted or refused with its reason, whatever the stretch size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.tracker.backfill_reading import Stretch, file_identity, read_stretch
from tests.factories import letter_due

LIMIT = 2000


def good(n: int) -> str:
    return json.dumps({**letter_due("2018-02-01", victim_id=f"V{n}"), "id": f"line-{n}"})


@pytest.fixture
def history(tmp_path: Path) -> Path:
    lines = [good(1), "", good(3), "{broken", "x" * (LIMIT + 10), good(6), "   ", good(8)]
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\n")
    return path


def read_all(path: Path, lines: int) -> list[Stretch]:
    stretches, offset, after = [], 0, 0
    while True:
        stretch = read_stretch(
            str(path), offset=offset, after_line=after, lines=lines, max_bytes=LIMIT, ratings=None
        )
        if stretch.last == after:
            return stretches
        stretches.append(stretch)
        offset, after = stretch.end, stretch.last


@pytest.mark.parametrize("lines", [1, 3, 100])
def test_every_line_once_with_the_files_numbers(history: Path, lines: int) -> None:
    stretches = read_all(history, lines)
    accepted = [n for s in stretches for n, _ in s.texts]
    refused = {r.line: r for s in stretches for r in s.refused}
    assert accepted == [1, 3, 6, 8]
    assert sorted(refused) == [4, 5]
    assert refused[5].reason.startswith(f"line is {LIMIT + 10:,} bytes, over the")
    assert len(refused[5].raw) <= LIMIT
    assert refused[4].raw == b"{broken"
    assert stretches[-1].last == 8 and stretches[-1].end == history.stat().st_size
    assert [s.first for s in stretches] == [1, *(s.last + 1 for s in stretches[:-1])]
    fact = json.loads(stretches[0].texts[0][1])
    assert (fact["id"], fact["type"]) == ("line-1", "victim-letter-due")


def test_a_file_is_known_by_its_size_and_first_block(tmp_path: Path) -> None:
    first, moved, edited = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.write_text(good(1) + "\n")
    moved.write_text(good(1) + "\n")
    edited.write_text(good(2) + "\n")
    assert file_identity(first) == file_identity(moved)
    assert file_identity(first)[0] != file_identity(edited)[0]
    assert file_identity(first)[1] == first.stat().st_size
