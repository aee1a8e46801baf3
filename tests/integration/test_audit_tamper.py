"""Tamper evidence on SQLite and PostgreSQL (docs/contract.md section 8, "Added"): altering,
deleting or adding any stored follow-up row is named against its audit entry; an audit entry
altered breaks the chain, named with what it was about; a chain recomputed from an edited
entry onward, or cut off at the end, fails against the signed checkpoint."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events.outbound import AuditCheckpointed, parse_outbound
from schemas.tables import AuditEntry, Obligation
from services.audit import seeds
from services.audit.checkpoints import ChainNotSigned, latest_checkpoint, make_checkpoint
from services.audit.integrity import check_follow_up_rows
from services.audit.render import render
from services.audit.report import build_report
from services.audit.verification import verify_all
from services.platform.audit_key import signature_ok, signing_key
from services.platform.audit_trail import AuditRecord, append_audit
from services.summaries.build import build_summary
from services.summaries.model import Scope
from services.summaries.render_json import summary_json
from services.summaries.render_md import summary_markdown
from services.summaries.weeks import IsoWeek
from tests.audit_forgery import rehash_from
from tests.factories import event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

SOURCE = "/cps/thames-and-chiltern/assurance"
NOW = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def follow_up() -> list[str]:
    return lines(
        event(
            "inspection-published",
            "2017-07-27T09:00:00+01:00",
            id_="insp",
            source="/hmcpsi",
            inspection_id="I-1",
            title="Area assurance",
            kind="area-assurance",
            area="thames-and-chiltern",
            published_date="2017-07-27",
        ),
        event(
            "recommendation-issued",
            "2017-07-27T09:00:00+01:00",
            id_="rec-7",
            source="/hmcpsi",
            inspection_id="I-1",
            recommendation_id="R-7",
            number=7,
            kind="issue-to-address",
            text="Cases reviewed in a timely manner.",
        ),
        event(
            "response-committed",
            "2017-07-27T12:00:00+01:00",
            id_="resp-a",
            source=SOURCE,
            recommendation_id="R-7",
            action_id="R-7-A",
            response="agreed",
            text="Weekly conference call on review timeliness.",
            owner="TC-DCCP1",
            recurrence="monthly",
            starts="2017-08-01",
            ends="2017-10-31",
            assumed=["owner", "starts", "ends"],
        ),
        event(
            "response-committed",
            "2017-07-27T12:00:00+01:00",
            id_="resp-b",
            source=SOURCE,
            recommendation_id="R-7",
            action_id="R-7-B",
            response="agreed",
            text="Review the guidance.",
            owner="TC-CCP1",
            due_date="2017-12-31",
        ),
        event(
            "action-evidence-recorded",
            "2017-08-20T10:00:00+01:00",
            id_="ev-1",
            source=SOURCE,
            action_id="R-7-A",
            evidence="Minutes of the August call",
            recorded_by="TC-DCCP1",
            recorded_date="2017-08-20",
        ),
        event(
            "action-completed",
            "2017-11-01T10:00:00+00:00",
            id_="done-1",
            source=SOURCE,
            action_id="R-7-B",
            completed_date="2017-11-01",
            completed_by="TC-CCP1",
        ),
        event(
            "follow-up-assessed",
            "2018-05-01T10:00:00+01:00",
            id_="rate-1",
            source="/hmcpsi",
            recommendation_id="R-7",
            rating="partially-achieved",
            assessed_by="HMI-1",
            assessed_date="2018-05-01",
        ),
    )


# Each: a change someone with database access could make, the table and the entity it must
# name, and words of the problem.
TAMPERING = [
    ("UPDATE inspections SET title = 'Nothing to see'", "inspections", "I-1", "title is"),
    ("DELETE FROM recommendations", "recommendations", "R-7", "missing"),
    (
        "UPDATE recommendation_actions SET owner = 'SOMEONE' WHERE action_id = 'R-7-A'",
        "recommendation_actions",
        "R-7-A",
        "owner is 'SOMEONE'",
    ),
    ("DELETE FROM action_evidence", "action_evidence", "R-7-A", "missing"),
    (
        "UPDATE action_completions SET completed_date = '2017-10-01'",
        "action_completions",
        "R-7-B",
        "completed_date is 2017-10-01",
    ),
    ("DELETE FROM follow_up_ratings", "follow_up_ratings", "R-7", "missing"),
    (
        "INSERT INTO action_evidence (source, event_id, action_id, evidence, recorded_by, "
        "recorded_date, event_time) VALUES ('/x', 'forged', 'R-7-A', 'Minutes', 'TC-DCCP1', "
        "'2017-09-20', '2017-09-20 10:00:00+00:00')",
        "action_evidence",
        "R-7-A",
        "no audit entry",
    ),
]


@asynccontextmanager
async def tampered(pipeline: Pipeline) -> AsyncIterator[AsyncSession]:
    """A session whose changes are rolled back at the end, whatever happened."""
    async with pipeline.runtime.sessions() as session:
        try:
            yield session
        finally:
            await session.rollback()


async def _load(pipeline: Pipeline) -> None:
    report = await pipeline.publish(follow_up())
    assert report.rejected_lines == 0
    await pipeline.settle()


async def _unguard(session: AsyncSession) -> None:
    """What a database superuser could do: switch the append-only guard off."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for verb in ("update", "delete"):
            await session.execute(text(f"DROP TRIGGER IF EXISTS audit_entries_no_{verb}"))


