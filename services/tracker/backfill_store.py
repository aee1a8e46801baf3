"""Data access for `followup backfill`: its cursor per input file, and going live as history
(docs/contract.md section 6, "Added: backfill")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from schemas import bulk
from schemas.tables import BackfillFile, LapseClockState
from services.alerts.clock import store as clock_store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

_COLUMNS = (
    "file_key, path, size, lines_done, byte_offset, loaded, duplicates, rejected, started_at, "
    "finished_at"
)


@dataclass(slots=True)
class Cursor:
    """Where a file's backfill stands: every line up to `lines_done` (ending at byte `offset`)
    is loaded, found loaded already, or kept as a dead letter."""

    file_key: str
    path: str
    size: int
    lines_done: int = 0
    offset: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


async def load_cursor(*, session: AsyncSession, file_key: str) -> Cursor | None:
    query = f"SELECT {_COLUMNS} FROM backfill_files"
    rows = await bulk.select_where(session, query, bulk.In("file_key", [file_key]))
    if not rows:
        return None
    key, path, size, lines, offset, loaded, duplicates, rejected, started, finished = rows[0]
    return Cursor(
        key,
        path,
        size,
        lines,
        offset,
        loaded,
        duplicates,
        rejected,
        bulk.timestamp(started),
        bulk.timestamp(finished) if finished is not None else None,
    )


async def save_cursor(*, session: AsyncSession, cursor: Cursor, now: datetime) -> None:
    """In the caller's transaction: the batch it commits with is the one the cursor names."""
    row = {
        "file_key": cursor.file_key,
        "path": cursor.path,
        "size": cursor.size,
        "lines_done": cursor.lines_done,
        "byte_offset": cursor.offset,
        "loaded": cursor.loaded,
        "duplicates": cursor.duplicates,
        "rejected": cursor.rejected,
        "started_at": cursor.started_at or now,
        "updated_at": now,
        "finished_at": cursor.finished_at,
    }
    await bulk.write(
        session, BackfillFile, [row], key=("file_key",), on_conflict="replace", keep=("started_at",)
    )


async def go_live_as_history(*, session: AsyncSession, now: datetime) -> tuple[datetime, bool]:
    """docs/contract.md section 6, "Added: backfill": unless the lapse clock has started, record
    its first start now, so that what fell due before it is history (as with
    FOLLOWUP_GOING_LIVE=history). The clock's first start, and whether it is this one."""
    first = not await clock_store.started(session=session)
    state = await clock_store.load_state(session=session, now=now, scanned_to=now)
    return state.started_at, first


async def move_go_live(*, session: AsyncSession, began: datetime, now: datetime) -> bool:
    """The backfill is over: if the clock's start is still the one `go_live_as_history` wrote
    (no clock has ticked since), move it to now, so the clock's first tick need not look
    through every obligation the backfill wrote. False if a clock has ticked."""
    state = await session.get(LapseClockState, clock_store.CLOCK)
    if state is None or not state.started_at == state.cursor == state.scanned_to == began:
        return False
    state.started_at = state.cursor = state.scanned_to = state.updated_at = now
    await session.flush()
    return True
