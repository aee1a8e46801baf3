"""The one runner every command body goes through: settings, logging, the Redis URL (the
embedded server started when none is configured) and a runtime on a fresh event loop.

Imports are inside the functions so that `followup --help` and the commands' own help do not
pay for SQLAlchemy, Alembic and the rule pack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from services.entrypoints.cli.failures import Failure, NotFound
from services.platform.private_files import make_data_dir

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.platform.runtime import Runtime
    from services.platform.settings import Settings

T = TypeVar("T")


class NoData(NotFound):
    """A read-only command found no Followup data where it looked."""

    def __init__(self, database: Path) -> None:
        Failure.__init__(
            self,
            f"no Followup data here: looked for {database} (FOLLOWUP_DATA_DIR, default ./var); "
            "run this where `followup serve`, `publish` or `demo` keeps its data, or set "
            "FOLLOWUP_DATA_DIR or FOLLOWUP_DATABASE_URL",
        )


def require_data(settings: Settings) -> None:
    """Refuse, saying where it looked, rather than create an empty data folder and database
    for a command that only reads (the default SQLite file of a data folder never made)."""
    if settings.database_url is None:
        database = (settings.data_dir / "followup.db").resolve()
        if not database.exists():
            raise NoData(database)


def _prepare(settings: Settings, *, read_only: bool) -> None:
    """What every command does before its work: refuse a read with no data, log as set,
    make the data folder (owner-only)."""
    from services.platform import logs

    if read_only:
        require_data(settings)
    logs.configure(settings.log_level)
    make_data_dir(settings.data_dir)


def run_with_redis_url(
    settings: Settings,
    work: Callable[[Runtime, str], Awaitable[T]],
    *,
    sole_writer: bool = False,
    read_only: bool = False,
    wait: bool = False,
) -> T:
    """Run `work` with a runtime and the Redis URL; whatever it connects it must close.
    `wait`: wait for the database and Redis (a service starting beside its servers) instead
    of failing at once, as a command does."""
    import asyncio
    import contextlib
    import logging

    from services.entrypoints.cli.failures import first_line
    from services.platform.broker.embedded import redis_url
    from services.platform.runtime import open_runtime
    from services.tracker.outages import is_outage

    async def go(url: str) -> T:
        while True:
            if wait:
                await wait_until_reachable(settings, url)
            async with contextlib.AsyncExitStack() as stack:
                try:
                    runtime = await stack.enter_async_context(
                        open_runtime(settings, sole_writer=sole_writer)
                    )
                except Exception as error:
                    # Gone again between answering and opening (migrations, the first
                    # statements): waited out like the first wait (docs/contract.md section 11).
                    if not (wait and is_outage(error)):
                        raise
                    logging.getLogger("followup.serve").warning(
                        "the database went away while opening; waiting for it again",
                        extra={"error": first_line(error)[:300]},
                    )
                    continue
                return await work(runtime, url)

    _prepare(settings, read_only=read_only)
    with redis_url(settings) as url:
        return asyncio.run(go(url))


async def wait_until_reachable(settings: Settings, redis_url: str) -> None:
    """Wait, with backoff and a log line each time naming what and why, until the database
    and Redis answer; an error that is not an outage (a wrong password, a bad URL) is raised."""
    import asyncio
    import logging

    from sqlalchemy import text

    from schemas.db import create_engine
    from services.platform.broker.connect import redis_client
    from services.tracker.outages import is_outage

    log = logging.getLogger("followup.serve")
    engine = create_engine(settings.sqlalchemy_url())
    client = redis_client(redis_url)

    async def database() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await client.ping()

    try:
        for name, probe in (("database", database), ("redis", redis)):
            delay = WAIT_FIRST_SECONDS
            while True:
                try:
                    await probe()
                    break
                except Exception as error:
                    if not is_outage(error):
                        raise
                    log.warning(
                        "waiting for the %s", name,
                        extra={"error": str(error).strip().splitlines()[0][:300],
                               "retry_in_seconds": delay},
                    )  # fmt: skip
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, WAIT_MAX_SECONDS)
    finally:
        await client.aclose()
        await engine.dispose()


WAIT_FIRST_SECONDS, WAIT_MAX_SECONDS = 0.5, 30.0


def run_with_redis(
    settings: Settings,
    work: Callable[[Runtime, Redis], Awaitable[T]],
    *,
    read_only: bool = False,
) -> T:
    """Run `work` with a runtime and a Redis client, both closed before the embedded server
    stops."""
    from services.platform.broker.connect import redis_client

    async def with_client(runtime: Runtime, url: str) -> T:
        redis = redis_client(url)
        try:
            return await work(runtime, redis)
        finally:
            await redis.aclose()

    return run_with_redis_url(settings, with_client, read_only=read_only)


def run_with_redis_only(settings: Settings, work: Callable[[Redis], Awaitable[T]]) -> T:
    """Run `work` with a Redis client and no database (it may connect one itself, as
    `publish` does only for a rejected line)."""
    import asyncio

    from services.platform.broker.connect import redis_client
    from services.platform.broker.embedded import redis_url

    async def go(url: str) -> T:
        redis = redis_client(url)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    _prepare(settings, read_only=False)
    with redis_url(settings) as url:
        return asyncio.run(go(url))


def run_with_runtime(
    work: Callable[[Runtime], Awaitable[T]],
    *,
    settings: Settings | None = None,
    read_only: bool = False,
    sole_writer: bool = False,
) -> T:
    """Run `work` with a runtime on the configured database (no broker needed). `sole_writer`:
    the caller holds the SQLite database's lock, as `serve` does (schemas.db.create_engine)."""
    import asyncio

    from services.platform.runtime import open_runtime
    from services.platform.settings import Settings

    settings = settings or Settings()
    _prepare(settings, read_only=read_only)

    async def go() -> T:
        async with open_runtime(settings, sole_writer=sole_writer) as runtime:
            return await work(runtime)

    return asyncio.run(go())


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]], *, read_only: bool = False) -> T:
    """Run `work` in one session on the configured database."""

    async def in_session(runtime: Runtime) -> T:
        async with runtime.sessions() as session:
            return await work(session)

    return run_with_runtime(in_session, read_only=read_only)
