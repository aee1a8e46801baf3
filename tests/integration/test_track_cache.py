"""A consumer keeps the tracks it wrote in memory (services/tracker/cache.py): it must read a
track back whenever the database holds another write of it (another worker's, or none of its
own because a transaction rolled back), and never lose or invent a fact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from events import parse_event
from schemas.tables import LinkedFacts, Obligation, Track
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker import cache
from services.tracker.handlers import apply_entries, apply_events
from tests.factories import URN, hearing, sheet

pytestmark = pytest.mark.integration

TRACK = ("hearing-record-sheet", "43TC0000117/H1")
OBLIGATION = "hearing-record-sheet/43TC0000117/H1"
LINK = ("case-review", URN)  # a case's hearings, which its case reviews read


@asynccontextmanager
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=database_url)  # type: ignore[call-arg]
    async with open_runtime(settings) as opened:
        yield opened


async def apply(runtime: Runtime, *events: Mapping[str, Any]) -> None:
    entries = [
        (f"{n}-0".encode(), {ENTRY_FIELD: json.dumps(e).encode()}) for n, e in enumerate(events, 1)
    ]
    await apply_entries(
        sessions=runtime.sessions,
        entries=entries,
        rules=runtime.rules,
        calendar=runtime.calendar,
        today=runtime.today(),
        now=runtime.now(),
    )


async def stored(runtime: Runtime) -> tuple[list[str], str]:
    """The track's fact ids as stored, and its obligation's state."""
    async with runtime.sessions() as session:
        track = (await session.execute(select(Track).where(Track.key == TRACK[1]))).scalar_one()
        obligation = await session.get(Obligation, OBLIGATION)
    assert obligation is not None
    return sorted(f["id"] for f in track.facts), obligation.state


async def test_a_track_another_worker_wrote_is_read_back(tmp_path: Path, database_url: str) -> None:
    # Two runtimes are two engines, each with its own cache, as two worker processes are.
    async with runtime(tmp_path, database_url) as first, runtime(tmp_path, database_url) as second:
        await apply(first, hearing("held", "2018-01-08", time="2018-01-08T17:00:00+00:00", id_="h"))
        assert ("t", *TRACK) in cache.cache_of(first.sessions()).tracks
        uploaded = sheet("2018-01-09")
        again = hearing("held", "2018-01-08", time="2018-01-08T18:00:00+00:00", id_="h2")
        await apply(second, uploaded, again)
        # The first worker's copy is now stale: it must see the sheet the second one stored.
        await apply(
            first, hearing("held", "2018-01-08", time="2018-01-08T19:00:00+00:00", id_="h3")
        )
        ids, state = await stored(first)
    assert ids == sorted(["h", "h2", "h3", uploaded["id"]])
    assert state == "met"


async def test_a_rolled_back_write_is_not_remembered(tmp_path: Path, database_url: str) -> None:
    async with runtime(tmp_path, database_url) as opened:
        await apply(
            opened, hearing("held", "2018-01-08", time="2018-01-08T17:00:00+00:00", id_="h")
        )
        uploaded = parse_event(json.dumps(sheet("2018-01-09")), plain=False)
        with pytest.raises(RuntimeError, match="rolled back"):
            async with opened.sessions() as session, session.begin():
                await apply_events(
                    session=session,
                    events=[uploaded],
                    rules=opened.rules,
                    calendar=opened.calendar,
                    today=opened.today(),
                    now=opened.now(),
                )
                raise RuntimeError("rolled back")
        # The sheet never committed: the next batch must not find it in the track, and the
        # obligation stays open until the sheet is applied for real.
        await apply(
            opened, hearing("held", "2018-01-08", time="2018-01-08T19:00:00+00:00", id_="h3")
        )
        assert await stored(opened) == (["h", "h3"], "open")
        await apply(opened, sheet("2018-01-09"))
        ids, state = await stored(opened)
    assert len(ids) == 3 and state == "met"


async def linked_ids(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        row = await session.get(LinkedFacts, LINK)
    assert row is not None
    return sorted(f["id"] for f in row.facts)


async def test_linked_facts_another_worker_wrote_are_read_back(
    tmp_path: Path, database_url: str
) -> None:
    async with runtime(tmp_path, database_url) as first, runtime(tmp_path, database_url) as second:
        await apply(first, hearing("held", "2018-01-08", time="2018-01-08T17:00:00+00:00", id_="h"))
        assert ("l", *LINK) in cache.cache_of(first.sessions()).tracks
        await apply(
            second, hearing("held", "2018-01-08", time="2018-01-08T18:00:00+00:00", id_="h2")
        )
        # The first worker's copy of the link is stale: its next write must keep h2.
        await apply(
            first, hearing("held", "2018-01-08", time="2018-01-08T19:00:00+00:00", id_="h3")
        )
        assert await linked_ids(first) == ["h", "h2", "h3"]


async def test_rolled_back_linked_facts_are_not_remembered(
    tmp_path: Path, database_url: str
) -> None:
    async with runtime(tmp_path, database_url) as opened:
        await apply(
            opened, hearing("held", "2018-01-08", time="2018-01-08T17:00:00+00:00", id_="h")
        )
        again = parse_event(
            json.dumps(hearing("held", "2018-01-08", time="2018-01-08T18:00:00+00:00", id_="h2")),
            plain=False,
        )
        with pytest.raises(RuntimeError, match="rolled back"):
            async with opened.sessions() as session, session.begin():
                await apply_events(
                    session=session,
                    events=[again],
                    rules=opened.rules,
                    calendar=opened.calendar,
                    today=opened.today(),
                    now=opened.now(),
                )
                raise RuntimeError("rolled back")
        await apply(
            opened, hearing("held", "2018-01-08", time="2018-01-08T19:00:00+00:00", id_="h3")
        )
        assert await linked_ids(opened) == ["h", "h3"]
