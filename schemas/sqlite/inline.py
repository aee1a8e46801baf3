"""An aiosqlite connection that runs each call on the event loop's own thread.

aiosqlite hands every call (cursor, execute, fetch, close, commit) to a thread of its own and
back. In `followup serve` the consumer spent most of a batch waiting on SQLite's thread, and
for much of that wait neither thread was working: the hand-over each way, and the
GIL, which the thread needs again after every SQLite step and waits for while the loop runs
Python, cost more than the statements. The loop and that thread never worked at once (the
process used one core, the two threads' shares adding up to it), so nothing is lost by doing
the work on the loop's thread, and the hand-overs go.

SQLAlchemy's aiosqlite dialect is kept (its types, pool and error translation); only the
connection it drives is this one, made by `create_engine` through `async_creator`. A call now
holds the event loop for as long as SQLite takes: a statement, or a commit (the write-ahead
log is copied back by schemas.sqlite.checkpoints on a threaded connection of its own, or by a
commit past 1,000 pages). Waiting for another process's write lock also holds it, up to the
busy timeout; `serve` is the one writer of its database, so that wait is for a CLI command's
short write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite

# Prepared statements the connection keeps (Python's default is 128). Most of what `serve`
# sends are bulk INSERTs whose text changes with the number of rows (schemas.bulk), each
# prepared for thousands of variables: 128 of them held tens of MiB for statements seldom
# run twice (docs/contract.md, "Memory of `serve`"). A fixed statement pushed out is prepared
# again, which costs far less than its batch.
CACHED_STATEMENTS = 16


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's Connection (and so its Cursor) with `_execute`, through which every call
    goes, calling the function in place; its worker thread is never started."""

    def __init__(self, database: str) -> None:
        def connector() -> sqlite3.Connection:
            # As SQLAlchemy's dialect connects (it passes check_same_thread=False).
            return sqlite3.connect(
                database, check_same_thread=False, cached_statements=CACHED_STATEMENTS
            )

        super().__init__(connector, iter_chunk_size=64)

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # Let the loop's other tasks go on between calls: above all the stream's next read,
        # so the next batch is being decoded in the helper process (services.tracker.decoding)
        # while this one is applied. Other sessions wait for the pool's one connection.
        await asyncio.sleep(0)
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def creator(database: str) -> Callable[[], Any]:
    """For create_async_engine(async_creator=...)."""

    async def connect() -> InlineConnection:
        return await InlineConnection(database)

    return connect
