"""The inspection report reads the audit entries about a recommendation's follow-up by index:
the trail grows with every obligation change, and a report must not read it whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, select, text
from sqlmodel import SQLModel, col

from schemas.tables import AuditEntry
from services.audit.records import entries_about


def _plan(statement: Any) -> list[str]:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__])  # type: ignore[attr-defined]
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        return [row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]


def test_entries_about_follow_up_are_an_index_search() -> None:
    plan = _plan(entries_about(["REC-1", "ACT-1", "hearing-record-sheet/U1/H1"]))
    assert any(step.startswith("SEARCH audit_entries USING INDEX") for step in plan)
    assert not any(step.startswith("SCAN audit_entries") for step in plan)


def test_by_id_alone_the_trail_is_read_whole() -> None:
    by_id = select(AuditEntry).where(col(AuditEntry.entity_id).in_(["REC-1"]))
    assert "SCAN audit_entries" in _plan(by_id)
