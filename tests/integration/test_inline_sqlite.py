"""`serve`'s SQLite connection works on the event loop's thread and behaves as the threaded
one does: transactions, rollback, errors as SQLAlchemy's (real SQLite files)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas import bulk
from schemas.db import create_engine, session_factory
from schemas.sqlite.inline import InlineConnection
from services.tracker.consumer import is_transient

pytestmark = pytest.mark.integration


async def _driver(engine: AsyncEngine) -> object:
    async with engine.connect() as connection:
        return (await connection.get_raw_connection()).driver_connection


async def test_the_one_writer_works_on_the_loops_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", sole_writer=True)
    other = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        assert isinstance(await _driver(engine), InlineConnection)
        assert not isinstance(await _driver(other), InlineConnection)
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.create_function("thread", 0, threading.get_ident)
            used = (await connection.execute(text("SELECT thread()"))).scalar_one()
        assert used == threading.get_ident()
    finally:
        await engine.dispose()
        await other.dispose()


async def test_transactions_and_errors_are_as_through_aiosqlites_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", sole_writer=True)
    sessions = session_factory(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)"))
        async with sessions() as session, session.begin():
            await bulk.run(session, "INSERT INTO t VALUES (?, ?), (?, ?)", ["a", 1, "b", 2])
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await bulk.run(session, "INSERT INTO t VALUES (?, ?)", ["c", 3])
                raise RuntimeError("the batch failed after its insert")
        with pytest.raises(IntegrityError) as duplicate:  # translated, not sqlite3's own
            async with sessions() as session, session.begin():
                await bulk.run(session, "INSERT INTO t VALUES (?, ?)", ["d", 4])
                await bulk.run(session, "INSERT INTO t VALUES (?, ?)", ["a", 5])
        assert not is_transient(duplicate.value)  # a bad row: the batch is split, not retried
        for statement in ("SELECT * FROM no_such_table",):
            with pytest.raises(OperationalError):
                async with sessions() as session:
                    await bulk.run(session, statement)
            with pytest.raises(OperationalError):  # through SQLAlchemy's adapter
                async with sessions() as session:
                    await session.execute(text(statement))
        async with sessions() as session:
            rows = await bulk.run(session, "SELECT k, n FROM t ORDER BY k")
        assert rows == [("a", 1), ("b", 2)]  # c and d rolled back with their transactions
    finally:
        await engine.dispose()
