"""`followup backfill` (docs/contract.md section 6, "Added: backfill") on SQLite and PostgreSQL:
the same state as the stream would give, resumable after a stop with nothing lost or doubled,
idempotent, rejected lines kept, and the lapse clock going live with the history as history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from schemas.tables import Alarm, AuditEntry, DeadLetter, LapseClockState, ReceivedEvent
from services.alerts.service import AlertService
from services.platform.runtime import Runtime, open_runtime
from services.tracker import backfill as backfill_module
from services.tracker.backfill import backfill_file
from services.tracker.queries import list_obligations
from tests.factories import event
from tests.integration.alerting import SimClock, london
from tests.integration.conftest import settings_for
from tests.integration.test_going_live import history

pytestmark = pytest.mark.integration
TODAY = date(2024, 1, 15)
NOW = london("2024-01-15 09:00")


def casework(cases: int) -> list[dict[str, Any]]:
    """Victim letters over `cases` cases, half of them sent (some late), with the staff."""
    found = history()[:5]
    letter = {"decision": "no-charge", "enhanced": False}
    for n in range(cases):
        urn = f"C{n:04d}"
        t = f"2024-01-0{2 + n % 3}T09:00:00+00:00"
        found.append(event("case-registered", t, urn=urn, area="w", unit="crown", owner="P1"))
        found.append(
            event(
                "victim-letter-due", t, urn=urn, victim_id="V1",
                decision_date=t[:10], **letter,
            )
        )  # fmt: skip
        if n % 2:
            sent = f"2024-01-{5 + n % 7:02d}"
            found.append(
                event("victim-letter-sent", f"{sent}T12:00:00+00:00", urn=urn, victim_id="V1",
                      sent_date=sent)
            )  # fmt: skip
    return found


def write_lines(path: Path, events: list[dict[str, Any]], *, bad: dict[int, str]) -> Path:
    """The events as JSON lines, with `bad` lines put in at their (1-based) line numbers."""
    lines = [json.dumps(e) for e in events]
    for number in sorted(bad):
        lines.insert(number - 1, bad[number])
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@asynccontextmanager
async def runtime_on(
    tmp_path: Path, url: str, redis_url: str = "redis://unused", namespace: str = "t", **more: Any
) -> AsyncIterator[Runtime]:
    settings = settings_for(tmp_path, url, redis_url, namespace, **more)
    async with open_runtime(settings, today=lambda: TODAY, now=lambda: NOW) as runtime:
        yield runtime


async def state(runtime: Runtime) -> dict[str, Any]:
    """What the database holds that a load decides: obligations, events, audit, dead letters."""
    async with runtime.sessions() as session:
        rows = await list_obligations(session=session, today=TODAY)
        counts = {
            table.__tablename__: await session.scalar(select(func.count()).select_from(table))  # type: ignore[attr-defined]
            for table in (ReceivedEvent, AuditEntry, DeadLetter)
        }
    obligations = {r["id"]: (r["due"], r["state"], r["closed_on"], r["owner"]) for r in rows}
    return {"obligations": obligations, **counts}


BAD = {
    3: "{not json",
    70: json.dumps({**event("victim-letter-sent", "2024-01-05T12:00:00+00:00"), "data": {}}),
}


async def test_a_backfill_loads_what_the_stream_would_and_keeps_the_rejected_lines(
    tmp_path: Path, database_url: str
) -> None:
    path = write_lines(tmp_path / "h.jsonl", casework(40), bad=BAD)
    async with runtime_on(tmp_path, database_url) as runtime:
        report = await backfill_file(runtime=runtime, path=path, batch=16, helper=False)
        assert (report.loaded, report.rejected, report.duplicates) == (len(casework(40)), 2, 0)
        assert [r.line for r in report.sample] == [3, 70]
        assert "JSON" in report.sample[0].reason
        assert report.sample[1].field is not None  # names what is missing from its data
        found = await state(runtime)
        async with runtime.sessions() as session:
            letters = (await session.execute(select(DeadLetter))).scalars().all()
    assert sorted((d.origin, d.line) for d in letters) == [("backfill", 3), ("backfill", 70)]
    assert found["obligations"]["victim-letter/C0000/V1"][1] == "lapsed"
    assert found["obligations"]["victim-letter/C0001/V1"][1] in ("met", "met-late")
    assert len(found["obligations"]) == 40


async def test_run_twice_the_second_finds_it_loaded_and_again_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    path = write_lines(tmp_path / "h.jsonl", casework(30), bad={})
    async with runtime_on(tmp_path, database_url) as runtime:
        await backfill_file(runtime=runtime, path=path, batch=20, helper=False)
        first = await state(runtime)
        second = await backfill_file(runtime=runtime, path=path, batch=20, helper=False)
        assert second.already_done and second.loaded == 0
        again = await backfill_file(runtime=runtime, path=path, batch=7, helper=False, again=True)
        assert (again.loaded, again.duplicates) == (0, len(casework(30)))
        assert await state(runtime) == first


async def test_a_backfill_stopped_mid_file_goes_on_from_the_first_line_not_committed(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop inside the third batch's transaction (a crash, Ctrl-C, kill -9: its transaction
    never commits); the run again neither skips nor doubles a line: the end state is a clean
    run's, on a database of its own."""
    path = write_lines(tmp_path / "h.jsonl", casework(40), bad=BAD)
    applied = backfill_module.apply_events
    calls = [0]

    async def failing(**kwargs: Any) -> Any:
        calls[0] += 1
        outcome = await applied(**kwargs)  # written, then the transaction is abandoned
        if calls[0] == 3:
            raise KeyboardInterrupt
        return outcome

    async with runtime_on(tmp_path, database_url) as runtime:
        monkeypatch.setattr(backfill_module, "apply_events", failing)
        with pytest.raises(KeyboardInterrupt):
            await backfill_file(runtime=runtime, path=path, batch=25, helper=False)
        monkeypatch.setattr(backfill_module, "apply_events", applied)
        async with runtime.sessions() as session:
            recorded = await session.scalar(select(func.count()).select_from(ReceivedEvent))
        assert recorded == 50 - 1  # two batches of 25 lines, line 3 rejected
        resumed = await backfill_file(runtime=runtime, path=path, batch=25, helper=False)
        assert resumed.resumed_from == 51
        assert resumed.duplicates == 0 and resumed.rejected == 1  # line 70 only: once
        stopped_then_resumed = await state(runtime)
    clean = tmp_path / "clean"
    clean.mkdir()
    async with runtime_on(clean, f"sqlite:///{clean}/followup.db") as runtime:
        # The same batches: an obligation opened in one batch and met in the next has two
        # entries in its history, one opened met in one batch has one.
        await backfill_file(runtime=runtime, path=path, batch=25, helper=False)
        assert await state(runtime) == stopped_then_resumed


