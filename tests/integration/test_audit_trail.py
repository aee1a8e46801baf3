"""The hash-chained audit trail on SQLite and PostgreSQL: what the pipeline appends verifies,
the database refuses updates and deletes, and a row altered behind its back is named."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from schemas.tables import AuditEntry
from services.platform.audit_trail import AuditRecord, append_audit, verify_chain
from tests.factories import event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=UTC)


def record(n: int) -> AuditRecord:
    return AuditRecord(
        entity="action",
        entity_id=f"A{n}",
        action="evidence-recorded",
        actor="LM-1",
        caused_by=f"/cms#e{n}",
        detail={"evidence": f"minutes of call {n}", "n": n},
    )


async def _append(pipeline: Pipeline, count: int) -> None:
    async with pipeline.runtime.sessions() as session, session.begin():
        await append_audit(session=session, records=[record(n) for n in range(count)], at=AT)


async def _tamper(pipeline: Pipeline, statement: str) -> None:
    """What someone with direct database access could do after removing the guard."""
    async with pipeline.runtime.sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            await session.execute(text("DROP TRIGGER audit_entries_no_update"))
            await session.execute(text("DROP TRIGGER audit_entries_no_delete"))
        await session.execute(text(statement))


async def test_the_pipeline_appends_every_obligation_change_and_the_chain_verifies(
    pipeline: Pipeline,
) -> None:
    sent_id = "letter-sent-1"
    await pipeline.publish(
        lines(
            event(
                "victim-letter-due",
                "2025-03-03T10:00:00+00:00",
                urn="U1",
                victim_id="V1",
                decision="no-charge",
                decision_date="2025-03-03",
                enhanced=False,
            )
        )
    )
    await pipeline.settle()
    await pipeline.publish(
        lines(
            event(
                "victim-letter-sent",
                "2025-03-05T10:00:00+00:00",
                id_=sent_id,
                urn="U1",
                victim_id="V1",
                sent_date="2025-03-05",
            ),
        )
    )
    await pipeline.settle()
    async with pipeline.runtime.sessions() as session:
        entries = (
            (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
        )  # type: ignore[arg-type]
        check = await verify_chain(session=session)
    assert [(e.entity, e.entity_id, e.action) for e in entries] == [
        ("obligation", "victim-letter/U1/V1", "opened"),
        ("obligation", "victim-letter/U1/V1", "closed"),
    ]
    assert json.loads(entries[1].detail)["state_after"] == "met"
    assert entries[1].caused_by.endswith("#" + sent_id)
    assert check.ok and check.entries == 2
    assert check.head == entries[-1].hash


async def test_appends_from_separate_transactions_continue_one_chain(pipeline: Pipeline) -> None:
    await _append(pipeline, 3)
    await _append(pipeline, 2)
    async with pipeline.runtime.sessions() as session:
        check = await verify_chain(session=session, page=2)
        seqs = (
            (await session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq))).scalars().all()
        )  # type: ignore[arg-type]
    assert check.ok and check.entries == 5
    assert list(seqs) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET actor = 'X' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 2",
    ],
)
async def test_the_database_refuses_to_change_audit_rows(
    pipeline: Pipeline, statement: str
) -> None:
    await _append(pipeline, 3)
    with pytest.raises(DBAPIError, match="append-only"):
        async with pipeline.runtime.sessions() as session, session.begin():
            await session.execute(text(statement))
    async with pipeline.runtime.sessions() as session:
        assert (await verify_chain(session=session)).ok
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 3


@pytest.mark.parametrize(
    ("statement", "broken", "reason"),
    [
        ('UPDATE audit_entries SET detail = \'{"evidence":"forged"}\' WHERE seq = 3', 3, "altered"),
        ("UPDATE audit_entries SET actor = 'LM-2' WHERE seq = 1", 1, "altered"),
        ("DELETE FROM audit_entries WHERE seq = 2", 3, "entry 2 is missing"),
        ("UPDATE audit_entries SET prev_hash = hash WHERE seq = 4", 4, "previous-hash"),
    ],
)
async def test_an_altered_row_is_named_as_the_first_broken_entry(
    pipeline: Pipeline, statement: str, broken: int, reason: str
) -> None:
    await _append(pipeline, 5)
    await _tamper(pipeline, statement)
    async with pipeline.runtime.sessions() as session:
        check = await verify_chain(session=session)
    assert not check.ok
    assert check.first_broken == broken
    assert check.reason is not None and reason in check.reason
