"""The Area page, weekly summaries, inspection pages and their forms, and dead letters over
HTTP, each cut to its caller (docs/contract.md section 12, "Area and inspection pages")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlmodel import col

from events import parse_event
from events.outbound import obligation_ref
from schemas.tables import AuditEntry, DeadLetter
from services.access.credentials import issue
from services.entrypoints.http.api import build_api
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.dead_letters import add_dead_letters
from services.tracker.handlers import apply_events
from tests.access import bearer
from tests.factories import event
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

TODAY = date(2024, 1, 10)  # Wednesday of 2024-W02 (Monday 8 January)
T = "2023-11-01T09:00:00+00:00"


def _staff(staff_id: str, role: str, area: str, **more: Any) -> dict[str, Any]:
    return event(
        "staff-updated",
        T,
        staff_id=staff_id,
        name=f"Name {staff_id}",
        email=f"{staff_id.lower()}@cps.example",
        role=role,
        area=area,
        unit=more.get("unit"),
        line_manager=more.get("line_manager"),
    )


def _letter(urn: str, victim: str, decided: str) -> dict[str, Any]:
    return event(
        "victim-letter-due",
        f"{decided}T09:00:00+00:00",
        urn=urn,
        victim_id=victim,
        decision="no-charge",
        decision_date=decided,
        enhanced=False,
    )


HISTORY = [
    _staff("TC-DCCP", "dccp", "tc"),
    _staff("TC-LM", "legal-manager", "tc", unit="crown"),
    _staff("TC-P1", "prosecutor", "tc", unit="crown", line_manager="TC-LM"),
    _staff("HQ-1", "hq", "hq"),
    _staff("INS-1", "inspector", "hmcpsi"),
    _staff("WM-DCCP", "dccp", "wm"),
    _staff("WM-P1", "prosecutor", "wm", unit="mags"),
    event("case-registered", T, urn="TC1", area="tc", unit="crown", owner="TC-P1"),
    event("case-registered", T, urn="WM1", area="wm", unit="mags", owner="WM-P1"),
    _letter("TC1", "V-OLD", "2023-12-01"),  # due 8 Dec: the backlog before this week
    _letter("TC1", "V-NEW", "2024-01-02"),  # due 9 Jan: this week's lapse
    _letter("WM1", "V-WM", "2023-12-01"),
    event(
        "inspection-published",
        T,
        inspection_id="INSP-TC",
        title="Thames and Chiltern assurance",
        kind="area-assurance",
        area="tc",
        published_date="2023-10-01",
    ),
    event(
        "recommendation-issued",
        T,
        inspection_id="INSP-TC",
        recommendation_id="R1",
        number=1,
        kind="recommendation",
        text="Victim letters on time",
        due_date="2024-06-30",
    ),
    event(
        "response-committed",
        T,
        recommendation_id="R1",
        action_id="A1",
        response="agreed",
        text="Weekly dip sample",
        owner="TC-P1",
        due_date="2024-03-31",
    ),
    event(
        "inspection-published",
        T,
        inspection_id="INSP-WM",
        title="West Midlands assurance",
        kind="area-assurance",
        area="wm",
        published_date="2023-10-01",
    ),
]


@dataclass
class Site:
    runtime: Runtime
    redis: Redis
    client: httpx.AsyncClient

    async def as_(self, staff_id: str) -> dict[str, str]:
        return await bearer(self.runtime, staff_id=staff_id)

    async def stream(self) -> list[dict[str, Any]]:
        entries = await self.redis.xrange(self.runtime.settings.events_stream)
        return [json.loads(fields[ENTRY_FIELD]) for _, fields in entries]

    async def audit_reads(self) -> list[AuditEntry]:
        async with self.runtime.sessions() as session:
            rows = await session.execute(
                select(AuditEntry)
                .where(col(AuditEntry.entity) == "audit-report")
                .order_by(col(AuditEntry.seq))
            )
            return list(rows.scalars())


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    now = datetime(2024, 1, 10, 10, 0, tzinfo=UTC)
    async with open_runtime(settings, today=lambda: TODAY, now=lambda: now) as runtime:
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[parse_event(json.dumps(e)) for e in HISTORY],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=TODAY,
                now=now,
            )
        redis = Redis.from_url(settings.redis_url or "")
        api = build_api(runtime=runtime, redis=redis, today=lambda: TODAY)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield Site(runtime, redis, client)
        await redis.aclose()


async def _session(runtime: Runtime, staff_id: str) -> tuple[dict[str, str], str]:
    """A browser session's cookie and its CSRF token, as sign-in makes them."""
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        secret, row = await issue(
            session=session,
            kind="session",
            scope="staff",
            now=now,
            expires_at=now + timedelta(hours=1),
            staff_id=staff_id,
            csrf=True,
        )
    assert row.csrf
    return {"followup_session": secret}, row.csrf


