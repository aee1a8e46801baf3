"""`serve` on SQLite copies the write-ahead log back in the background instead of in the
commits that cross 1,000 pages (real SQLite files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from schemas.db import create_engine
from schemas.sqlite.checkpoints import WalCheckpointer

pytestmark = pytest.mark.integration


def _wal_pages(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return os.path.getsize(wal) // 4096 if wal.exists() else 0


async def test_commits_leave_the_log_to_the_checkpointer_which_restarts_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "followup.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url, sole_writer=True)
    checkpointer = WalCheckpointer(str(path), restart_pages=500)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER, pad TEXT)"))
        for n in range(20):  # ~2,000 pages of WAL, twice what a commit would have copied back
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO t VALUES (:n, :pad)"),
                    [{"n": n * 100 + i, "pad": "x" * 4000} for i in range(100)],
                )
        assert _wal_pages(path) > 1500  # no automatic checkpoint has reset it

        done = await checkpointer.step()  # copies it all, then restarts the log
        assert done.mode == "RESTART" and not done.busy
        assert done.copied == done.wal_pages > 1500
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (-1, 'after')"))
        small = await checkpointer.step()
        assert small.mode == "PASSIVE" and small.wal_pages < 10  # written from the start again
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 2001
    finally:
        await checkpointer.close()
        await engine.dispose()


async def test_other_processes_keep_the_automatic_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "followup.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER, pad TEXT)"))
        for n in range(20):
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO t VALUES (:n, :pad)"),
                    [{"n": n * 100 + i, "pad": "x" * 4000} for i in range(100)],
                )
        checkpointer = WalCheckpointer(str(path))
        try:
            left = await checkpointer.step()
        finally:
            await checkpointer.close()
        assert left.wal_pages < 1200  # the commits restarted it themselves along the way
    finally:
        await engine.dispose()