async def _entry_of(session: AsyncSession, caused_by: str) -> AuditEntry:
    statement = select(AuditEntry).where(col(AuditEntry.caused_by) == caused_by)
    return (await session.execute(statement)).scalars().one()


async def test_every_follow_up_row_is_checked_against_its_audit_entry(
    pipeline: Pipeline,
) -> None:
    await _load(pipeline)
    async with pipeline.runtime.sessions() as session:
        assert await check_follow_up_rows(session=session) == []
    for statement, table, entity_id, words in TAMPERING:
        async with tampered(pipeline) as session:
            await session.execute(text(statement))
            problems = await check_follow_up_rows(session=session)
            named = [p for p in problems if p.table == table and p.entity_id == entity_id]
            assert named, (statement, problems)
            assert words in named[0].problem, named[0].sentence()
            found = await verify_all(session=session, settings=pipeline.runtime.settings)
            assert not found["ok"]
            assert found["rows"]["problems"]
            report = await build_report(session=session, inspection_id="I-1", today=NOW.date())
            assert not report["integrity"]["ok"], (statement, report["integrity"])
    # Every follow-up table emptied (what TRUNCATE does): every row is named missing.
    async with tampered(pipeline) as session:
        for table in (
            "inspections",
            "recommendations",
            "recommendation_actions",
            "action_evidence",
            "action_completions",
            "follow_up_ratings",
        ):
            await session.execute(text(f"DELETE FROM {table}"))
        problems = await check_follow_up_rows(session=session)
        assert {p.table for p in problems} == {
            "inspections",
            "recommendations",
            "recommendation_actions",
            "action_evidence",
            "action_completions",
            "follow_up_ratings",
        }
        assert all("missing" in p.problem for p in problems)


async def test_the_report_counts_lapsed_periods_and_marks_assumptions(
    pipeline: Pipeline,
) -> None:
    await _load(pipeline)
    async with pipeline.runtime.sessions() as session:
        report = await build_report(session=session, inspection_id="I-1", today=NOW.date())
    rec = report["recommendations"][0]
    # August had evidence, September and October did not: never "completed", and the last
    # period is over, so overdue (the rating makes it verified: judge without it).
    assert rec["status"] == "verified"
    assert rec["periods"] == {
        "ended": 3,
        "lapsed": 2,
        "sentence": "2 of 3 periods lapsed without evidence",
    }
    recurring = next(a for a in rec["actions"] if a["action_id"] == "R-7-A")
    assert recurring["assumed"] == ["owner", "starts", "ends"]
    assert recurring["state"] == "lapsed"
    assert [g["action_id"] for g in rec["period_history"]] == ["R-7-A"]
    assert [p["state"] for p in rec["period_history"][0]["periods"]] == [
        "met",
        "lapsed",
        "lapsed",
    ]
    # The timeline is in event order and holds no recurring period's lines.
    times = [t["event_time"] for t in rec["timeline"]]
    assert times == sorted(times)
    assert not any("recurring-commitment/" in t["summary"] for t in rec["timeline"])


