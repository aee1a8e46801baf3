"""Acceptance for inspection follow-up: a held-back inspection published shuffled with
duplicates through the real pipeline (Redis Streams, consumer, SQLite and PostgreSQL) gives the
hand-worked statuses and a report whose chain verifies; altering a stored audit row is named."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from schemas.tables import AuditEntry, Recommendation
from services.audit.render import render
from services.audit.report import build_report
from services.audit.status_queries import recommendation_statuses
from services.platform.audit_trail import verify_chain
from services.platform.settings import Settings
from tests.factories import lines
from tests.follow_up_history import (
    EXPECTED,
    INSPECTION,
    REJECTED_RATING,
    TODAY,
    shuffled_with_duplicates,
)
from tests.integration.conftest import Pipeline, running_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
async def pipeline_on_today(settings: Settings) -> AsyncIterator[Pipeline]:
    """The real app, with the clock fixed at TODAY so recurring periods open up to it."""
    async with running_pipeline(settings, today=lambda: TODAY) as running:
        yield running


async def _statuses(pipeline: Pipeline) -> dict[str, tuple[object, ...]]:
    async with pipeline.runtime.sessions() as session:
        rows = await recommendation_statuses(session=session, area="wessex", today=TODAY)
    return {r.recommendation_id: (r.status, r.flags, r.lapses, r.next_due, r.rating) for r in rows}


async def test_held_back_inspection_statuses_report_and_tampering(
    pipeline_on_today: Pipeline,
) -> None:
    pipeline = pipeline_on_today
    report = await pipeline.publish(shuffled_with_duplicates(seed=6))
    assert not report.rejected
    rejected = await pipeline.publish(lines(REJECTED_RATING))
    assert [r.field for r in rejected.rejected] == ["data.rating"]
    assert "'excellent' is not one of the configured ratings" in rejected.rejected[0].reason
    await pipeline.settle()

    assert await _statuses(pipeline) == EXPECTED
    async with pipeline.runtime.sessions() as session:
        later = await session.get(Recommendation, "ACC-R2")
        assert later is not None and later.text == "Improve the timeliness of letters to victims."
        built = await build_report(session=session, inspection_id=INSPECTION, today=TODAY)
        entries = list((await session.execute(select(AuditEntry))).scalars())

    # Every fact about the inspection is in the trail once, with who and which event.
    projected = [e for e in entries if e.entity != "obligation"]
    assert len(projected) == 22 - 2  # the two staff-updated events are not follow-up facts
    completed = next(e for e in projected if e.caused_by == "/cps/wessex/assurance#d3")
    assert (completed.entity, completed.entity_id, completed.action, completed.actor) == (
        "action",
        "ACC-A3",
        "completed",
        "WX-ABM1",
    )
    assert {e.action for e in projected if e.entity_id == "ACC-R2"} <= {
        "issued",
        "revised",
        "superseded",
    }

    assert built["chain"]["ok"] and built["chain"]["entries"] == len(entries)
    by_id = {r["recommendation_id"]: r for r in built["recommendations"]}
    r2 = by_id["ACC-R2"]
    assert r2["status"] == "at-risk"
    assert [lapse["obligation_id"] for lapse in r2["lapses"]] == [
        "recurring-commitment/ACC-A2/2018-01"
    ]
    assert [e["recorded_date"] for e in r2["evidence"]] == [
        "2017-11-20",
        "2017-12-18",
        "2018-02-26",
    ]
    assert r2["owners"] == [{"staff_id": "WX-DCCP1", "name": "Rowena Peel"}]
    assert by_id["ACC-R1"]["rating"]["rating"] == "achieved"
    assert by_id["ACC-R3"]["flags"] == ["completed-without-evidence"]
    assert any(
        "Action completed on 2018-02-20" in t["summary"] for t in by_id["ACC-R3"]["timeline"]
    )
    assert by_id["ACC-R4"]["response"] == "partly-agreed"
    assert [a["state"] for a in by_id["ACC-R4"]["actions"]] == ["completed", "lapsed"]

    md = render(built, "md")
    assert "## Issue to address 2: **[AT RISK]**" in md
    assert "## Recommendation 3: **[COMPLETED, AWAITING VERIFICATION]**" in md
    assert "completed without evidence" in md
    assert f"verified: {len(entries)} entries checked, head hash {built['chain']['head']}" in md
    html = render(built, "html")
    assert '<span class="badge overdue">Overdue</span>' in html
    assert "@media print" in html and "<script" not in html
    assert "Rowena Peel (WX-DCCP1)" in html
    rows = list(csv.DictReader(io.StringIO(render(built, "csv"))))
    assert [(r["recommendation_id"], r["action_id"], r["status"]) for r in rows] == [
        ("ACC-R1", "ACC-A1", "verified"),
        ("ACC-R2", "ACC-A2", "at-risk"),
        ("ACC-R3", "ACC-A3", "completed-awaiting-verification"),
        ("ACC-R4", "ACC-A4A", "overdue"),
        ("ACC-R4", "ACC-A4B", "overdue"),
    ]
    assert json.loads(render(built, "json")) == json.loads(json.dumps(built))

    # Publishing everything again changes nothing, the trail included.
    await pipeline.publish(shuffled_with_duplicates(seed=7))
    await pipeline.settle()
    assert await _statuses(pipeline) == EXPECTED
    async with pipeline.runtime.sessions() as session:
        assert (await verify_chain(session=session)).entries == len(entries)

    # Someone with database access alters the evidence entry of R2 behind the triggers.
    target = next(e for e in projected if e.caused_by == "/cps/wessex/assurance#v2-2017-12-18")
    async with pipeline.runtime.sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            await session.execute(text("DROP TRIGGER audit_entries_no_update"))
        await session.execute(
            text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = :seq"),
            {"seq": target.seq},
        )
    async with pipeline.runtime.sessions() as session:
        check = await verify_chain(session=session)
        tampered = await build_report(session=session, inspection_id=INSPECTION, today=TODAY)
    assert (check.ok, check.first_broken) == (False, target.seq)
    assert check.reason and "altered" in check.reason
    assert tampered["chain"]["first_broken"] == target.seq
    assert f"BROKEN at entry {target.seq}" in render(tampered, "md")


@pytest.mark.parametrize("seed", [1, 2])
async def test_statuses_do_not_depend_on_arrival_order(
    pipeline_on_today: Pipeline, seed: int
) -> None:
    await pipeline_on_today.publish(shuffled_with_duplicates(seed=seed))
    await pipeline_on_today.settle()
    assert await _statuses(pipeline_on_today) == EXPECTED
