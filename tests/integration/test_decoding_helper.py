"""The decoding helper process `serve` reads events in: the same batches as decoding on the
event loop, a helper that dies replaced without losing the batch, and no helper outliving a
`serve` killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from bench.mix import mix_lines
from services.platform.broker.streams import ENTRY_FIELD
from services.tracker.decoding import Decoder
from services.tracker.intake import Decoded, decode_entries

pytestmark = pytest.mark.integration

RATINGS = ["achieved", "not-achieved"]


def entries() -> list[tuple[bytes, Mapping[bytes, bytes]]]:
    lines = mix_lines(300, seed=5)
    first = json.loads(lines[0])
    twin = json.dumps({**first, "data": {**first["data"], "court": "Another Court"}})
    rating = json.dumps(
        {
            "specversion": "1.0", "id": "r-1", "source": "/hmcpsi", "type": "follow-up-assessed",
            "time": "2026-01-06T10:00:00+00:00",
            "data": {"inspection_id": "I-1", "recommendation_id": "R-1", "rating": "excellent",
                     "assessed_by": "HMCPSI", "assessed_date": "2026-01-06"},
        }
    )  # fmt: skip
    odd: list[dict[bytes, bytes]] = [
        {ENTRY_FIELD: b"\xff\xfe not json"},
        {b"something": b"else"},
        {ENTRY_FIELD: b'{"specversion": "1.0"}'},
        {ENTRY_FIELD: twin.encode()},  # same source and id as the first, other content
        {ENTRY_FIELD: rating.encode()},  # a rating the setting does not accept
        {ENTRY_FIELD: b'{"id": "\\u0000"}'},
    ]
    fields = [{ENTRY_FIELD: line.encode()} for line in lines]
    fields[100:100] = odd
    return [(f"{n}-0".encode(), f) for n, f in enumerate(fields, 1)]


def same(a: Decoded, b: Decoded) -> None:
    assert a.facts == b.facts
    assert a.texts == b.texts
    assert a.unprepared == b.unprepared
    assert [(d.stream_entry_id, d.field, d.reason, d.raw) for d in a.dead] == [
        (d.stream_entry_id, d.field, d.reason, d.raw) for d in b.dead
    ]


async def test_the_helper_decodes_as_the_event_loop_does() -> None:
    batch = entries()
    decoder = Decoder(ratings=RATINGS, helper=True)
    try:
        await decoder.start()
        assert decoder.helper_pid not in (None, os.getpid())
        decoded = await decoder.decode(batch)
    finally:
        decoder.close()
    expected = decode_entries(batch, ratings=RATINGS)
    same(decoded, expected)
    assert len(decoded.facts) + len(decoded.dead) == len(batch)
    odd = {f"{n}-0" for n in (101, 102, 103, 105, 106)}
    assert odd <= {d.stream_entry_id for d in decoded.dead}
    # "excellent", and the mix's "partially-achieved": the ratings setting reached the helper
    assert sum("configured ratings" in d.reason for d in decoded.dead) == 2
    key = (decoded.facts[0].source, decoded.facts[0].id)
    assert "Another Court" not in decoded.texts[key]  # the first content of a key stands
    on_the_loop = Decoder(ratings=RATINGS, helper=False)
    same(await on_the_loop.decode(batch), expected)


async def test_a_helper_that_dies_is_replaced_and_its_batch_decoded_here() -> None:
    batch = entries()
    expected = decode_entries(batch, ratings=RATINGS)
    decoder = Decoder(ratings=RATINGS, helper=True, restart_after=0.5)
    try:
        await decoder.start()
        first = decoder.helper_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        same(await decoder.decode(batch), expected)  # decoded here: the helper is gone
        same(await decoder.decode(batch), expected)  # here again, within `restart_after`
        assert decoder.helper_pid is None
        await asyncio.sleep(0.5)
        same(await decoder.decode(batch), expected)  # by a new helper
        assert decoder.helper_pid not in (None, first)
    finally:
        decoder.close()


CHILD = """
import asyncio, sys
from services.tracker.decoding import Decoder

async def main():
    decoder = Decoder(ratings=None, helper=True)
    await decoder.start()
    print(decoder.helper_pid, flush=True)
    await asyncio.sleep(600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_the_helper_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(CHILD)
    root = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
    )
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        assert alive(helper)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(helper):
            assert time.monotonic() < deadline, "the helper outlived its killed parent"
            time.sleep(0.1)
    finally:
        parent.kill()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