async def test_an_altered_entry_is_named_and_a_rewritten_or_cut_chain_fails_its_checkpoint(
    pipeline: Pipeline,
) -> None:
    await _load(pipeline)
    settings = pipeline.runtime.settings
    key = signing_key(settings)
    assert (settings.data_dir / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    async with pipeline.runtime.sessions() as session, session.begin():
        made = await make_checkpoint(session=session, key=key, actor="test", now=NOW)
    assert made is not None
    async with pipeline.runtime.sessions() as session:
        found = await verify_all(session=session, settings=settings)
        assert found["ok"], found
        assert found["checkpoint"]["ok"]

    # Altered in place: the chain breaks there, and says what the entry was about.
    async with tampered(pipeline) as session:
        entry = await _entry_of(session, "/hmcpsi#rec-7")
        await _unguard(session)
        forged = entry.detail.replace("Cases reviewed", "Nothing needed")
        await session.execute(
            text("UPDATE audit_entries SET detail = :d WHERE seq = :s"),
            {"d": forged, "s": entry.seq},
        )
        session.expire_all()  # the ORM holds the entry as it was read
        found = await verify_all(session=session, settings=settings)
        assert not found["ok"]
        assert found["chain"]["first_broken"] == entry.seq
        assert found["chain"]["entity"] == "recommendation"
        assert "R-7" in found["chain"]["about"]
        # Recomputed from there onward: the chain verifies, the checkpoint does not, and
        # the recommendation row no longer matches its (forged) entry.
        await rehash_from(session, entry.seq)
        session.expire_all()
        found = await verify_all(session=session, settings=settings)
        assert found["chain"]["ok"]
        assert not found["ok"]
        assert any("rewritten" in p for p in found["checkpoint"]["problems"])
        assert any(p["entity_id"] == "R-7" for p in found["rows"]["problems"])
        # ... and no fresh checkpoint is signed over the rewritten chain.
        with pytest.raises(ChainNotSigned, match="no longer holds what checkpoint 1 signed"):
            await make_checkpoint(session=session, key=key, actor="test", now=NOW)

    # An obligation's entry altered: named with its rule, due date and action.
    async with tampered(pipeline) as session:
        statement = select(AuditEntry).where(
            col(AuditEntry.entity) == "obligation",
            col(AuditEntry.entity_id).like("recurring-commitment/R-7-A/%"),
        )
        entry = (await session.execute(statement)).scalars().first()
        assert entry is not None
        await _unguard(session)
        await session.execute(
            text("UPDATE audit_entries SET actor = 'someone' WHERE seq = :s"),
            {"s": entry.seq},
        )
        session.expire_all()
        found = await verify_all(session=session, settings=settings)
        assert found["chain"]["first_broken"] == entry.seq
        assert "recurring-commitment" in found["chain"]["about"]
        assert "R-7-A" in found["chain"]["about"]
        assert "Weekly conference call" in found["chain"]["about"]

    # Entries cut off the end: the chain alone verifies; the checkpoint names the cut.
    async with tampered(pipeline) as session:
        await _unguard(session)
        await session.execute(
            text("DELETE FROM audit_entries WHERE seq > :s"), {"s": made.last_seq - 3}
        )
        found = await verify_all(session=session, settings=settings)
        assert found["chain"]["ok"]
        assert not found["ok"]
        assert any("truncated" in p for p in found["checkpoint"]["problems"])
        with pytest.raises(ChainNotSigned, match="is gone"):
            await make_checkpoint(session=session, key=key, actor="test", now=NOW)

    # A checkpoint whose signature was not made by our key is refused.
    forged_checkpoint: dict[str, Any] = {**made.to_json(), "entries": made.entries + 1}
    async with pipeline.runtime.sessions() as session:
        found = await verify_all(
            session=session, settings=settings, checkpoint_text=json.dumps(forged_checkpoint)
        )
        assert not found["ok"]
        assert any("signature" in p for p in found["checkpoint"]["problems"])


async def test_serve_signs_a_checkpoint_when_the_trail_grew_and_publishes_it(
    pipeline: Pipeline,
) -> None:
    await _load(pipeline)
    side = pipeline.app.side
    await side._audit_checkpoint()
    await side._audit_checkpoint()  # nothing appended since: no second checkpoint
    async with pipeline.runtime.sessions() as session:
        latest = await latest_checkpoint(session=session)
    assert latest is not None and latest.id == 1 and latest.made_by == "serve"
    stream = await pipeline.redis.xrange(pipeline.runtime.settings.tracking_stream)
    sent = [parse_outbound(json.loads(f[b"event"])) for _, f in stream]
    signed = [e for e in sent if e.type == "audit-checkpointed"]
    assert len(signed) == 1 and signed[0].id == "audit-checkpointed:1"
    assert signed[0].source == "/followup/audit"
    public = signing_key(pipeline.runtime.settings).public_key()
    data = signed[0].data
    assert isinstance(data, AuditCheckpointed)
    assert (data.head, data.entries) == (latest.head, latest.entries)
    assert signature_ok(public, latest.message(), data.signature)
    # The trail grows: the next checkpoint verifies on from the last one and signs the new head.
    async with pipeline.runtime.sessions() as session, session.begin():
        await append_audit(
            session=session,
            records=[AuditRecord("test", "x", "noted", "test", "test#1")],
            at=NOW,
        )
    await side._audit_checkpoint()
    async with pipeline.runtime.sessions() as session:
        grown = await latest_checkpoint(session=session)
        found = await verify_all(session=session, settings=pipeline.runtime.settings)
    assert grown is not None and (grown.id, grown.entries) == (2, latest.entries + 1)
    assert found["ok"] and found["checkpoint"]["checkpoint_id"] == 2
    # The weekly summary carries it, in every format.
    async with pipeline.runtime.sessions() as session:
        summary = await build_summary(
            session=session,
            scope=Scope(area="thames-and-chiltern"),
            week=IsoWeek.parse("2018-W22"),
            as_of=NOW.date(),
        )
    seal = summary_json(summary)["sections"][-1]
    assert (seal["kind"], seal["checkpoint_id"], seal["head"]) == ("audit", 2, grown.head)
    assert f"head `{grown.head}`" in summary_markdown(summary)


async def test_thames_and_chiltern_issue_7_is_never_completed_with_every_period_lapsed(
    pipeline: Pipeline,
) -> None:
    """The seed's weekly call and monthly review, no evidence recorded: at risk while they
    run, overdue once the last period is over, never 'completed, awaiting verification'."""
    seed = Path(seeds.__file__).parent / "thames-and-chiltern-2017.jsonl"
    await pipeline.publish(seed.read_text().splitlines())
    await pipeline.settle()
    await _periods_opened(pipeline, "recurring-commitment/TC-2017-07-A/2018-W13")
    async with pipeline.runtime.sessions() as session:
        during = await build_report(
            session=session, inspection_id="HMCPSI-AAP-TC-2017", today=date(2018, 1, 15)
        )
        after = await build_report(
            session=session, inspection_id="HMCPSI-AAP-TC-2017", today=date(2018, 4, 30)
        )
    seven = next(r for r in during["recommendations"] if r["recommendation_id"] == "TC-2017-07")
    assert seven["status"] == "at-risk"
    seven = next(r for r in after["recommendations"] if r["recommendation_id"] == "TC-2017-07")
    assert seven["status"] == "overdue"
    assert seven["periods"]["sentence"] == "43 of 43 periods lapsed without evidence"
    assert [(g["action_id"], g["sentence"]) for g in seven["period_history"]] == [
        ("TC-2017-07-A", "35 of 35 periods lapsed without evidence"),
        ("TC-2017-07-B", "8 of 8 periods lapsed without evidence"),
    ]
    assert {a["action_id"]: a["state"] for a in seven["actions"]} == {
        "TC-2017-07-A": "lapsed",
        "TC-2017-07-B": "lapsed",
    }
    assert all(a["assumed"] == ["response", "owner", "starts", "ends"] for a in seven["actions"])
    assert "completed-awaiting-verification" not in {r["status"] for r in after["recommendations"]}
    # Every format says it: Markdown, HTML and CSV.
    md, page = render(after, "md"), render(after, "html")
    for text_ in (md, page):
        assert "35 of 35 periods lapsed without evidence" in text_
        assert "(assumed: response, owner, starts, ends)" in text_
    assert "#### Periods of `TC-2017-07-A`" in md
    rows = {r["action_id"]: r for r in csv.DictReader(io.StringIO(render(after, "csv")))}
    assert (rows["TC-2017-07-B"]["periods_lapsed"], rows["TC-2017-07-B"]["periods_ended"]) == (
        "8",
        "8",
    )
    assert rows["TC-2017-07-A"]["assumed"] == "response owner starts ends"
    assert rows["TC-2017-07-A"]["integrity"] == "ok"


async def _periods_opened(pipeline: Pipeline, last: str, within: float = 30.0) -> None:
    """serve opens recurring periods up to today in the background: wait for the last."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async with pipeline.runtime.sessions() as session:
            if await session.get(Obligation, last) is not None:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{last} was never opened")