async def test_area_page_is_the_area_leaders_own(site: Site) -> None:
    dccp = await site.as_("TC-DCCP")
    page = await site.client.get("/area", headers=dccp)
    assert page.status_code == 200
    body = page.text
    assert "<h1>Tc</h1>" in body
    # The page's backlog holds every lapse still open, this week's too; the summary below it
    # leaves out its own copy, so no lapse is listed twice.
    backlog, summary = body.split('id="summary-heading"')
    assert obligation_ref("victim-letter/TC1/V-OLD") in backlog
    assert obligation_ref("victim-letter/TC1/V-NEW") in backlog
    assert "V-NEW" not in summary and "V-OLD" not in summary
    assert body.count("Backlog") == 1
    assert "/WM1/" not in body and "WM-P1" not in body  # another Area's casework never shows
    assert 'src="data:image/png;base64,' in body  # the chart, within img-src 'self' data:
    assert "<script" not in body and "style=" not in body and "<style" not in body
    assert (await site.client.get("/area?area=wm", headers=dccp)).status_code == 404
    # Drill down to a team and a unit of the Area; one not on record is not found.
    team = await site.client.get("/area?team=TC-LM", headers=dccp)
    assert team.status_code == 200 and "<h1>Tc: Name TC-LM's team</h1>" in team.text
    unit = await site.client.get("/area?unit=crown", headers=dccp)
    assert unit.status_code == 200 and "<h1>Tc: Crown unit</h1>" in unit.text
    assert (await site.client.get("/area?unit=nowhere", headers=dccp)).status_code == 404
    for other in ("TC-P1", "TC-LM", "INS-1"):
        refused = await site.client.get("/area", headers=await site.as_(other))
        assert refused.status_code == 403, other


async def test_hq_picks_an_area(site: Site) -> None:
    hq = await site.as_("HQ-1")
    listing = await site.client.get("/area", headers=hq)
    assert listing.status_code == 200
    assert 'href="/area?area=tc"' in listing.text and 'href="/area?area=wm"' in listing.text
    picked = await site.client.get("/area?area=wm", headers=hq)
    assert picked.status_code == 200
    assert obligation_ref("victim-letter/WM1/V-WM") in picked.text
    assert (
        obligation_ref("victim-letter/TC1/V-OLD") not in picked.text and "/TC1/" not in picked.text
    )
    assert (await site.client.get("/area?area=atlantis", headers=hq)).status_code == 404


