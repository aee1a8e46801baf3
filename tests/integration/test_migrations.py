"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import schemas.tables  # noqa: F401
from schemas.db import HEAD, alembic_config, create_engine, migrate, schema_at_head
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
        assert not await schema_at_head(engine)
        await migrate(engine)
        assert await schema_at_head(engine)
    finally:
        await engine.dispose()


async def test_obligation_refs_are_filled_in_for_obligations_already_stored(
    database_url: str,
) -> None:
    """0012 computes each stored obligation's `ob-` reference (in SQL on PostgreSQL), the same
    as the tracker writes for new ones."""
    from alembic import command
    from sqlalchemy import text

    from events.outbound import obligation_ref

    def upgrade_to(revision: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    engine = create_engine(Settings(_env_file=None, database_url=database_url).sqlalchemy_url())  # type: ignore[call-arg]
    ids = ["victim-letter/U1/V1", "hearing-record-sheet/U1/H1"]
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to("0011_access"))
            for obligation_id in ids:
                await connection.execute(
                    text(
                        "INSERT INTO obligations (id, rule, key, opened_by, due, state, "
                        "explanation, created_at, updated_at) VALUES (:id, 'r', 'k', 'e', "
                        "'2024-01-08', 'open', 'x', '2024-01-01T00:00:00+00:00', "
                        "'2024-01-01T00:00:00+00:00')"
                    ),
                    {"id": obligation_id},
                )
            await connection.run_sync(upgrade_to("head"))
            found = dict((await connection.execute(text("SELECT id, ref FROM obligations"))).all())
        assert found == {i: obligation_ref(i) for i in ids}
    finally:
        await engine.dispose()
