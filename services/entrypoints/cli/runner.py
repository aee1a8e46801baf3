"""What every command's body needs: settings, logging and a runtime on a fresh event loop.

Imports are inside the functions so that `followup --help` and the commands' own help do not
pay for SQLAlchemy, Alembic and the rule pack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.platform.runtime import Runtime

T = TypeVar("T")


def run_with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` with a runtime on the configured database (no broker needed)."""
    import asyncio

    from services.platform import logs
    from services.platform.runtime import open_runtime
    from services.platform.settings import Settings

    settings = Settings()
    logs.configure(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def go() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime)

    return asyncio.run(go())


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one session on the configured database."""

    async def in_session(runtime: Runtime) -> T:
        async with runtime.sessions() as session:
            return await work(session)

    return run_with_runtime(in_session)