async def test_summaries_within_scope(site: Site) -> None:
    dccp, manager = await site.as_("TC-DCCP"), await site.as_("TC-LM")
    got = await site.client.get("/summaries?format=json&week=2024-W02", headers=dccp)
    assert got.status_code == 200
    summary = got.json()
    assert (summary["area"], summary["week"]) == ("tc", "2024-W02")
    # The call pack's backlog: every lapse still open, whatever week it fell due in.
    backlog = next(s for s in summary["sections"] if s["kind"] == "backlog")
    assert [i["obligation_id"] for i in backlog["items"]] == [
        "victim-letter/TC1/V-OLD",
        "victim-letter/TC1/V-NEW",
    ]
    assert [(g["key"], g["lapsed"]) for g in backlog["by_week"]] == [
        ("2023-W49", 1),
        ("2024-W02", 1),
    ]
    # A past week is judged as of its Sunday: 8 Dec's letter was 2 days past due then.
    past = (await site.client.get("/summaries?format=json&week=2023-W49", headers=dccp)).json()
    assert (past["as_of"], past["as_of_from"]) == ("2023-12-10", "week-end")
    past_backlog = next(s for s in past["sections"] if s["kind"] == "backlog")
    assert [(i["obligation_id"], i["age_days"]) for i in past_backlog["items"]] == [
        ("victim-letter/TC1/V-OLD", 2)
    ]
    other = await site.client.get("/summaries?format=json&area=wm", headers=dccp)
    assert other.status_code == 404
    team = await site.client.get("/summaries?format=json", headers=manager)
    assert team.status_code == 200 and team.json()["manager"] == "TC-LM"
    assert (
        await site.client.get("/summaries?format=json&team=TC-DCCP", headers=manager)
    ).status_code == 404
    markdown = await site.client.get("/summaries?format=md", headers=dccp)
    assert markdown.text.startswith("# Weekly summary 2024-W02")
    page = await site.client.get("/summaries", headers=dccp)
    assert page.status_code == 200 and "<style" not in page.text
    assert (await site.client.get("/summaries", headers=await site.as_("TC-P1"))).status_code == 403
    bad_week = await site.client.get("/summaries?week=2024-W99", headers=dccp)
    assert bad_week.status_code == 400
    # Inspectors: any Area, Area-level figures only (no person, no case).
    inspector = await site.as_("INS-1")
    seen = await site.client.get("/summaries?format=json&area=tc", headers=inspector)
    assert seen.status_code == 200
    kinds = [(s["kind"], s.get("by")) for s in seen.json()["sections"]]
    assert kinds == [
        ("review", None),
        ("timeliness", None),
        ("breakdown", "unit"),
        ("recommendations", None),
        ("audit", None),  # the audit trail's latest signed checkpoint (none yet here)
    ]
    review = seen.json()["sections"][0]
    assert (review["by_team"], review["by_person"]) == ([], [])
    assert seen.json()["sections"][-1]["checkpoint_id"] is None
    assert "TC1" not in seen.text and "victim-letter/" not in seen.text
    assert (
        await site.client.get("/summaries?format=json&area=tc&team=TC-LM", headers=inspector)
    ).status_code == 403


async def test_inspector_reads_inspections_and_reports_but_records_nothing(site: Site) -> None:
    inspector = await site.as_("INS-1")
    listed = await site.client.get("/inspections?format=json", headers=inspector)
    assert {i["inspection_id"] for i in listed.json()} == {"INSP-TC", "INSP-WM"}
    page = await site.client.get("/inspections/INSP-TC", headers=inspector)
    assert page.status_code == 200 and "Weekly dip sample" in page.text
    assert '<form method="post" action="/inspections' not in page.text  # no forms
    report = await site.client.get("/inspections/INSP-TC/report", headers=inspector)
    assert report.status_code == 200 and "<style" not in report.text
    assert 'href="/inspections/report.css"' in report.text
    css = await site.client.get("/inspections/report.css", headers=inspector)
    assert css.status_code == 200 and ".badge" in css.text
    refused = await site.client.post(
        "/inspections/INSP-TC/actions/A1/evidence",
        data={"evidence": "x", "recorded_date": "2024-01-09"},
        headers=inspector,
    )
    assert refused.status_code == 403
    assessed = await site.client.post(
        "/inspections/INSP-TC/recommendations/R1/assessment",
        data={"rating": "achieved", "assessed_date": "2024-01-09"},
        headers=inspector,
    )
    assert assessed.status_code == 403
    assert await site.stream() == []
    assert (await site.client.get("/area", headers=inspector)).status_code == 403


