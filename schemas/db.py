"""Engines, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from schemas.sqlite import inline as inline_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision. A process that finds the database already there skips Alembic, whose
# import and upgrade check cost most of a second on every command; tests/integration/
# test_migrations.py checks this against Alembic's own head.
HEAD = "0017_linked_facts_versions"
_MIGRATION_LOCK_ID = 0x666F6C6C  # any constant; "foll"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, sole_writer: bool = False) -> AsyncEngine:
    """`sole_writer`: this process is the SQLite database's one writer and its only connection
    on this event loop, as `serve` is (it holds the database's lock file, and runs
    schemas.sqlite.checkpoints): commits leave the write-ahead log for the checkpointer to copy back
    (else they copy it back themselves when it grows past 1,000 pages), and the connection's
    calls run on the event loop's thread (schemas.sqlite.inline). Two such connections on one
    loop would deadlock, one waiting for the write lock the other holds across an await."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    database = make_url(url).database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One writer connection: SQLite allows a single writer, and a pool of them only
    # trades throughput for "database is locked" errors.
    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
    if sole_writer:
        options["async_creator"] = inline_sqlite.creator(database)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if sole_writer:
        event.listen(engine.sync_engine, "connect", _no_automatic_checkpoints)
    return engine


def _no_automatic_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 64 MiB of pages instead of 2 MiB: a batch touches index pages all over the obligations
    # table's ten indexes, read back from the OS by a system call each when not kept here
    # (measured in BENCHMARKS.md).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def dialect_of(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql"; read off the engine (get_bind() costs far more per call)."""
    bind = session.bind
    return (bind if bind is not None else session.get_bind()).dialect.name


async def claim_lock(session: AsyncSession, model: Any) -> None:
    """Call first in a transaction that reads rows to claim them. PostgreSQL claims with FOR
    UPDATE SKIP LOCKED, which SQLite ignores (and its driver reads outside any transaction
    until the first write), so there the transaction takes SQLite's one write lock first with
    a write that changes nothing: another process waits and then sees the rows claimed."""
    if dialect_of(session) == "sqlite":
        table = model.__table__
        key = next(iter(table.primary_key.columns)).name
        await session.execute(text(f'UPDATE {table.name} SET "{key}" = "{key}" WHERE 0'))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    if await schema_at_head(engine):
        return
    url = engine.url.render_as_string(hide_password=False)
    if is_sqlite(url) and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(f"{engine.url.database}.migrate.lock")
        await asyncio.to_thread(_with_file_lock, lock_path)
        try:
            await _upgrade(engine)
        finally:
            await asyncio.to_thread(_release_file_lock, lock_path)
        return
    await _upgrade(engine)


async def schema_at_head(engine: AsyncEngine) -> bool:
    """Whether the database's schema is this version's newest revision."""
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # a new database: no alembic_version table yet
        return False
    return bool(found == HEAD)


async def _upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialises concurrent upgrades; released when this transaction ends.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        await conn.run_sync(_upgrade_sync)


def _upgrade_sync(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


_held_locks: dict[Path, Any] = {}


def _with_file_lock(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    _held_locks[path] = handle


def _release_file_lock(path: Path) -> None:
    handle = _held_locks.pop(path, None)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
