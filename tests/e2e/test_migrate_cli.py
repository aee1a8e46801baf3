"""`followup migrate`: the deployment's one-shot schema step (compose.yaml's `migrate`)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from schemas.db import HEAD
from tests.e2e.conftest import Followup

pytestmark = pytest.mark.e2e


async def test_migrate_brings_a_new_database_to_head_without_redis(
    database_url: str, tmp_path: Path
) -> None:
    # No FOLLOWUP_REDIS_URL and no embedded server either: migrating needs the database alone.
    followup = Followup(
        {"FOLLOWUP_DATABASE_URL": database_url, "FOLLOWUP_DATA_DIR": str(tmp_path)}, tmp_path
    )

    first = followup.run("migrate")
    again = followup.run("migrate")

    assert f"schema at {HEAD}" in first.stdout
    assert f"schema at {HEAD}" in again.stdout
    assert await _revision(database_url) == HEAD
    assert not _embedded_redis_made(tmp_path), "migrate started an embedded Redis"


async def test_migrate_names_the_database_it_cannot_reach(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    followup = Followup(
        {"FOLLOWUP_DATABASE_URL": url, "FOLLOWUP_DATA_DIR": str(tmp_path)}, tmp_path
    )

    done = followup.run("migrate", check=False)

    assert done.returncode == 4, done.stderr
    assert "127.0.0.1:1" in done.stderr


def _embedded_redis_made(data_dir: Path) -> bool:
    return (data_dir / "redis").exists()


async def _revision(url: str) -> str:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])
    connection = await asyncpg.connect(url)
    try:
        return str(await connection.fetchval("SELECT version_num FROM alembic_version"))
    finally:
        await connection.close()
