"""What every entry point needs, built once from the settings and passed in."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from schemas.db import create_engine, is_sqlite, migrate, session_factory
from services.platform.clock import now as wall_clock
from services.platform.clock import today_in_london
from services.platform.settings import Settings
from services.rules.calendar import Calendar
from services.rules.pack import Rule
from services.rules.packfile import load_pack


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    calendar: Calendar
    rules: tuple[Rule, ...]
    today: Callable[[], date] = today_in_london  # injected: replays and tests fix the date
    # The one clock every write is stamped by (updated_at, received_at...), injected like today.
    now: Callable[[], datetime] = wall_clock
    # The SQLite database's one writer (schemas.db.create_engine): its write-ahead log is left
    # to schemas.sqlite.checkpoints, which the caller must run.
    sole_writer: bool = False


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    today: Callable[[], date] = today_in_london,
    now: Callable[[], datetime] = wall_clock,
    sole_writer: bool = False,
) -> AsyncIterator[Runtime]:
    """`sole_writer`: for `serve` on SQLite (see schemas.db.create_engine)."""
    rules = load_pack(settings.rule_pack)  # a bad pack stops start-up before anything runs
    url = settings.sqlalchemy_url()
    sole_writer = sole_writer and is_sqlite(url)
    engine = create_engine(url, sole_writer=sole_writer)
    try:
        await migrate(engine)
        yield Runtime(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            calendar=Calendar(),
            rules=rules,
            today=today,
            now=now,
            sole_writer=sole_writer,
        )
    finally:
        await engine.dispose()


class LazyDatabase:
    """The database connected, and migrated, on first use: `publish` needs it only to keep a
    rejected line, so a file of valid lines is published with the database down."""

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] = wall_clock) -> None:
        self.now = now
        self._url = settings.sqlalchemy_url()
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def name(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self._url).render_as_string(hide_password=True)

    @property
    def connected(self) -> bool:
        return self._engine is not None

    async def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            engine = create_engine(self._url)
            if is_sqlite(self._url):
                event.listen(engine.sync_engine, "connect", _small_cache)
            try:
                await migrate(engine)
            except BaseException:
                await engine.dispose()
                raise
            self._engine, self._sessions = engine, session_factory(engine)
        return self._sessions

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._sessions = None


def _small_cache(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's default 2 MiB of pages, not the consumer's 64 MiB (schemas.db): `publish` only
    # appends dead letters, and the cache would otherwise grow with the rows it wrote.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA cache_size=-2000")
    cursor.close()


def consumer_name() -> str:
    """Unique per process, so several workers in one group never share pending entries."""
    return f"{socket.gethostname()}-{os.getpid()}"
