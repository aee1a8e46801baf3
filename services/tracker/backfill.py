"""`followup backfill FILE`: a history of contract JSON lines loaded through the consumer's own
transaction code (`handlers.apply_events`), without the stream (docs/contract.md section 6,
"Added: backfill").

Each batch of lines is one transaction: its events, its rejected lines' dead letters and the
file's cursor (`backfill_files`) commit together, so however the command stops, a run again
starts at the first line not committed, and nothing is skipped or doubled. A helper process
reads and validates the next batch (`backfill_reading`) while this one is applied.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from events import Event, EventRejected, parse_event
from schemas.sqlite.checkpoints import WalCheckpointer
from schemas.tables import DeadLetter
from services.rules.model import Fact
from services.tracker import backfill_store, cache, dead_letters, intake
from services.tracker.backfill_reading import Refused, Stretch, file_identity, read_stretch
from services.tracker.backfill_store import Cursor
from services.tracker.decoding import _helper_started
from services.tracker.handlers import apply_events

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("followup.backfill")
ORIGIN = "backfill"  # the dead letters of rejected lines
BATCH = 5000  # lines a transaction: FOLLOWUP_BATCH_SIZE is for the stream's latency
SAMPLE = 100  # rejected lines a report keeps to print; the rest are only counted


@dataclass(slots=True)
class BackfillReport:
    path: str
    size: int
    lines: int = 0  # the input's lines, up to the last committed
    loaded: int = 0  # events recorded and applied by this run
    duplicates: int = 0  # events already recorded (before, or earlier in the file)
    rejected: int = 0  # lines kept as dead letters by this run
    resumed_from: int = 1  # the first line this run read
    already_done: bool = False  # an earlier run loaded the whole file: nothing was read
    live_clock_started: bool = False  # this run recorded the lapse clock's first start
    sample: list[Refused] = field(default_factory=list)  # the first SAMPLE rejections


Progress = Callable[[int, int], None]  # bytes read, events handled (loaded or duplicates)


async def backfill_file(
    *,
    runtime: Runtime,
    path: Path,
    batch: int = BATCH,
    helper: bool = True,
    again: bool = False,
    on_progress: Progress = lambda _bytes, _events: None,
) -> BackfillReport:
    """Load `path` from where its cursor stands (from the top with `again`: everything is
    found loaded already, and rejected lines are kept again)."""
    file_key, size = file_identity(path)
    report = BackfillReport(path=str(path), size=size)
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        cursor = await backfill_store.load_cursor(session=session, file_key=file_key)
        began, first = await backfill_store.go_live_as_history(session=session, now=now)
    report.live_clock_started = first
    if cursor is None or again:
        cursor = Cursor(file_key=file_key, path=str(path), size=size)
    elif cursor.finished_at is not None:
        report.already_done, report.lines = True, cursor.lines_done
        on_progress(size, cursor.loaded + cursor.duplicates)
        return report
    cursor.path = str(path)
    report.resumed_from = cursor.lines_done + 1
    on_progress(cursor.offset, 0)
    handled = cursor.loaded + cursor.duplicates
    # The tracks written stay in memory for the batches after (the command is the one writer
    # on SQLite), within the bound `serve` keeps (docs/contract.md section 11).
    cache.set_budget(runtime.engine, runtime.settings.cache_mb)
    reader = _Reader(runtime, str(path), batch=batch, helper=helper)
    wal = _Wal(runtime)
    pending = reader.read(cursor.offset, cursor.lines_done)
    try:
        while True:
            stretch = await pending
            if stretch.last == cursor.lines_done:  # the end of the file
                break
            pending = reader.read(stretch.end, stretch.last)
            done = await _apply(runtime, stretch, cursor, report)
            wal.after_commit()
            on_progress(stretch.end - cursor.offset, done.loaded + done.duplicates - handled)
            cursor, handled = done, done.loaded + done.duplicates
        async with runtime.sessions() as session, session.begin():
            cursor.finished_at = runtime.now()
            await backfill_store.save_cursor(session=session, cursor=cursor, now=runtime.now())
            if first:
                await backfill_store.move_go_live(session=session, began=began, now=runtime.now())
    finally:
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        reader.close()
        await wal.close()
    report.lines = cursor.lines_done
    return report


async def _apply(
    runtime: Runtime, stretch: Stretch, cursor: Cursor, report: BackfillReport
) -> Cursor:
    """One transaction: the stretch's events, its rejected lines and the cursor past it,
    which is returned once committed."""
    facts, texts, events, refused = _facts_of(stretch, runtime)
    letters = [_letter(r) for r in refused]
    now = runtime.now()
    async with runtime.sessions() as session:
        async with session.begin():
            outcome = await apply_events(
                session=session,
                events=events,
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=runtime.today(),
                now=now,
                prepared=facts,
                texts=texts,
            )
            await dead_letters.add_dead_letters(session=session, letters=letters, now=now)
            after = replace(
                cursor,
                lines_done=stretch.last,
                offset=stretch.end,
                loaded=cursor.loaded + outcome.received,
                duplicates=cursor.duplicates + outcome.duplicates,
                rejected=cursor.rejected + len(letters),
            )
            await backfill_store.save_cursor(session=session, cursor=after, now=now)
        cache.committed(session)
    report.loaded += outcome.received
    report.duplicates += outcome.duplicates
    report.rejected += len(letters)
    report.sample += refused[: SAMPLE - len(report.sample)]
    return after


def _facts_of(
    stretch: Stretch, runtime: Runtime
) -> tuple[list[Fact], dict[cache.FactKey, str], list[Event], list[Refused]]:
    """The stretch's facts, read back from their texts in one json.loads (as
    `intake.assemble` does); a line whose fact the helper could not make is read again here:
    accepted, its event goes to `apply_events` to be made there."""
    facts: list[Fact] = []
    texts: dict[cache.FactKey, str] = {}
    joined = json.loads(f"[{','.join(text for _, text in stretch.texts)}]")
    for (_, text), raw in zip(stretch.texts, joined, strict=True):
        fact = Fact.from_json(raw)
        facts.append(fact)
        texts.setdefault((fact.source, fact.id), text)
    events: list[Event] = []
    refused = list(stretch.refused)
    for number, raw_line in stretch.unread:
        try:
            event = parse_event(raw_line, plain=False, ratings=runtime.settings.ratings)
        except EventRejected as rejected:
            refused.append(Refused(number, rejected.field, rejected.reason, raw_line))
            continue
        if (made := intake.prepare(event, texts)) is not None:
            facts.append(made)
        else:
            events.append(event)
    refused.sort(key=lambda r: r.line)
    return facts, texts, events, refused


def _letter(refused: Refused) -> DeadLetter:
    return DeadLetter(
        origin=ORIGIN,
        line=refused.line,
        field=refused.field,
        reason=refused.reason,
        raw=intake.storable(refused.raw),
    )


class _Wal:
    """SQLite's write-ahead log copied back beside the batches, as `serve` does, when this
    process is the database's sole writer (its commits then leave the log alone)."""

    def __init__(self, runtime: Runtime) -> None:
        database = runtime.engine.url.database or ""
        self._checkpointer = WalCheckpointer(database) if runtime.sole_writer else None
        self._step: asyncio.Task[object] | None = None

    def after_commit(self) -> None:
        if self._checkpointer is not None and (self._step is None or self._step.done()):
            self._step = asyncio.create_task(self._checkpointer.step())

    async def close(self) -> None:
        if self._checkpointer is None:
            return
        if self._step is not None:
            await asyncio.gather(self._step, return_exceptions=True)
        await self._checkpointer.step()
        await self._checkpointer.close()


class _Reader:
    """Reads stretches in a helper process (or here, without one: `helper` False)."""

    def __init__(self, runtime: Runtime, path: str, *, batch: int, helper: bool) -> None:
        settings = runtime.settings
        self._read = partial(
            read_stretch,
            path,
            lines=batch,
            max_bytes=settings.max_event_bytes,
            ratings=list(settings.ratings) if settings.ratings is not None else None,
        )
        self._pool = (
            ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_helper_started,
            )
            if helper
            else None
        )

    def read(self, offset: int, after_line: int) -> asyncio.Task[Stretch]:
        """The stretch from `offset`, read while the caller goes on."""
        return asyncio.ensure_future(self._read_stretch(offset, after_line))

    async def _read_stretch(self, offset: int, after_line: int) -> Stretch:
        if self._pool is not None:
            try:
                future = self._pool.submit(self._read, offset=offset, after_line=after_line)
                return await asyncio.wrap_future(future)
            except Exception as error:  # the helper died or could not start: read here
                log.warning(
                    "backfill's reading helper failed; lines are read in this process",
                    extra={"error": f"{type(error).__name__}: {error}"},
                )
                self.close()
        return self._read(offset=offset, after_line=after_line)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
