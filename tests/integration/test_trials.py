"""Trials not proceeding for prosecution reasons through the real pipeline, on SQLite and
PostgreSQL (docs/contract.md, section 9, "Added: trials not proceeding"): the outcomes of a
hand-written July 2017, some held back and delivered late, corrected out of order and
delivered twice, give exactly the rates worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from services.entrypoints.http.api import build_api
from services.summaries.packs.build import build_pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import render_pack
from services.summaries.trial_queries import standing_trials
from services.summaries.trials import Rate, TrialsSection, court_lines, rate, trend_periods
from tests.access import bearer
from tests.factories import case, event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

EE, WX = "east-of-england", "wessex"
JULY = PackPeriod.parse("2017-07")
Q3 = PackPeriod.parse("2017-Q3")


def trial(
    hearing: str,
    outcome: str,
    by: str | None = None,
    *,
    court: str = "magistrates",
    on: str = "2017-07-12",
    area: str | None = EE,
    time: str = "2017-07-12T17:00:00+01:00",
    **more: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {"court_type": court, "outcome": outcome, "trial_date": on}
    if by:
        data |= {"attributable_to": by, "reason": f"attributed to the {by}"}
    if area:
        data["area"] = area
    urn = more.pop("urn", f"U-{hearing}")
    return event(
        "trial-outcome-recorded", time, source="/hmcts", urn=urn, hearing_id=hearing, **data, **more
    )


# East of England, magistrates', July, first delivery: 5 trials, 2 for prosecution reasons.
FIRST = [
    trial("H1", "effective"),
    trial("H2", "cracked", "prosecution"),  # no evidence offered on the day
    trial("H3", "ineffective", "prosecution"),
    trial("H4", "cracked", "defence"),
    trial("H5", "ineffective", "court"),
    trial("W1", "ineffective", "prosecution", area=WX),
    trial("C1", "effective", court="crown"),
]
CORRECTED_H3 = trial(
    "H3", "ineffective", "defence", time="2017-07-13T09:00:00+01:00", id_="h3-corrected"
)
# Held back and delivered late: H3 corrected to the defence's (a later `time`), H6 whose Area
# is its case's (registered in the same late delivery), an older outcome of H2 (an earlier
# `time`, which must not replace the standing one), a Crown Court trial, and FIRST's H1 again.
LATE = [
    CORRECTED_H3,
    case("CASE-6", area=EE, unit="magistrates"),
    trial("H6", "ineffective", "prosecution", area=None, urn="CASE-6"),
    trial("H2", "effective", time="2017-07-12T10:00:00+01:00"),
    trial("C2", "cracked", "prosecution", court="crown"),
    trial("H7", "cracked", "prosecution", on="2017-06-20"),  # June's
]


async def trials_of(pipeline: Pipeline) -> Any:
    async with pipeline.runtime.sessions() as session:
        return await standing_trials(session=session)


async def test_held_back_outcomes_give_exactly_the_rates(pipeline: Pipeline) -> None:
    report = await pipeline.publish(lines(*FIRST))
    assert (report.published, report.rejected_lines) == (len(FIRST), 0)
    await pipeline.settle()
    first = rate(
        await trials_of(pipeline),
        court_type="magistrates",
        first=JULY.start,
        last=JULY.end,
        area=EE,
    )
    assert first == Rate(trials=5, prosecution=2, cracked=1, ineffective=1)  # H2, H3: 40.0%
    assert first.pct == 40.0

    await pipeline.publish(lines(*LATE, FIRST[0], CORRECTED_H3))
    await pipeline.settle()
    trials = await trials_of(pipeline)
    # Magistrates', July, East of England: H1 to H6, 6 trials; prosecution H2 (cracked) and
    # H6 (ineffective; H3 now the defence's): 2 of 6 = 33.3%. Nationally W1 too: 3 of 7 = 42.9%.
    mags, crown = court_lines(
        trials, area=EE, period=JULY, trend=trend_periods(JULY, 2), national={"crown": 20.0}
    )
    assert mags.area == Rate(trials=6, prosecution=2, cracked=1, ineffective=1)
    assert (mags.area.pct, mags.national_measured.pct, mags.national_figure) == (33.3, 42.9, None)
    assert (mags.gap_pp, mags.verdict) == (-9.6, "better than national")
    assert [(label, r.prosecution, r.trials) for label, r in mags.trend] == [
        ("2017-06", 1, 1),
        ("2017-07", 2, 6),
    ]
    # Crown Court: C1 effective, C2 cracked for the prosecution: 1 of 2 = 50.0%, 30.0 points
    # worse than the national figure of 20.0 set.
    assert (crown.area.pct, crown.gap_pp, crown.verdict) == (50.0, 30.0, "worse than national")
    status = await pipeline.status()
    assert status["dead_letters"] == 0


async def test_the_monthly_and_quarterly_packs_show_the_rate_against_national(
    pipeline: Pipeline,
) -> None:
    await pipeline.publish(lines(*FIRST, *LATE))
    await pipeline.settle()
    national = {"magistrates": 25.0}
    async with pipeline.runtime.sessions() as session:
        monthly = await build_pack(
            session=session, area=EE, period=JULY, as_of=JULY.end, national=national
        )
        quarterly = await build_pack(
            session=session, area=EE, period=Q3, as_of=Q3.end, national=national
        )
    section = monthly.section("trials")
    assert isinstance(section, TrialsSection)
    mags = section.lines[0]
    # 2 of 6 = 33.3%, 8.3 points worse than the 25.0 set; six months of trend, June's H7 1 of 1.
    assert (mags.area.pct, mags.gap_pp, mags.verdict) == (33.3, 8.3, "worse than national")
    assert [label for label, _ in mags.trend] == [f"2017-0{m}" for m in range(2, 8)]
    assert [r.trials for _, r in mags.trend] == [0, 0, 0, 0, 1, 6]
    q3 = quarterly.section("trials")
    assert isinstance(q3, TrialsSection)
    assert [label for label, _ in q3.lines[0].trend] == ["2016-Q4", "2017-Q1", "2017-Q2", "2017-Q3"]
    assert [(r.prosecution, r.trials) for _, r in q3.lines[0].trend] == [
        (0, 0),
        (0, 0),
        (1, 1),
        (2, 6),
    ]
    # Every format carries it.
    assert "Trials not proceeding on the day for prosecution reasons, 2017-07" in render_pack(
        monthly, "md"
    )
    assert "worse than national" in render_pack(monthly, "html")
    assert '"verdict": "worse than national"' in render_pack(monthly, "json")
    assert "trials,prosecution,magistrates,2017-07" in render_pack(monthly, "csv")


@pytest.mark.parametrize("settings", [{"trials_national_magistrates_pct": 25.0}], indirect=True)
async def test_the_area_page_shows_last_month_against_the_national_figure(
    pipeline: Pipeline,
) -> None:
    dccp = event(
        "staff-updated",
        "2017-06-01T08:00:00+01:00",
        staff_id="EE-DCCP",
        name="Dee Cee",
        email="dccp@example.test",
        role="dccp",
        area=EE,
        unit=None,
        line_manager=None,
    )
    await pipeline.publish(lines(dccp, *FIRST, *LATE))
    await pipeline.settle()
    runtime = pipeline.runtime
    api = build_api(runtime=runtime, redis=pipeline.redis, today=lambda: date(2017, 8, 10))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        page = await client.get("/area", headers=await bearer(runtime, staff_id="EE-DCCP"))
        unit = await client.get(
            "/area?unit=magistrates", headers=await bearer(runtime, staff_id="EE-DCCP")
        )
    assert page.status_code == 200, page.text
    trials = page.text.split("Trials not proceeding on the day for prosecution reasons, 2017-07")
    assert len(trials) == 2
    # Magistrates': 2 of 6 = 33.3% against the 25.0% set, 8.3 points worse; Crown Court: 1 of
    # 2 = 50.0% against the 1 of 2 measured nationally (no figure set).
    shown = trials[1]
    assert "33.3%" in shown and "25.0%" in shown and "+8.3" in shown
    assert "worse than national" in shown and "not set" in shown and "at national" in shown
    assert "<script" not in shown and "style=" not in shown
    assert unit.status_code == 200 and "Trials not proceeding" not in unit.text
