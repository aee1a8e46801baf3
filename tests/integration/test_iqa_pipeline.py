"""IQA through the real pipeline (Redis, and SQLite and PostgreSQL): the held-back national set
(tests/iqa_national.py) gives exactly the expected quota and reassessment obligations, and the
measures read back from the stored facts give exactly the leniency rates and gap per Area."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from services.entrypoints.http.api import build_api
from services.platform.settings import Settings
from services.summaries.iqa_queries import iqa_measures
from services.summaries.packs.build import build_pack
from services.summaries.packs.iqa_section import IqaSection
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import render_pack
from services.tracker.queries import explain_obligation
from tests.access import bearer
from tests.factories import event
from tests.integration.conftest import Pipeline, running_pipeline
from tests.iqa_national import (
    EXPECTED_AREAS,
    EXPECTED_ASSESSORS,
    EXPECTED_NATIONAL,
    IQAS,
    national_set,
)

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 20)
# LM-T2 did one IQA in October (quota 2) and nobody reassessed it.
SHORT = [
    event("staff-updated", "2026-09-01T09:00:00+01:00", id_="staff-LM-T2", staff_id="LM-T2",
          name="Manager T2", email="lm-t2@example.org", role="legal-manager",
          area="thames-and-chiltern", unit="magistrates", line_manager="SM-T"),
    event("iqa-completed", "2026-10-20T15:00:00+01:00", id_="c-IQA-LM-T2-0", iqa_id="IQA-LM-T2-0",
          urn="43T20000000", stage="case-progression", assessor="LM-T2", prosecutor="P-9",
          assessed_date="2026-10-20", answers={"disclosure-schedules": "yes"},
          rating="fully-met"),
]  # fmt: skip
# Worked out by hand: quota met on the date of the second IQA (all assessors but LM-T2 did
# one on the 2nd and one on the 4th); due +5 working days after Saturday 31 October; one IQA
# of each assessor's month drawn (ceil(10% of 6 or 9) = 1, the smallest SHA-256), owner the
# line manager, due +10 working days after 31 October, met by the reassessment of 5 November.
EXPECTED = {
    **{
        f"iqa-quota/{who}/2026-10": (who, area, "2026-11-06", "met", "2026-10-04")
        for who, area in [
            ("LM-E1", "east-of-england"),
            ("LM-E2", "east-of-england"),
            ("LM-T1", "thames-and-chiltern"),
            ("LM-W1", "wessex"),
            ("LM-W2", "wessex"),
        ]
    },
    "iqa-quota/LM-T2/2026-10": ("LM-T2", "thames-and-chiltern", "2026-11-06", "lapsed", None),
    "iqa-reassessment/LM-E1/2026-10/IQA-LM-E1-1": (
        "SM-E", "east-of-england", "2026-11-13", "met", "2026-11-05"),
    "iqa-reassessment/LM-E2/2026-10/IQA-LM-E2-0": (
        "SM-E", "east-of-england", "2026-11-13", "met", "2026-11-05"),
    "iqa-reassessment/LM-T1/2026-10/IQA-LM-T1-5": (
        "SM-T", "thames-and-chiltern", "2026-11-13", "met", "2026-11-05"),
    "iqa-reassessment/LM-T2/2026-10/IQA-LM-T2-0": (
        "SM-T", "thames-and-chiltern", "2026-11-13", "lapsed", None),
    "iqa-reassessment/LM-W1/2026-10/IQA-LM-W1-0": (
        "SM-W", "wessex", "2026-11-13", "met", "2026-11-05"),
    "iqa-reassessment/LM-W2/2026-10/IQA-LM-W2-3": (
        "SM-W", "wessex", "2026-11-13", "met", "2026-11-05"),
}  # fmt: skip


@pytest.fixture
async def pipeline_on_day(settings: Settings) -> AsyncIterator[Pipeline]:
    async with running_pipeline(settings, today=lambda: TODAY) as running:
        yield running


async def test_national_set_gives_exactly_the_obligations_and_rates(
    pipeline_on_day: Pipeline,
) -> None:
    pipeline = pipeline_on_day
    lines = [json.dumps(e) for e in national_set() + SHORT]
    random.Random(19).shuffle(lines)
    report = await pipeline.publish(lines)
    assert report.rejected == []
    await pipeline.publish(lines[::3])  # duplicates change nothing
    await pipeline.settle()

    rows = {
        **await pipeline.obligations(TODAY, rule="iqa-quota"),
        **await pipeline.obligations(TODAY, rule="iqa-reassessment"),
    }
    found = {
        id_: (row["owner"], row["area"], row["due"], row["state"], row["closed_on"])
        for id_, row in rows.items()
    }
    assert found == EXPECTED

    # `followup explain` reads the same: the quota counted, the draw, warnings and history.
    async with pipeline.runtime.sessions() as session:
        quota = await explain_obligation(
            session=session,
            obligation_id="iqa-quota/LM-T2/2026-10",
            today=TODAY,
            rules=pipeline.runtime.rules,
            calendar=pipeline.runtime.calendar,
        )
        drawn = await explain_obligation(
            session=session,
            obligation_id="iqa-reassessment/LM-T2/2026-10/IQA-LM-T2-0",
            today=TODAY,
            rules=pipeline.runtime.rules,
            calendar=pipeline.runtime.calendar,
        )
    assert quota is not None and drawn is not None
    assert "1 of the quota of 2 recorded" in quota["explanation"]
    assert quota["unconfirmed"] is True
    assert quota["warnings"] == [{"working_days_before": 3, "on": "2026-11-03"}]
    assert [h["kind"] for h in quota["history"]] == ["opened"]
    assert "drawn for 2026-10: 1 of 1" in drawn["explanation"]
    assert drawn["state"] == "lapsed" and drawn["owner"] == "SM-T"

    async with pipeline.runtime.sessions() as session:
        result = await iqa_measures(session=session, first=date(2026, 10, 1), last=TODAY)
    areas = {a.name: (a.reassessed, a.lenient, a.leniency_pct, a.gap_pp) for a in result.areas}
    assert areas == EXPECTED_AREAS
    assessors = {
        a.name: (a.reassessed, a.lenient, a.leniency_pct, a.gap_pp)
        for a in result.assessors
        if a.name != "LM-T2"
    }
    assert assessors == EXPECTED_ASSESSORS
    national = result.national
    assert (national.reassessed, national.lenient, national.leniency_pct, national.gap_pp) == (
        EXPECTED_NATIONAL
    )
    assert national.iqas == IQAS + 1
    assert {u.name: u.iqas for u in result.units}["thames-and-chiltern/magistrates"] == 1


async def test_monthly_and_quarterly_packs_hold_the_iqa_section(pipeline_on_day: Pipeline) -> None:
    pipeline = pipeline_on_day
    ccp = event("staff-updated", "2026-09-01T09:00:00+01:00", id_="staff-CCP-W",
                staff_id="CCP-W", name="Chief W", email="ccp-w@example.org", role="ccp",
                area="wessex")  # fmt: skip
    await pipeline.publish([json.dumps(e) for e in [*national_set(), *SHORT, ccp]])
    await pipeline.settle()
    async with pipeline.runtime.sessions() as session:
        monthly = await build_pack(
            session=session, area="wessex", period=PackPeriod.of(TODAY, "monthly"), as_of=TODAY
        )
        quarterly = await build_pack(
            session=session,
            area="thames-and-chiltern",
            period=PackPeriod.of(TODAY, "quarterly"),
            as_of=TODAY,
        )
    section = monthly.section("iqa")
    assert isinstance(section, IqaSection)
    assert section.assessed == "2026-10"  # the month whose quota and sample fall due in November
    rows = {
        m.manager: (m.iqas, m.quota.met, m.quota.due, m.reassessment.met, m.leniency_pct, m.gap_pp)
        for m in section.managers
    }
    assert rows == {"LM-W1": (6, 1, 1, 1, 50.0, 50.0), "LM-W2": (6, 1, 1, 1, 50.0, 25.0)}
    assert (section.area.leniency_pct, section.area.gap_pp) == (50.0, 37.5)
    assert (section.national.leniency_pct, section.national.gap_pp) == (38.1, 28.6)
    assert [u.name for u in section.units] == ["wessex/crown", "wessex/magistrates"]
    markdown = render_pack(monthly, "md")
    assert "## Individual Quality Assessments (IQA), 2026-11" in markdown
    assert "| wessex | 12 | 8 | 4 | 50.0% | +37.5 |" in markdown
    assert "| national | 34 | 21 | 8 | 38.1% | +28.6 |" in markdown
    assert "| disclosure-schedules | no 2, yes 10 | 8 | 1 |" in markdown
    html = render_pack(monthly, "html")
    assert "Individual Quality Assessments (IQA), 2026-11" in html and "+37.5" in html
    csv = render_pack(monthly, "csv")
    assert "iqa,leniency-tenths,area:wessex,2026-11,,,,,,,500" in csv

    tc = quarterly.section("iqa")
    assert isinstance(tc, IqaSection)
    assert {m.manager: (m.iqas, m.quota.lapsed) for m in tc.managers} == {
        "LM-T1": (9, 0),
        "LM-T2": (1, 1),
    }
    assert (tc.area.reassessed, tc.area.leniency_pct, tc.area.gap_pp) == (6, 16.7, 16.7)
    assert (tc.reassessment.met, tc.reassessment.lapsed) == (1, 1)

    # In the browser: the Area's CCP sees the section on the pack page (/area/packs).
    api = build_api(runtime=pipeline.runtime, redis=pipeline.redis, today=lambda: TODAY)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ccp = await bearer(pipeline.runtime, staff_id="CCP-W")
        page = await client.get("/area/packs?area=wessex&month=2026-11", headers=ccp)
        assert page.status_code == 200
        assert "Individual Quality Assessments (IQA), 2026-11" in page.text
        assert '<td>wessex</td><td class="n">12</td>' in page.text and "+37.5" in page.text
