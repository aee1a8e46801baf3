"""PostgreSQL: the service's role, set up by `followup audit harden --print-sql`, can append to
the audit trail and nothing else: UPDATE, DELETE, TRUNCATE, disabling its triggers and
switching triggers off with session_replication_role all fail. A superuser can still edit an
entry and recompute the chain, and that fails against the last signed checkpoint
(docs/contract.md section 8, "Added: a role that cannot rewrite the trail")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from services.audit.checkpoints import make_checkpoint
from services.audit.harden import hardening_sql
from services.audit.verification import verify_all
from services.platform.audit_key import signing_key
from services.platform.audit_trail import AuditRecord, append_audit
from services.platform.runtime import open_runtime
from tests.audit_forgery import rehash_from
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

REFUSED = [
    "UPDATE audit_entries SET actor = 'x'",
    "DELETE FROM audit_entries",
    "TRUNCATE audit_entries",
    "TRUNCATE audit_checkpoints",
    "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
    "ALTER TABLE audit_entries DISABLE TRIGGER USER",
    "DROP TRIGGER audit_entries_append_only ON audit_entries",
    "SET session_replication_role = replica",
    "UPDATE audit_checkpoints SET head = 'x'",
    "DELETE FROM audit_checkpoints",
]


def record(n: int) -> AuditRecord:
    return AuditRecord(
        entity="action",
        entity_id=f"A{n}",
        action="evidence-recorded",
        actor="LM-1",
        caused_by=f"/cms#e{n}",
        detail={"n": n},
    )


async def test_the_service_role_cannot_rewrite_the_trail_and_a_superuser_rewrite_is_caught(
    tmp_path: Path, postgres_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(tmp_path, postgres_url, redis_server, namespace)
    role = f"followup_app_{uuid.uuid4().hex[:8]}"
    async with open_runtime(settings) as runtime:  # migrates, as the tables' owner
        async with runtime.sessions() as session, session.begin():
            await append_audit(session=session, records=[record(n) for n in range(5)], at=AT)
        async with runtime.sessions() as session, session.begin():
            made = await make_checkpoint(
                session=session, key=signing_key(settings), actor="test", now=AT
            )
        assert made is not None and made.entries == 5

    plain = make_url(postgres_url).set(drivername="postgresql")
    owner = await asyncpg.connect(plain.render_as_string(hide_password=False))
    try:
        await owner.execute(hardening_sql(role=role))
        as_role = plain.set(username=role).render_as_string(hide_password=False)
        service = await asyncpg.connect(as_role)
        try:
            for statement in REFUSED:
                with pytest.raises(asyncpg.PostgresError):
                    await service.execute(statement)
            # What the service does do, it still can: read and append.
            assert await service.fetchval("SELECT count(*) FROM audit_entries") == 5
        finally:
            await service.close()
        engine = create_async_engine(
            make_url(postgres_url).set(drivername="postgresql+asyncpg", username=role)
        )
        try:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            async with sessions() as session, session.begin():
                await append_audit(session=session, records=[record(9)], at=AT)
        finally:
            await engine.dispose()

        # A superuser switches the triggers off, edits entry 2 and recomputes the chain.
        async with open_runtime(settings) as runtime:
            async with runtime.sessions() as session, session.begin():
                await session.execute(text("SET LOCAL session_replication_role = replica"))
                await session.execute(
                    text("UPDATE audit_entries SET detail = :d WHERE seq = 2"), {"d": '{"n":99}'}
                )
                await rehash_from(session, 2)
            async with runtime.sessions() as session:
                found = await verify_all(session=session, settings=settings, checkpoint_id=made.id)
        assert found["chain"]["ok"]  # the forger recomputed every hash ...
        assert not found["ok"]  # ... and the signed checkpoint still tells
        assert any("rewritten" in p for p in found["checkpoint"]["problems"])
    finally:
        await owner.execute(f"DROP OWNED BY {role}")
        await owner.execute(f"DROP ROLE {role}")
        await owner.close()