async def test_the_helper_process_reads_the_lines_to_the_same_end(
    tmp_path: Path, database_url: str
) -> None:
    path = write_lines(tmp_path / "h.jsonl", casework(30), bad=BAD)
    async with runtime_on(tmp_path, database_url) as runtime:
        report = await backfill_file(runtime=runtime, path=path, batch=10, helper=True)
        assert (report.loaded, report.rejected) == (len(casework(30)), 2)
        assert len((await state(runtime))["obligations"]) == 30


async def test_after_a_backfill_the_clock_goes_live_with_the_history_as_history(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    """The history of test_going_live, whose lapse the clock's first start raises with
    FOLLOWUP_GOING_LIVE=alert when the events came by the stream: loaded by backfill, the
    backfill records the go-live, and the clock raises nothing for what fell due before it."""
    path = write_lines(tmp_path / "h.jsonl", history(), bad={})
    async with runtime_on(
        tmp_path, database_url, redis_server, namespace, going_live="alert"
    ) as runtime:
        report = await backfill_file(runtime=runtime, path=path, helper=False)
        assert report.live_clock_started
        async with runtime.sessions() as session:
            clock = await session.get(LapseClockState, "lapse")
        assert clock is not None and clock.started_at == NOW
        redis = Redis.from_url(redis_server)
        try:
            await AlertService(runtime, redis, now=SimClock(london("2024-01-15 10:00:01"))).step()
        finally:
            await redis.aclose()
        async with runtime.sessions() as session:
            assert (await session.execute(select(Alarm))).all() == []
        # A second backfill leaves the clock's start alone.
        again = await backfill_file(runtime=runtime, path=path, helper=False, again=True)
        assert not again.live_clock_started
