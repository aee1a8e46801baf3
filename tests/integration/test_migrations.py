"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import schemas.tables  # noqa: F401
from schemas.db import HEAD, _at_head, alembic_config, create_engine, migrate
from services.platform.settings import Settings

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(Settings(_env_file=None, database_url=database_url).sqlalchemy_url())  # type: ignore[call-arg]
    try:
        # Two processes starting together must not both try to create the tables.
        await asyncio.gather(migrate(engine), migrate(engine))
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


def test_the_recorded_head_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_current_head() == HEAD


async def test_a_database_at_head_is_recognised_and_a_new_one_is_not(database_url: str) -> None:
    engine = create_engine(Settings(_env_file=None, database_url=database_url).sqlalchemy_url())  # type: ignore[call-arg]
    try:
        assert not await _at_head(engine)
        await migrate(engine)
        assert await _at_head(engine)
    finally:
        await engine.dispose()
