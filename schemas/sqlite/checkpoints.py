"""SQLite's write-ahead log copied back into the database file in the background, for `serve`.

By default the commit that takes the WAL past 1,000 pages copies them back itself (an automatic
checkpoint): one batch in two or three paid 11 to 25 ms for it, inside the consumer's wait, and
more as the database grew. `serve` turns that off on its own connections
(`schemas.db.create_engine(..., sole_writer=True)`) and this does the copying from a
connection of its own, whose thread runs beside the consumer's: PASSIVE every few seconds,
which waits for no one; and RESTART once the WAL holds more than `restart_pages`, which waits
for the writer's transaction to end and holds the next one back while it finishes, so that the
WAL starts again from its beginning rather than growing for as long as writes never pause.
Processes other than `serve` keep the automatic checkpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiosqlite

log = logging.getLogger("followup.checkpoints")

RESTART_PAGES = 16_384  # 64 MiB of WAL at SQLite's 4 KiB pages


@dataclass(frozen=True, slots=True)
class Checkpoint:
    mode: str
    busy: bool  # could not finish: a reader or writer was in the way (PASSIVE gives up)
    wal_pages: int  # in the WAL when it began
    copied: int  # of those, now in the database file


class WalCheckpointer:
    def __init__(self, path: str, *, restart_pages: int = RESTART_PAGES) -> None:
        self.path, self.restart_pages = path, restart_pages
        self._db: aiosqlite.Connection | None = None

    async def step(self) -> Checkpoint:
        if self._db is None:
            self._db = await aiosqlite.connect(self.path)
            await self._db.execute("PRAGMA busy_timeout=30000")
        done = await self._checkpoint("PASSIVE")
        if done.wal_pages > self.restart_pages:
            done = await self._checkpoint("RESTART")
            log.info("write-ahead log restarted", extra={"pages": done.wal_pages})
        return done

    async def _checkpoint(self, mode: str) -> Checkpoint:
        assert self._db is not None
        cursor = await self._db.execute(f"PRAGMA wal_checkpoint({mode})")
        row = await cursor.fetchone()
        await cursor.close()
        busy, pages, copied = row if row else (1, 0, 0)
        return Checkpoint(mode, bool(busy), int(pages), int(copied))

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
