"""The monthly performance review pack (2017-08) and the quarterly Area Performance Review
pack (2017-Q3) from a hand-written July to September through the real pipeline, on SQLite
and PostgreSQL; expected figures worked out by hand in the comments. The scheduler claims
each Area and period once and emails the CCP and ABM.

August 2017: Monday 28 is the summer bank holiday."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import select

from schemas.tables import AuditEntry, PublishedSummary
from services.audit.checkpoints import make_checkpoint
from services.entrypoints.cli.packs import render_pack_text
from services.platform.audit_key import signing_key
from services.platform.audit_trail import verify_chain
from services.platform.settings import Settings
from services.rules.calendar import LONDON
from services.summaries.packs.build import PeriodNotBegun, build_pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.publisher import PackPublisher
from services.summaries.packs.render import pack_json
from services.summaries.publisher import SummaryPublisher
from tests.factories import case, event, lines
from tests.integration.conftest import Pipeline
from tests.integration.test_summary_schedule import html_of, png_of, smtp, with_settings  # noqa: F401

pytestmark = pytest.mark.integration

AREA = "thames-and-chiltern"
AUG = PackPeriod.parse("2017-08")
Q3 = PackPeriod.parse("2017-Q3")
CPS = "/cps/thames-and-chiltern/assurance"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"summary_schedule": False})


def staff(staff_id: str, role: str, unit: str | None, manager: str | None) -> dict[str, Any]:
    return event(
        "staff-updated",
        "2017-06-01T08:00:00+01:00",
        staff_id=staff_id,
        name=f"Name {staff_id}",
        email=f"{staff_id.lower()}@example.test",
        role=role,
        area=AREA,
        unit=unit,
        line_manager=manager,
    )


def at(day: str) -> str:
    return f"{day}T12:00:00+01:00"


def letter(urn: str, victim: str, decision: str, day: str, enhanced: bool) -> dict[str, Any]:
    return event(
        "victim-letter-due",
        at(day),
        urn=urn,
        victim_id=victim,
        decision=decision,
        decision_date=day,
        enhanced=enhanced,
    )


def sent(urn: str, victim: str, day: str) -> dict[str, Any]:
    return event("victim-letter-sent", at(day), urn=urn, victim_id=victim, sent_date=day)


def finalised(urn: str, day: str, code: str | None) -> dict[str, Any]:
    extra = {"unsuccessful_reason_code": code} if code else {}
    return event(
        "case-finalised",
        at(day),
        urn=urn,
        finalised_date=day,
        outcome="acquitted",
        successful=False,
        **extra,
    )


def checked(urn: str, by: str, day: str) -> dict[str, Any]:
    return event("finalisation-checked", at(day), urn=urn, checked_by=by, checked_date=day)


def review(
    urn: str, stage: str, hearing_day: str, by: str, reviewed: str | None
) -> list[dict[str, Any]]:
    court = stage.split("-")[0]
    made = [
        case(
            urn,
            owner=by,
            unit="crown" if court == "crown" else "magistrates",
            time="2017-06-01T09:00:00+01:00",
        ),
        event(
            "hearing-updated",
            at("2017-07-01"),
            urn=urn,
            hearing_id="H1",
            court=f"Reading {court} court",
            court_type=court,
            hearing_date=hearing_day,
            status="listed",
        ),
        event("case-review-due", at("2017-07-01"), urn=urn, stage=stage, hearing_id="H1"),
    ]
    if reviewed:
        made.append(
            event(
                "case-reviewed",
                at(reviewed),
                urn=urn,
                stage=stage,
                reviewed_by=by,
                reviewed_date=reviewed,
            )
        )
    return made


def quarter() -> list[dict[str, Any]]:
    return [
        staff("CCP1", "ccp", None, None),
        staff("ABM1", "abm", None, None),
        staff("DCCP1", "dccp", None, None),
        staff("LM1", "legal-manager", "magistrates", "DCCP1"),
        staff("LM2", "legal-manager", "crown", "DCCP1"),
        staff("P1", "prosecutor", "magistrates", "LM1"),
        staff("P2", "prosecutor", "crown", "LM2"),
        *(
            case(u, owner="P1", unit="magistrates", time="2017-06-01T09:00:00+01:00")
            for u in ("M1", "M2", "M3")
        ),
        *(
            case(u, owner="P2", unit="crown", time="2017-06-01T09:00:00+01:00")
            for u in ("C1", "C2")
        ),
        # Case reviews (1 working day before a first hearing, 5 before PTPH, 10 before trial).
        # M4 first hearing Fri 4 Aug: due Thu 3, reviewed Wed 2: met.
        *review("M4", "magistrates-first-hearing", "2017-08-04", "P1", "2017-08-02"),
        # M5 trial Mon 4 Sep: due Fri 18 Aug (28 August a bank holiday), never: lapsed.
        *review("M5", "magistrates-trial", "2017-09-04", "P1", None),
        # C3 PTPH Tue 15 Aug: due Tue 8, reviewed Thu 10: late.
        *review("C3", "crown-ptph", "2017-08-15", "P2", "2017-08-10"),
        # C4 trial Thu 3 Aug: due Thu 20 July, reviewed 19 July: met (July).
        *review("C4", "crown-trial", "2017-08-03", "P2", "2017-07-19"),
        # Victim letters, August. M1 enhanced, due Wed 2, sent 2: met (LM1).
        letter("M1", "V1", "no-charge", "2017-08-01", True),
        sent("M1", "V1", "2017-08-02"),
        # M2 standard, due Mon 14, sent Wed 16: late (LM1).
        letter("M2", "V1", "discontinued", "2017-08-07", False),
        sent("M2", "V1", "2017-08-16"),
        # C1 standard, due Mon 21, never: missing (LM2).
        letter("C1", "V1", "charge-altered", "2017-08-14", False),
        # C2 enhanced, due Thu 24, sent 24: met (LM2).
        letter("C2", "V1", "discontinued", "2017-08-23", True),
        sent("C2", "V1", "2017-08-24"),
        # July: M3 standard due Mon 17 July, sent 14: met; C1/V2 enhanced due Tue 18: missing.
        letter("M3", "V1", "no-charge", "2017-07-10", False),
        sent("M3", "V1", "2017-07-14"),
        letter("C1", "V2", "discontinued", "2017-07-17", True),
        # Reason codes missing. M1 due Tue 8 Aug, corrected Mon 7: met. C1 due Thu 17,
        # corrected Tue 22: late. M2 due Wed 23: still missing. C2 (July) due Mon 10 July.
        finalised("M1", "2017-08-01", None),
        finalised("M1", "2017-08-07", "J1"),
        finalised("C1", "2017-08-10", None),
        finalised("C1", "2017-08-22", "K2"),
        finalised("M2", "2017-08-16", None),
        finalised("C2", "2017-07-03", None),
        # Finalisation checks in July: LM1 three (one drawn, second-checked on 10 August:
        # the review names each of the three, so whichever was drawn is met), LM2 one (drawn,
        # never second-checked). Both due 14 August (10 working days after 31 July).
        checked("M1", "LM1", "2017-07-05"),
        checked("M2", "LM1", "2017-07-06"),
        checked("M3", "LM1", "2017-07-07"),
        checked("C1", "LM2", "2017-07-10"),
        *(
            event(
                "sampled-check-reviewed",
                at("2017-08-10"),
                urn=u,
                checked_by="LM1",
                checked_date="2017-07-05",
                reviewed_by="DCCP1",
                reviewed_date="2017-08-10",
            )
            for u in ("M1", "M2", "M3")
        ),
        # August: LM1 checks M1 twice and M2 (2 checks), LM2 checks C1 (1): one drawn each,
        # due Thu 14 September, never second-checked.
        checked("M1", "LM1", "2017-08-03"),
        checked("M1", "LM1", "2017-08-04"),
        checked("M2", "LM1", "2017-08-08"),
        checked("C1", "LM2", "2017-08-09"),
        # Custody. C1/D1 expires Thu 10 Aug, trial started Wed 9: met, a near miss (1 day).
        event(
            "custody-time-limit-set",
            at("2017-06-20"),
            urn="C1",
            defendant_id="D1",
            limit="summary-56",
            custody_start="2017-06-20",
            expires_on="2017-08-10",
        ),
        event(
            "custody-time-limit-reviewed",
            at("2017-07-12"),
            urn="C1",
            defendant_id="D1",
            reviewed_date="2017-07-12",
            reviewed_by="P2",
        ),
        event(
            "custody-time-limit-ended",
            "2017-08-09T10:00:00+01:00",
            urn="C1",
            defendant_id="D1",
            reason="trial-started",
        ),
        # C2/D1 expires Fri 25 Aug, never ended: a failure.
        event(
            "custody-time-limit-set",
            at("2017-07-01"),
            urn="C2",
            defendant_id="D1",
            limit="summary-56",
            custody_start="2017-07-01",
            expires_on="2017-08-25",
        ),
        # M3/D1 expires Wed 20 Sep; its review due Wed 23 Aug was done Fri 25: a near miss.
        event(
            "custody-time-limit-set",
            at("2017-08-01"),
            urn="M3",
            defendant_id="D1",
            limit="summary-56",
            custody_start="2017-08-01",
            expires_on="2017-09-20",
        ),
        event(
            "custody-time-limit-reviewed",
            at("2017-08-25"),
            urn="M3",
            defendant_id="D1",
            reviewed_date="2017-08-25",
            reviewed_by="P1",
        ),
        # Inspection follow-up: committed in July, evidence on 15 August (taken in August).
        event(
            "inspection-published",
            "2017-06-01T10:00:00+01:00",
            source="/hmcpsi",
            inspection_id="INS-TC-2017",
            title="Thames and Chiltern",
            kind="area-assurance",
            area=AREA,
            published_date="2017-06-01",
        ),
        event(
            "recommendation-issued",
            "2017-06-01T10:00:00+01:00",
            source="/hmcpsi",
            inspection_id="INS-TC-2017",
            recommendation_id="TC-R1",
            number=1,
            kind="recommendation",
            text="Analyse all VCL data monthly.",
            area=AREA,
        ),
        event(
            "response-committed",
            "2017-07-10T10:00:00+01:00",
            source=CPS,
            recommendation_id="TC-R1",
            action_id="TC-A1",
            response="agreed",
            text="Monthly analysis.",
            owner="DCCP1",
            due_date="2017-09-29",
        ),
        event(
            "action-evidence-recorded",
            "2017-08-15T10:00:00+01:00",
            source=CPS,
            action_id="TC-A1",
            evidence="analysis July",
            recorded_by="DCCP1",
            recorded_date="2017-08-15",
        ),
    ]


@pytest.fixture
async def loaded(pipeline: Pipeline) -> Pipeline:
    report = await pipeline.publish(lines(*quarter()))
    assert not report.rejected
    await pipeline.settle()
    return pipeline


def counts(due: int, met: int, late: int, lapsed: int, open_: int, pct: float | None) -> dict:  # type: ignore[type-arg]
    return {
        "due": due,
        "met": met,
        "late": late,
        "lapsed": lapsed,
        "open": open_,
        "on_time_pct": pct,
    }


async def pack_of(pipeline: Pipeline, period: PackPeriod, as_of: date) -> dict[str, Any]:
    async with pipeline.runtime.sessions() as session:
        found = await build_pack(session=session, area=AREA, period=period, as_of=as_of)
    return {s["kind"] + s.get("measure", ""): s for s in pack_json(found)["sections"]}


def rows(table: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {r["label"]: (r["current"], r["previous"]) for r in table}


async def test_monthly_pack_figures(loaded: Pipeline) -> None:
    pack = await pack_of(loaded, AUG, AUG.end)

    letters = pack["victim-letters"]
    assert letters["total"]["current"] == counts(4, 2, 1, 1, 0, 50.0)
    assert letters["total"]["previous"] == counts(2, 1, 0, 1, 0, 50.0)
    assert letters["total"]["change_points"] == 0.0
    teams = rows(letters["by_team"])
    assert teams["Name LM1 (LM1)"][0] == counts(2, 1, 1, 0, 0, 50.0)
    assert teams["Name LM2 (LM2)"][0] == counts(2, 1, 0, 1, 0, 50.0)
    decisions = rows(letters["by_decision"])
    assert decisions["no-charge"] == (counts(1, 1, 0, 0, 0, 100.0), counts(1, 1, 0, 0, 0, 100.0))
    assert decisions["discontinued"] == (counts(2, 1, 1, 0, 0, 50.0), counts(1, 0, 0, 1, 0, 0.0))
    assert decisions["charge-altered"][0] == counts(1, 0, 0, 1, 0, 0.0)
    victims = rows(letters["by_victim"])
    assert victims["enhanced"] == (counts(2, 2, 0, 0, 0, 100.0), counts(1, 0, 0, 1, 0, 0.0))
    assert victims["standard"] == (counts(2, 0, 1, 1, 0, 0.0), counts(1, 1, 0, 0, 0, 100.0))

    reviews = pack["reviews"]
    courts = rows(reviews["by_court"])
    assert courts["magistrates"][0] == counts(2, 1, 0, 1, 0, 50.0)
    assert courts["crown"] == (counts(1, 0, 1, 0, 0, 0.0), counts(1, 1, 0, 0, 0, 100.0))
    assert reviews["total"]["current"] == counts(3, 1, 1, 1, 0, 33.3)

    quality = pack["data-quality"]
    assert quality["total"]["current"] == counts(3, 1, 1, 1, 0, 33.3)
    assert quality["total"]["previous"] == counts(1, 0, 0, 1, 0, 0.0)
    units = rows(quality["by_unit"])
    assert units["magistrates"][0] == counts(2, 1, 0, 1, 0, 50.0)
    assert units["crown"] == (counts(1, 0, 1, 0, 0, 0.0), counts(1, 0, 0, 1, 0, 0.0))

    managers = {m["manager"]: m for m in pack["assurance"]["managers"]}
    assert (managers["LM1"]["checks_recorded"], managers["LM1"]["sampled"]) == (
        2,
        counts(1, 1, 0, 0, 0, 100.0),
    )
    assert (managers["LM2"]["checks_recorded"], managers["LM2"]["sampled"]) == (
        1,
        counts(1, 0, 0, 1, 0, 0.0),
    )
    assert managers["LM1"]["name"] == "Name LM1"

    custody = pack["custody"]
    assert custody["limits"]["current"] == counts(2, 1, 0, 1, 0, 50.0)
    assert [(e["obligation_id"].split("/")[1], e["outcome"]) for e in custody["failures"]] == [
        ("C2", "lapsed")
    ]
    near = [(e["rule"], e["urn"], e["outcome"]) for e in custody["near_misses"]]
    assert near == [
        ("custody-time-limit", "C1", "ended 1 day(s) before expiry"),
        ("ctl-28-day-review", "M3", "28-day review done late"),
    ]

    statuses = {c["status"]: c["count"] for c in pack["recommendations"]["counts"]}
    assert statuses["on-track"] == 1 and pack["recommendations"]["total"] == 1
    taken = [
        (a["on"], a["entity"], a["entity_id"], a["event_type"]) for a in pack["actions"]["items"]
    ]
    assert taken == [("2017-08-15", "action", "TC-A1", "action-evidence-recorded")]


async def test_quarterly_pack_figures_and_formats(loaded: Pipeline) -> None:
    pack = await pack_of(loaded, Q3, Q3.end)
    quality = pack["compliancedata-quality"]
    assert quality["months"] == ["2017-07", "2017-08", "2017-09"]
    assert quality["area"]["quarter"] == counts(4, 1, 1, 2, 0, 25.0)
    assert quality["area"]["previous"] == counts(0, 0, 0, 0, 0, None)
    units = {t["label"]: t for t in quality["units"]}
    assert units["crown"]["months"] == [
        counts(1, 0, 0, 1, 0, 0.0),
        counts(1, 0, 1, 0, 0, 0.0),
        counts(0, 0, 0, 0, 0, None),
    ]
    assert units["magistrates"]["quarter"] == counts(2, 1, 0, 1, 0, 50.0)
    checks = pack["complianceassurance"]
    assert [m["due"] for m in checks["area"]["months"]] == [0, 2, 2]
    assert checks["area"]["quarter"] == counts(4, 1, 0, 3, 0, 25.0)
    units = {t["label"]: t["quarter"] for t in checks["units"]}
    assert units == {
        "crown": counts(2, 0, 0, 2, 0, 0.0),
        "magistrates": counts(2, 1, 0, 1, 0, 50.0),
    }
    assert checks["checks_recorded"] == [4, 3, 0]

    for fmt, expected in (
        ("md", "| Area | - (0) | 50.0% (2) | 0.0% (2) |"),
        ("csv", "compliance:assurance,unit,Area,2017-Q3,4,1,0,3,0,25.0,"),
        ("html", "data:image/png;base64,"),
    ):
        text, png = await render_pack_text(loaded.runtime, AREA, Q3, Q3.end, fmt)
        assert expected in text
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    monthly, _ = await render_pack_text(loaded.runtime, AREA, AUG, AUG.end, "html")
    assert "Monthly performance review 2017-08: Area thames-and-chiltern" in monthly
    assert "ended 1 day(s) before expiry" in monthly
    with pytest.raises(PeriodNotBegun, match="after the as-of date"):
        await pack_of(loaded, PackPeriod.parse("2017-10"), date(2017, 9, 30))


async def test_packs_end_with_the_audit_trails_latest_signed_checkpoint(loaded: Pipeline) -> None:
    assert (await pack_of(loaded, AUG, AUG.end))["audit"]["checkpoint_id"] is None
    key = signing_key(loaded.runtime.settings)
    async with loaded.runtime.sessions() as session, session.begin():
        made = await make_checkpoint(
            session=session, key=key, actor="test", now=datetime(2017, 9, 1, 9, tzinfo=LONDON)
        )
    assert made is not None
    for period in (AUG, Q3):
        seal = (await pack_of(loaded, period, period.end))["audit"]
        assert (seal["checkpoint_id"], seal["head"], seal["entries"]) == (
            made.id,
            made.head,
            made.entries,
        )
        for fmt in ("md", "html", "csv"):
            text, _ = await render_pack_text(loaded.runtime, AREA, period, period.end, fmt)
            assert made.head in text, fmt


async def test_packs_are_claimed_once_and_emailed_to_ccp_and_abm(
    loaded: Pipeline,
    smtp: tuple[Any, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    runtime = with_settings(loaded.runtime, smtp_host="127.0.0.1", smtp_port=port)
    # Went live on 15 September 2017: July's and August's packs are never sent.
    first = PackPublisher(runtime, loaded.redis)
    assert await first.publish_due(datetime(2017, 9, 15, 12, tzinfo=LONDON)) == []
    # Mon 2 October 09:00, the first working day after September and Q3; two schedulers race.
    moment = datetime(2017, 10, 2, 9, 0, tzinfo=LONDON)
    second = PackPublisher(runtime, loaded.redis)
    claims = await asyncio.gather(first.claim_due(moment), second.claim_due(moment))
    assert sorted(claims) == [0, 2]
    assert await first.claim_due(moment) == 0
    # The weekly publisher never takes a pack's row.
    assert await SummaryPublisher(runtime, loaded.redis).deliver_pending(moment) == []
    done = await first.deliver_pending(moment)
    assert sorted(done) == [f"area/{AREA}/2017-09", f"area/{AREA}/2017-Q3"]
    assert await second.publish_due(moment) == []
    messages: list[Message] = inbox.messages
    assert sorted((str(m["To"]), str(m["Subject"])) for m in messages) == sorted(
        (f"{who}@example.test", title)
        for who in ("ccp1", "abm1")
        for title in (
            f"Monthly performance review 2017-09: Area {AREA}",
            f"Area Performance Review 2017-Q3: Area {AREA}",
        )
    )
    for message in messages:
        assert png_of(message).startswith(b"\x89PNG")
        assert "data:image/png;base64," in html_of(message)
    async with runtime.sessions() as session:
        stored = (await session.execute(select(PublishedSummary))).scalars().all()
        assert {(r.week, r.status, tuple(r.delivered)) for r in stored} == {
            ("2017-09", "sent", ("ABM1", "CCP1")),
            ("2017-Q3", "sent", ("ABM1", "CCP1")),
        }
        audit = (
            (
                await session.execute(select(AuditEntry).where(AuditEntry.entity == "summary"))  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
        assert sorted(a.entity_id for a in audit) == [
            f"area/{AREA}/2017-09",
            f"area/{AREA}/2017-Q3",
        ]
        assert (await verify_chain(session=session)).ok


async def test_packs_in_the_browser_for_the_areas_leaders(loaded: Pipeline) -> None:
    """Through the real HTTP app, on 5 September 2017: the CCP's Area page links the packs;
    the last month's pack is the default, with the same figures in every format."""
    import httpx

    from services.entrypoints.http.api import build_api
    from tests.access import bearer

    api = build_api(runtime=loaded.runtime, redis=loaded.redis, today=lambda: date(2017, 9, 5))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ccp = await bearer(loaded.runtime, staff_id="CCP1")
        area = await client.get("/area", headers=ccp)
        assert area.status_code == 200
        assert f"/area/packs?area={AREA}&amp;month=2017-08" in area.text
        assert f"/area/packs?area={AREA}&amp;quarter=2017-Q3" in area.text
        page = await client.get(f"/area/packs?area={AREA}", headers=ccp)
        assert page.status_code == 200
        assert "<h1>Monthly performance review: Thames And Chiltern, 2017-08</h1>" in page.text
        assert "Victim letters (VCL), 2017-08" in page.text
        assert 'src="data:image/png;base64,' in page.text
        assert "<script" not in page.text and "<style" not in page.text
        found = (await client.get("/area/packs?month=2017-08&format=json", headers=ccp)).json()
        [letters] = [s for s in found["sections"] if s["kind"] == "victim-letters"]
        assert letters["total"]["current"] == counts(4, 2, 1, 1, 0, 50.0)
        assert found["as_of"] == "2017-08-31"
        quarter = await client.get("/area/packs?quarter=2017-Q3&format=csv", headers=ccp)
        assert quarter.headers["content-type"].startswith("text/csv")
        # Judged as of today while the quarter is under way: September's checks not yet due.
        assert "compliance:assurance,unit,Area,2017-Q3,4,1,0,1,2,50.0," in quarter.text
        abm = await bearer(loaded.runtime, staff_id="ABM1")
        markdown = await client.get("/area/packs?quarter=2017-Q3&format=md", headers=abm)
        assert markdown.status_code == 200 and "# Area Performance Review 2017-Q3" in markdown.text
        for path, status in (
            ("/area/packs?month=2017-13", 400),
            ("/area/packs?quarter=2017-10", 400),
            ("/area/packs?month=2017-10", 400),
            ("/area/packs?area=wessex", 404),
            ("/area/packs?format=pdf", 400),
        ):
            assert (await client.get(path, headers=ccp)).status_code == status, path
        prosecutor = await bearer(loaded.runtime, staff_id="P1")
        assert (await client.get("/area/packs", headers=prosecutor)).status_code == 403