async def test_inspections_of_another_area_are_not_found(site: Site) -> None:
    dccp = await site.as_("TC-DCCP")
    listed = await site.client.get("/inspections?format=json", headers=dccp)
    assert [i["inspection_id"] for i in listed.json()] == ["INSP-TC"]
    assert (await site.client.get("/inspections/INSP-WM", headers=dccp)).status_code == 404
    report = await site.client.get("/inspections/INSP-WM/report?format=json", headers=dccp)
    assert report.status_code == 404
    assert await site.audit_reads() == []  # nothing read, nothing recorded


async def test_reading_a_report_is_on_the_audit_trail(site: Site) -> None:
    hq = await site.as_("HQ-1")
    got = await site.client.get("/inspections/INSP-TC/report?format=json", headers=hq)
    assert got.status_code == 200 and got.json()["inspection"]["inspection_id"] == "INSP-TC"
    md = await site.client.get("/inspections/INSP-TC/report?format=md", headers=hq)
    assert md.status_code == 200
    reads = await site.audit_reads()
    assert [(r.entity_id, r.action, r.actor, json.loads(r.detail)) for r in reads] == [
        ("INSP-TC", "read", "HQ-1", {"format": "json"}),
        ("INSP-TC", "read", "HQ-1", {"format": "md"}),
    ]
    assert reads[0].caused_by == "http GET /inspections/INSP-TC/report"


async def test_evidence_form_publishes_one_event(site: Site) -> None:
    cookies, csrf = await _session(site.runtime, "TC-P1")
    site.client.cookies.update(cookies)
    form = {"evidence": "Dip sample of 20 letters", "recorded_date": "2024-01-09"}
    stale = await site.client.post("/inspections/INSP-TC/actions/A1/evidence", data=form)
    assert stale.status_code == 403  # no CSRF token
    done = await site.client.post(
        "/inspections/INSP-TC/actions/A1/evidence", data={**form, "csrf_token": csrf}
    )
    assert done.status_code == 303
    published = await site.stream()
    assert len(published) == 1
    sent = parse_event(json.dumps(published[0]))
    assert (sent.type, sent.source) == ("action-evidence-recorded", "/followup/web")
    assert sent.data.model_dump() == {
        "action_id": "A1",
        "evidence": "Dip sample of 20 letters",
        "recorded_by": "TC-P1",
        "recorded_date": date(2024, 1, 9),
    }
    assert done.headers["location"] == f"/inspections/INSP-TC?published={sent.id}"
    shown = await site.client.get(done.headers["location"])
    assert f"Published as event {sent.id}" in shown.text
    for bad, why in (
        ({"evidence": "  ", "recorded_date": "2024-01-09"}, "evidence: must not be empty"),
        ({"evidence": "x", "recorded_date": "9/1/2024"}, "recorded_date: a date written"),
        ({"evidence": "x", "recorded_date": "2024-02-30"}, "recorded_date: a date written"),
        ({"evidence": "x", "recorded_date": "2024-01-11"}, "is after today"),
    ):
        refused = await site.client.post(
            "/inspections/INSP-TC/actions/A1/evidence", data={**bad, "csrf_token": csrf}
        )
        assert refused.status_code == 400 and why in refused.text, bad
    assert len(await site.stream()) == 1  # the refused forms published nothing
    # Not theirs: another Area's DCCP cannot see it; the prosecutor cannot rate it.
    wm = await site.as_("WM-DCCP")
    hidden = await site.client.post(
        "/inspections/INSP-TC/actions/A1/completion",
        data={"completed_date": "2024-01-09"},
        headers=wm,
    )
    assert hidden.status_code == 404
    rating = await site.client.post(
        "/inspections/INSP-TC/recommendations/R1/assessment",
        data={"rating": "achieved", "assessed_date": "2024-01-09", "csrf_token": csrf},
    )
    assert rating.status_code == 403
    assert len(await site.stream()) == 1


async def test_dccp_completes_and_assesses(site: Site) -> None:
    dccp = await site.as_("TC-DCCP")
    page = await site.client.get("/inspections/INSP-TC", headers=dccp)
    assert "/actions/A1/completion" in page.text and "/recommendations/R1/assessment" in page.text
    done = await site.client.post(
        "/inspections/INSP-TC/actions/A1/completion",
        data={"completed_date": "2024-01-10"},
        headers=dccp,
    )
    assert done.status_code == 303
    bad = await site.client.post(
        "/inspections/INSP-TC/recommendations/R1/assessment",
        data={"rating": "excellent", "assessed_date": "2024-01-10"},
        headers=dccp,
    )
    assert bad.status_code == 400 and "not one of the configured ratings" in bad.text
    rated = await site.client.post(
        "/inspections/INSP-TC/recommendations/R1/assessment",
        data={"rating": "achieved", "assessed_date": "2024-01-10", "notes": "seen"},
        headers=dccp,
    )
    assert rated.status_code == 303
    types = [(e["type"], e["data"].get("completed_by") or e["data"].get("assessed_by"))
             for e in await site.stream()]  # fmt: skip
    assert types == [("action-completed", "TC-DCCP"), ("follow-up-assessed", "TC-DCCP")]


async def test_dead_letters_for_hq_only(site: Site) -> None:
    async with site.runtime.sessions() as session, session.begin():
        letter = DeadLetter(origin="publish", line=3, field="type", reason="unknown type", raw="{}")
        await add_dead_letters(session=session, letters=[letter], now=site.runtime.now())
    hq = await site.as_("HQ-1")
    listed = await site.client.get("/dead-letters", headers=hq)
    assert listed.status_code == 200
    assert [(d["line"], d["reason"]) for d in listed.json()] == [(3, "unknown type")]
    one = await site.client.get(f"/dead-letters/{listed.json()[0]['id']}", headers=hq)
    assert one.json()["raw"] == "{}"
    system = await bearer(site.runtime, system="monitor", scope="read")
    assert (await site.client.get("/dead-letters", headers=system)).status_code == 200
    for other in ("TC-DCCP", "INS-1"):
        refused = await site.client.get("/dead-letters", headers=await site.as_(other))
        assert refused.status_code == 403, other


async def test_a_published_form_is_applied_by_the_tracker(pipeline: Pipeline) -> None:
    """The stream stays the one source of truth: the form's event goes through the consumer
    like any other, and the page shows it once applied."""
    await pipeline.publish([json.dumps(e) for e in HISTORY])
    await pipeline.settle()
    api = build_api(runtime=pipeline.runtime, redis=pipeline.redis, today=lambda: TODAY)
    owner = await bearer(pipeline.runtime, staff_id="TC-P1")
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        before = await client.get("/inspections/INSP-TC", headers=owner)
        assert "no evidence yet" in before.text
        done = await client.post(
            "/inspections/INSP-TC/actions/A1/evidence",
            data={"evidence": "https://intranet.example/dip-sample", "recorded_date": "2024-01-09"},
            headers=owner,
        )
        assert done.status_code == 303
        await pipeline.settle()
        after = await client.get("/inspections/INSP-TC", headers=owner)
        assert "1 piece of evidence, latest Tue 9 Jan 2024" in after.text
        report = await client.get("/inspections/INSP-TC/report?format=json", headers=owner)
    evidence = report.json()["recommendations"][0]["evidence"]
    assert evidence == [
        {
            "action_id": "A1",
            "evidence": "https://intranet.example/dip-sample",
            "recorded_by": "TC-P1",
            "recorded_date": "2024-01-09",
        }
    ]
