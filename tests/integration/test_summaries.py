"""A hand-written fortnight through the real pipeline, summarised; figures written by hand.

Week 2018-W20 is Mon 14 to Sun 20 May 2018 (no bank holiday), judged as of Friday 18 May.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from events.outbound import obligation_ref
from schemas.tables import Alert, Obligation, StaffMember
from services.alerts.actions import acknowledge, snooze
from services.platform.audit_trail import AuditRecord, append_audit
from services.platform.settings import Settings
from services.rules.calendar import LONDON
from services.summaries.backlog import build_backlog
from services.summaries.build import build_summary, default_as_of
from services.summaries.model import Changes, Counts, Scope
from services.summaries.render_html import summary_html
from services.summaries.render_json import summary_json
from services.summaries.render_md import summary_markdown
from services.summaries.sections import CallTime, call_window
from services.summaries.weeks import IsoWeek
from tests.factories import case, event, hearing, letter_due, letter_sent, lines, sheet
from tests.integration.conftest import Pipeline
from tests.summary_checks import missing_from_html

pytestmark = pytest.mark.integration

AREA = "thames-and-chiltern"
W20 = IsoWeek(2018, 20)
AS_OF = date(2018, 5, 18)
INSPECTION = "INS-TC-2018"
CPS = "/cps/thames-and-chiltern/assurance"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The pipeline's own scheduler must not publish, nor record its first start, on today's
    # real date during the test: the tests drive the scheduler through 2018 themselves.
    return settings.model_copy(update={"summary_schedule": False})


def staff(staff_id: str, role: str, unit: str | None, manager: str | None) -> dict[str, Any]:
    return event(
        "staff-updated",
        "2018-05-01T08:00:00+01:00",
        staff_id=staff_id,
        name=f"Name {staff_id}",
        email=f"{staff_id.lower()}@example.test",
        role=role,
        area=AREA,
        unit=unit,
        line_manager=manager,
    )


def held(urn: str, hearing_id: str, day: str, advocate: str) -> dict[str, Any]:
    return hearing(
        "held", day, time=f"{day}T17:00:00+01:00", urn=urn, hearing_id=hearing_id, advocate=advocate
    )


def fortnight() -> list[dict[str, Any]]:
    return [
        staff("DCCP1", "dccp", None, None),
        staff("LM1", "legal-manager", "magistrates", "DCCP1"),
        staff("LM2", "legal-manager", "crown", "DCCP1"),
        staff("P1", "prosecutor", "magistrates", "LM1"),
        staff("P2", "prosecutor", "crown", "LM2"),
        case("M1", owner="P1", unit="magistrates", time="2018-05-01T09:00:00+01:00"),
        case("M2", owner="P1", unit="magistrates", time="2018-05-01T09:00:00+01:00"),
        case("C1", owner="P2", unit="crown", time="2018-05-01T09:00:00+01:00"),
        # Week 20, hearing record sheets (owner: the advocate), due +1 working day.
        held("M1", "H1", "2018-05-14", "P1"),  # due Tue 15, uploaded 15: met
        sheet("2018-05-15", urn="M1", hearing_id="H1"),
        held("M1", "H2", "2018-05-15", "P1"),  # due Wed 16, uploaded Thu 17: late
        sheet("2018-05-17", urn="M1", hearing_id="H2"),
        held("M2", "H1", "2018-05-16", "P1"),  # due Thu 17, none: lapsed on Fri 18
        held("C1", "H1", "2018-05-17", "P1"),  # due Fri 18: open (crown case, LM1's team)
        held("C1", "H2", "2018-05-14", "P2"),  # vacated afterwards: cancelled, not counted
        hearing("vacated", "2018-05-14", time="2018-05-15T09:00:00+01:00", urn="C1",
                hearing_id="H2"),
        # Week 19.
        held("C1", "H3", "2018-05-08", "P2"),  # due Wed 9, uploaded 9: met
        sheet("2018-05-09", urn="C1", hearing_id="H3"),
        held("M2", "H2", "2018-05-09", "P1"),  # due Thu 10, never: lapsed
        # Victim letters (owner: the case owner).
        letter_due("2018-05-14", urn="M1", victim_id="V1"),  # due Mon 21 May: next week
        letter_due("2018-05-14", urn="C1", victim_id="V1", enhanced=True),  # due Tue 15
        letter_sent("2018-05-15", urn="C1", victim_id="V1"),  # met
        letter_due("2018-05-09", urn="M2", victim_id="V1", enhanced=True),  # due Thu 10
        letter_sent("2018-05-14", urn="M2", victim_id="V1"),  # late (week 19)
        # Custody: 56 days from 10 April expires Tue 5 June; its review was due Tue 8 May.
        event("custody-time-limit-set", "2018-04-10T12:00:00+01:00", urn="C1",
              defendant_id="D1", limit="summary-56", custody_start="2018-04-10"),
        event("custody-time-limit-reviewed", "2018-05-08T12:00:00+01:00", urn="C1",
              defendant_id="D1", reviewed_date="2018-05-08", reviewed_by="P2"),
    ]  # fmt: skip


def inspection() -> list[dict[str, Any]]:
    """An inspection of the Area with seven recommendations, one of each kind of standing as
    of Friday 18 May (worked out by hand in each comment), and one of another Area's."""

    def e(type_: str, day: str, **data: Any) -> dict[str, Any]:
        source = "/hmcpsi" if type_ in ("recommendation-issued", "follow-up-assessed") else CPS
        return event(type_, f"{day}T10:00:00+01:00", source=source, **data)

    def issued(number: int, text: str, **data: Any) -> dict[str, Any]:
        return e(
            "recommendation-issued",
            "2018-01-15",
            inspection_id=INSPECTION,
            recommendation_id=f"TC-R{number}",
            number=number,
            kind="recommendation",
            text=text,
            **data,
        )

    def committed(number: int, action: str, owner: str, **data: Any) -> dict[str, Any]:
        return e(
            "response-committed",
            "2018-02-01",
            recommendation_id=f"TC-R{number}",
            action_id=action,
            response="agreed",
            text=f"Action {action}.",
            owner=owner,
            **data,
        )

    def evidence(action: str, day: str, by: str) -> dict[str, Any]:
        return e(
            "action-evidence-recorded",
            day,
            action_id=action,
            evidence=f"minutes {day}",
            recorded_by=by,
            recorded_date=day,
        )

    def completed(action: str, day: str, by: str) -> dict[str, Any]:
        return e("action-completed", day, action_id=action, completed_date=day, completed_by=by)

    return [
        event("inspection-published", "2018-01-15T10:00:00+00:00", source="/hmcpsi",
              inspection_id=INSPECTION, title="Area Assurance Inspection: Thames and Chiltern",
              kind="area-assurance", area=AREA, published_date="2018-01-15"),
        # R1: its one milestone (P1, due Fri 11 May) not completed: overdue, milestone missed.
        issued(1, "Improve the quality of   case reviews\nat charge."),
        committed(1, "TC-A1", "P1", due_date="2018-05-11"),
        # R2: monthly evidence from March to September (LM2); none for April (due 30 April):
        # at risk before its due date (30 September), evidence missing; next due 31 May.
        issued(2, "Analyse all victim communication data monthly.", due_date="2018-09-30"),
        committed(2, "TC-A2", "LM2", recurrence="monthly", starts="2018-03-01",
                  ends="2018-09-30"),
        evidence("TC-A2", "2018-03-20", "LM2"),
        # R3: completed on 10 May with no evidence: awaiting verification, flagged.
        issued(3, "Develop a strategy for improving recruitment and retention of lawyers in "
                  "the Area's magistrates' court unit, with the HR Directorate."),
        committed(3, "TC-A3", "DCCP1", due_date="2018-06-29"),
        completed("TC-A3", "2018-05-10", "DCCP1"),
        # R4: evidence recorded, due 31 July: on track, not listed.
        issued(4, "Train prosecutors in disclosure."),
        committed(4, "TC-A4", "P1", due_date="2018-07-31"),
        evidence("TC-A4", "2018-05-02", "P1"),
        # R5: done with evidence in March, rated achieved in April: verified, not listed.
        issued(5, "Review hearing record sheets."),
        committed(5, "TC-A5", "P2", due_date="2018-03-30"),
        evidence("TC-A5", "2018-03-28", "P2"),
        completed("TC-A5", "2018-03-28", "P2"),
        e("follow-up-assessed", "2018-04-20", recommendation_id="TC-R5", rating="achieved",
          assessed_by="HMI-1", assessed_date="2018-04-20"),
        # R6: no response yet: not started, not listed.
        issued(6, "Publish the Area's witness care plan."),
        # R7: first milestone completed without evidence (27 April), second open (31 August):
        # on track, listed for the missing evidence; next due 31 August.
        issued(7, "Improve the handling of unused material."),
        committed(7, "TC-A7A", "DCCP1", due_date="2018-04-30"),
        completed("TC-A7A", "2018-04-27", "DCCP1"),
        committed(7, "TC-A7B", "DCCP1", due_date="2018-08-31"),
        # Another Area's recommendation, overdue: not on this Area's page.
        e("recommendation-issued", "2018-01-15", inspection_id="INS-WX-2018",
          recommendation_id="WX-R1", number=1, kind="recommendation", text="Elsewhere.",
          area="wessex"),
        e("response-committed", "2018-02-01", recommendation_id="WX-R1", action_id="WX-A1",
          response="agreed", text="Elsewhere.", owner="P1", due_date="2018-03-01"),
    ]  # fmt: skip


async def summarise(pipeline: Pipeline, scope: Scope) -> dict[str, Any]:
    async with pipeline.runtime.sessions() as session:
        found = await build_summary(session=session, scope=scope, week=W20, as_of=AS_OF)
    return {s["kind"] + s.get("by", ""): s for s in summary_json(found)["sections"]}


def counts(due: int, met: int, late: int, lapsed: int, open_: int, pct: float | None) -> dict:  # type: ignore[type-arg]
    return {"due": due, "met": met, "late": late, "lapsed": lapsed, "open": open_,
            "on_time_pct": pct}  # fmt: skip


@pytest.fixture
async def loaded(pipeline: Pipeline) -> Pipeline:
    report = await pipeline.publish(lines(*fortnight(), *inspection()))
    assert not report.rejected
    await pipeline.settle()
    return pipeline


async def test_area_summary_counts_rates_and_lists(loaded: Pipeline) -> None:
    page = await summarise(loaded, Scope(area=AREA))

    timeliness = page["timeliness"]
    rules = {row["rule"]: row for row in timeliness["rules"]}
    assert set(rules) == {"hearing-record-sheet", "victim-letter", "ctl-28-day-review"}
    hrs, letters, review = (
        rules["hearing-record-sheet"],
        rules["victim-letter"],
        rules["ctl-28-day-review"],
    )
    assert hrs["week"] == counts(4, 1, 1, 1, 1, 33.3)
    assert letters["week"] == counts(1, 1, 0, 0, 0, 100.0)
    assert review["week"] == counts(0, 0, 0, 0, 0, None)
    assert timeliness["all"]["week"] == counts(5, 2, 1, 1, 1, 50.0)
    assert hrs["previous"] == counts(2, 1, 0, 1, 0, 50.0)
    assert letters["previous"] == counts(1, 0, 1, 0, 0, 0.0)
    assert review["previous"] == counts(1, 1, 0, 0, 0, 100.0)
    assert timeliness["all"]["previous"] == counts(4, 2, 1, 1, 0, 50.0)
    assert timeliness["all"]["last_4"] == counts(9, 4, 2, 2, 1, 50.0)
    assert timeliness["all"]["last_13"] == timeliness["all"]["last_4"]
    assert hrs["last_4"] == counts(6, 2, 1, 2, 1, 40.0)
    assert timeliness["weeks"][0] == "2018-W08" and timeliness["weeks"][-1] == "2018-W20"
    assert [(p["week"], p["due"], p["on_time_pct"]) for p in hrs["trend"][-2:]] == [
        ("2018-W19", 2, 50.0),
        ("2018-W20", 4, 33.3),
    ]

    units = {g["key"]: g for g in page["breakdownunit"]["groups"]}
    assert set(units) == {"crown", "magistrates"}
    assert units["magistrates"]["total"] == counts(3, 1, 1, 1, 0, 33.3)
    assert units["crown"]["total"] == counts(2, 1, 0, 0, 1, 100.0)
    teams = {g["key"]: g for g in page["breakdownteam"]["groups"]}
    assert set(teams) == {"LM1", "LM2"}
    assert teams["LM1"]["label"] == "Name LM1 (LM1)"
    assert teams["LM1"]["total"] == counts(4, 1, 1, 1, 1, 33.3)
    assert [r["rule"] for r in teams["LM2"]["rules"]] == ["victim-letter"]

    # The backlog: every lapse still open on 18 May, whatever week it fell due in: W20's sheet
    # of M2/H1 and W19's of M2/H2 (never uploaded), oldest first.
    backlog = page["backlog"]
    assert (backlog["as_of"], backlog["total"], backlog["counted_by"]) == (
        "2018-05-18", 2, "due-week"
    )  # fmt: skip
    assert [(g["key"], g["lapsed"]) for g in backlog["by_week"]] == [
        ("2018-W19", 1),
        ("2018-W20", 1),
    ]
    assert [(g["key"], g["lapsed"]) for g in backlog["by_unit"]] == [("magistrates", 2)]
    assert [(g["key"], g["lapsed"]) for g in backlog["by_team"]] == [("LM1", 2)]
    assert backlog["items"] == [
        {
            "obligation_id": "hearing-record-sheet/M2/H2",
            "rule": "hearing-record-sheet",
            "urn": "M2",
            "owner": "P1",
            "owner_name": "Name P1",
            "manager": "LM1",
            "due": "2018-05-10",
            "age_days": 8,
            "escalation": None,  # no lapse clock ran in this test
        },
        {
            "obligation_id": "hearing-record-sheet/M2/H1",
            "rule": "hearing-record-sheet",
            "urn": "M2",
            "owner": "P1",
            "owner_name": "Name P1",
            "manager": "LM1",
            "due": "2018-05-17",
            "age_days": 1,
            "escalation": None,
        },
    ]

    workload = page["workload"]
    assert (workload["starts"], workload["ends"]) == ("2018-05-18", "2018-05-31")
    # P1: open not yet due H1 of C1 (18 May) and M1's letter (21 May), both in the next 14
    # days; lapsed M2 H1, M2 H2. P2: the custody limit (5 June), beyond the 14 days.
    assert [
        (p["staff_id"], p["team"], p["open_not_due"], p["open_past_due"], p["due_next_14"])
        for p in workload["people"]
    ] == [("P1", "LM1", 2, 2, 2), ("P2", "LM2", 1, 0, 0)]
    assert [
        (t["staff_id"], t["open_not_due"], t["open_past_due"], t["due_next_14"])
        for t in workload["teams"]
    ] == [("LM1", 2, 2, 2), ("LM2", 1, 0, 0)]
    # Capacity: P1 has lapses; P2, alone in LM2's team, is at the team's median.
    free = [(c["team"], c["staff_id"], c["load"], c["team_median"]) for c in workload["capacity"]]
    assert free == [("LM2", "P2", 1, 1.0)]

    assert page["custody"]["items"] == [
        {
            "obligation_id": "custody-time-limit/C1/D1",
            "urn": "C1",
            "defendant": "D1",
            "owner": "P2",
            "owner_name": "Name P2",
            "expires": "2018-06-05",
            "days_left": 18,
        }
    ]


def attention(page: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            i["number"],
            i["status"],
            [o["staff_id"] for o in i["owners"]],
            i["next_due"],
            i["final_due"],
            i["flags"],
        )
        for i in page["recommendations"]["attention"]
    ]


def by_status(page: dict[str, Any]) -> dict[str, int]:
    return {c["status"]: c["count"] for c in page["recommendations"]["counts"]}


async def test_area_summary_recommendation_follow_up(loaded: Pipeline) -> None:
    page = await summarise(loaded, Scope(area=AREA))
    assert by_status(page) == {
        "overdue": 1, "at-risk": 1, "completed-awaiting-verification": 1, "on-track": 2,
        "not-started": 1, "verified": 1,
    }  # fmt: skip
    assert page["recommendations"]["total"] == 7
    assert attention(page) == [
        ("1", "overdue", ["P1"], None, "2018-05-11", ["milestone-missed"]),
        ("2", "at-risk", ["LM2"], "2018-05-31", "2018-09-30", ["evidence-missing"]),
        ("3", "completed-awaiting-verification", ["DCCP1"], None, "2018-06-29",
         ["completed-without-evidence"]),
        ("7", "on-track", ["DCCP1"], "2018-08-31", "2018-08-31",
         ["completed-without-evidence"]),
    ]  # fmt: skip
    first, _, long_one, _ = page["recommendations"]["attention"]
    assert (first["inspection_id"], first["recommendation_id"]) == (INSPECTION, "TC-R1")
    assert first["text"] == "Improve the quality of case reviews at charge."
    assert first["owners"] == [{"staff_id": "P1", "name": "Name P1"}]
    assert long_one["text"] == (
        "Develop a strategy for improving recruitment and retention of lawyers in the Area's\u2026"
    )


async def test_team_summaries_keep_the_recommendations_their_members_own(
    loaded: Pipeline,
) -> None:
    lm1 = await summarise(loaded, Scope(area=AREA, manager="LM1"))  # LM1 and P1
    assert {k: n for k, n in by_status(lm1).items() if n} == {"overdue": 1, "on-track": 1}
    assert [row[:2] for row in attention(lm1)] == [("1", "overdue")]
    lm2 = await summarise(loaded, Scope(area=AREA, manager="LM2"))  # LM2 and P2
    assert {k: n for k, n in by_status(lm2).items() if n} == {"at-risk": 1, "verified": 1}
    assert [row[:2] for row in attention(lm2)] == [("2", "at-risk")]
    unit = await summarise(loaded, Scope(area=AREA, unit="magistrates"))
    assert "recommendations" not in unit
    wessex = await summarise(loaded, Scope(area="wessex"))
    assert wessex["recommendations"]["total"] == 1
    assert attention(wessex)[0][:2] == ("1", "overdue")


async def test_lapses_show_how_far_up_the_chain_each_has_gone(loaded: Pipeline) -> None:
    lapsed, due = "hearing-record-sheet/M2/H1", date(2018, 5, 17)
    raised = [
        ("lapse", "owner", "P1", due),
        ("lapse", "legal-manager", "LM1", due),
        ("escalation-1", "unit-head", "UH1", due),
        # Raised for an earlier due date of the same obligation (since recalculated): not it.
        ("escalation-3", "dccp", "DCCP1", date(2018, 5, 10)),
        ("warning-1", "owner", "P1", due),
    ]
    moment = datetime(2018, 5, 18, 9, 0, tzinfo=UTC)
    async with loaded.runtime.sessions() as session, session.begin():
        session.add_all(
            Alert(obligation_id=lapsed, obligation_ref="ref", due=on, level=level,
                  recipient=who, role=role, rule="hearing-record-sheet", urn="M2", area=AREA,
                  fell_due_at=moment, raised_at=moment, deliver_after=moment)
            for level, role, who, on in raised
        )  # fmt: skip
    page = await summarise(loaded, Scope(area=AREA))
    items = {item["obligation_id"]: item for item in page["backlog"]["items"]}
    assert items[lapsed]["escalation"] == "escalation-1: unit-head"
    assert items["hearing-record-sheet/M2/H2"]["escalation"] is None


async def test_unit_and_team_scopes(loaded: Pipeline) -> None:
    unit = await summarise(loaded, Scope(area=AREA, unit="magistrates"))
    assert unit["timeliness"]["all"]["week"] == counts(3, 1, 1, 1, 0, 33.3)
    assert "breakdownunit" not in unit and "breakdownteam" in unit
    assert unit["custody"]["items"] == []  # the custody case is a crown case

    team = await summarise(loaded, Scope(area=AREA, manager="LM1"))
    assert team["timeliness"]["all"]["week"] == counts(4, 1, 1, 1, 1, 33.3)
    assert team["timeliness"]["all"]["previous"] == counts(2, 0, 1, 1, 0, 0.0)
    assert "breakdownunit" not in team and "breakdownteam" not in team
    assert [item["urn"] for item in team["backlog"]["items"]] == ["M2", "M2"]

    other = await summarise(loaded, Scope(area="elsewhere"))
    assert other["timeliness"]["all"]["week"] == counts(0, 0, 0, 0, 0, None)


def test_counts_helper_matches_the_model() -> None:
    assert counts(5, 2, 1, 1, 1, 50.0) == {
        k: getattr(Counts.of(met=2, late=1, lapsed=1, open=1), k)
        for k in ("due", "met", "late", "lapsed", "open", "on_time_pct")
    }


# The weekly call pack (docs/contract.md section 9, "Added: the weekly call pack").

STAMP = datetime(2018, 5, 1, tzinfo=UTC)
CALL = CallTime("friday", time(16, 0))  # W20's call: Fri 18 May 16:00; W19's: Fri 11 May


def review(urn: str, stage: str, owner: str, due: date, state: str) -> Obligation:
    """A `case-review` obligation as the case review capability stores it."""
    oid = f"case-review/{urn}/{stage}"
    closed = {"met": due, "met-late": due + timedelta(days=2)}.get(state)
    return Obligation(id=oid, ref=obligation_ref(oid), rule="case-review", key=f"{urn}/{stage}",
                      urn=urn, owner=owner, area=AREA, opened_by="test", due=due, state=state,
                      closed_on=closed, explanation="", created_at=STAMP,
                      updated_at=STAMP)  # fmt: skip


async def test_review_timeliness_by_court_unit_team_and_person_comes_first(
    loaded: Pipeline,
) -> None:
    async with loaded.runtime.sessions() as session, session.begin():
        session.add_all([
            review("M1", "magistrates-first-hearing", "P1", date(2018, 5, 16), "met"),
            review("M2", "magistrates-trial", "P1", date(2018, 5, 15), "met-late"),
            review("C1", "crown-ptph", "P2", date(2018, 5, 17), "open"),  # lapsed on the 18th
            review("C1", "crown-trial", "P2", date(2018, 5, 18), "open"),  # due today: open
            review("M2", "magistrates-first-hearing", "P1", date(2018, 5, 9), "met"),  # W19
        ])  # fmt: skip
    async with loaded.runtime.sessions() as session:
        found = await build_summary(session=session, scope=Scope(area=AREA), week=W20, as_of=AS_OF)
    data = summary_json(found)
    kinds = [s["kind"] for s in data["sections"]]
    assert kinds == ["review", "timeliness", "breakdown", "breakdown", "custody", "backlog",
                     "workload", "changes", "recommendations", "audit"]  # fmt: skip
    page = {s["kind"] + s.get("by", ""): s for s in data["sections"]}
    section = page["review"]
    assert section["all"] == counts(4, 1, 1, 1, 1, 33.3)
    assert section["last_13"] == counts(5, 2, 1, 1, 1, 50.0)

    def rows(name: str) -> list[tuple[Any, ...]]:
        return [(r["key"], r["label"], r["counts"]) for r in section[name]]

    assert rows("by_court") == [
        ("crown", "Crown Court", counts(2, 0, 0, 1, 1, 0.0)),
        ("magistrates", "magistrates' court", counts(2, 1, 1, 0, 0, 50.0)),
    ]
    assert rows("by_unit") == [
        ("crown", "crown", counts(2, 0, 0, 1, 1, 0.0)),
        ("magistrates", "magistrates", counts(2, 1, 1, 0, 0, 50.0)),
    ]
    assert rows("by_team") == [
        ("LM1", "Name LM1 (LM1)", counts(2, 1, 1, 0, 0, 50.0)),
        ("LM2", "Name LM2 (LM2)", counts(2, 0, 0, 1, 1, 0.0)),
    ]
    assert rows("by_person") == [
        ("P1", "Name P1 (P1)", counts(2, 1, 1, 0, 0, 50.0)),
        ("P2", "Name P2 (P2)", counts(2, 0, 0, 1, 1, 0.0)),
    ]
    # Then the rules, hearing record sheets and victim letters first.
    rules = [r["rule"] for r in page["timeliness"]["rules"]]
    assert rules[:2] == ["hearing-record-sheet", "victim-letter"]
    # The lapsed review is in the backlog too.
    assert "case-review/C1/crown-ptph" in [i["obligation_id"] for i in page["backlog"]["items"]]
    # The page shows every figure the JSON holds (both databases).
    assert missing_from_html(data, summary_html(found, chart=b"png")) == []
    text = summary_markdown(found)
    assert text.index("## Case review timeliness") < text.index("## Timeliness by rule")
    assert "| magistrates' court | 2 | 1 | 1 | 0 | 0 | 50.0% |" in text


async def test_a_later_week_keeps_every_lapse_still_open_and_bounds_its_list(
    loaded: Pipeline,
) -> None:
    w21 = IsoWeek(2018, 21)
    async with loaded.runtime.sessions() as session:
        found = await build_summary(
            session=session, scope=Scope(area=AREA), week=w21, as_of=w21.sunday
        )
        short = await build_backlog(
            session=session, scope=Scope(area=AREA), before=w21.sunday, as_of=w21.sunday, limit=1
        )
    page = {s["kind"]: s for s in summary_json(found)["sections"]}
    # W19's and W20's never-uploaded sheets are still lapses in W21's pack, and M1's letter
    # (due Mon 21 May, W21) joins them; judged on Sunday 27 May.
    backlog = page["backlog"]
    assert [(i["obligation_id"], i["age_days"]) for i in backlog["items"]] == [
        ("hearing-record-sheet/M2/H2", 17),
        ("hearing-record-sheet/M2/H1", 10),
        ("hearing-record-sheet/C1/H1", 9),
        ("victim-letter/M1/V1", 6),
    ]
    assert [(g["key"], g["lapsed"]) for g in backlog["by_week"]] == [
        ("2018-W19", 1), ("2018-W20", 2), ("2018-W21", 1)
    ]  # fmt: skip
    assert (short.total, len(short.items), short.more) == (4, 1, 3)
    assert short.items[0].obligation_id == "hearing-record-sheet/M2/H2"
    text = summary_markdown(replace(found, sections=[short]))
    assert "### Lapses, oldest first (the oldest 1 of 4)" in text


async def test_capacity_is_the_least_loaded_without_lapses_in_each_team(
    loaded: Pipeline,
) -> None:
    async with loaded.runtime.sessions() as session, session.begin():
        session.add_all([
            StaffMember(staff_id=f"P{n}", name=f"Name P{n}", email=f"p{n}@example.test",
                        role=role, area=AREA, unit="magistrates", line_manager="LM1",
                        left_date=left, event_time=STAMP, updated_at=STAMP)
            for n, role, left in [
                (3, "prosecutor", None),  # no obligation: load 0
                (4, "paralegal", None),
                (5, "prosecutor", date(2018, 5, 1)),  # left: not counted
                (6, "unit-head", None),  # takes no cases
            ]
        ])  # fmt: skip
        session.add(review("M1", "magistrates-trial", "P4", date(2018, 6, 1), "open"))
    page = await summarise(loaded, Scope(area=AREA))
    # LM1's casework staff P1 (load 4, lapsed 2), P3 (0), P4 (1): median 1.
    free = [(c["team"], c["staff_id"], c["load"], c["lapsed"], c["team_median"])
            for c in page["workload"]["capacity"]]  # fmt: skip
    assert free == [("LM1", "P3", 0, 0, 1.0), ("LM1", "P4", 1, 0, 1.0), ("LM2", "P2", 1, 0, 1.0)]
    team = await summarise(loaded, Scope(area=AREA, manager="LM2"))
    assert [c["staff_id"] for c in team["workload"]["capacity"]] == ["P2"]


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


async def test_reallocations_acknowledgements_and_snoozes_since_the_last_call(
    loaded: Pipeline,
) -> None:
    moment = datetime(2018, 5, 14, 9, 0, tzinfo=UTC)
    async with loaded.runtime.sessions() as session, session.begin():
        alerts = [
            Alert(obligation_id=oid, obligation_ref=obligation_ref(oid), due=due, level="lapse",
                  recipient="P1", role="owner", rule="hearing-record-sheet", urn="M2", area=AREA,
                  fell_due_at=moment, raised_at=moment, deliver_after=moment)
            for oid, due in [("hearing-record-sheet/M2/H2", date(2018, 5, 10)),
                             ("hearing-record-sheet/M2/H1", date(2018, 5, 17))]
        ]  # fmt: skip
        session.add_all(alerts)
    ids = [a.id for a in alerts]
    assert None not in ids

    def moved(urn: str, old: str, new: str, reason: str, n: int) -> AuditRecord:
        return AuditRecord("case", urn, "reallocated", "LM1", "test#reallocation",
                           {"from": old, "to": new, "reason": reason,
                            "moved": [f"o{i}" for i in range(n)]})  # fmt: skip

    async def record(at: str, *records: AuditRecord) -> None:
        async with loaded.runtime.sessions() as session, session.begin():
            await append_audit(session=session, records=records, at=london(at))

    await record("2018-05-11T15:59:00", moved("M1", "P2", "P1", "before the last call", 1))
    await record("2018-05-14T10:00:00", moved("M2", "P1", "P2", "P1 on leave", 3))
    await record("2018-05-18T16:01:00", moved("C1", "P2", "P1", "after this call", 1))
    async with loaded.runtime.sessions() as session, session.begin():
        await acknowledge(session=session, alert_id=ids[0], by="LM1",
                          now=london("2018-05-15T09:30:00"))  # fmt: skip
    async with loaded.runtime.sessions() as session, session.begin():
        await snooze(session=session, alert_id=ids[1], by="P1", reason="awaiting the court",
                     until=london("2018-05-25T09:00"), now=london("2018-05-18T11:00"))  # fmt: skip

    async with loaded.runtime.sessions() as session:
        found = await build_summary(
            session=session, scope=Scope(area=AREA), week=W20, as_of=AS_OF, call=CALL
        )
        lm2 = await build_summary(
            session=session, scope=Scope(area=AREA, manager="LM2"), week=W20, as_of=AS_OF,
            call=CALL,
        )  # fmt: skip
    data = summary_json(found)
    changes = next(s for s in data["sections"] if s["kind"] == "changes")
    assert (changes["since"], changes["until"], changes["counted_by"]) == (
        "2018-05-11T16:00:00+01:00", "2018-05-18T16:00:00+01:00", "event-time"
    )  # fmt: skip
    assert [(r["urn"], r["from_owner"], r["to_owner"], r["reason"], r["moved"], r["by"])
            for r in changes["reallocations"]] == [
        ("M2", "P1", "P2", "P1 on leave", 3, "LM1")
    ]  # fmt: skip
    assert [(a["alert_id"], a["by"], a["recipient"]) for a in changes["acknowledgements"]] == [
        (str(ids[0]), "LM1", "P1")
    ]
    [snoozed] = changes["snoozes"]
    assert (snoozed["alert_id"], snoozed["by"], snoozed["reason"]) == (
        str(ids[1]), "P1", "awaiting the court"
    )  # fmt: skip
    assert snoozed["until"].startswith("2018-05-25T09:00:00")
    # LM2's team: the reallocation to P2 is theirs; the alerts are about P1's obligations.
    [team_changes] = [s for s in lm2.sections if isinstance(s, Changes)]
    assert [r.urn for r in team_changes.reallocations] == ["M2"]
    assert (team_changes.acknowledgements, team_changes.snoozes) == ([], [])
    assert missing_from_html(data, summary_html(found, chart=b"png")) == []
    text = summary_markdown(found)
    assert "## Since the last call: recorded 2018-05-11 16:00 to 2018-05-18 16:00" in text
    assert "| 2018-05-14 10:00 | M2 | P1 | P2 | P1 on leave | 3 | LM1 |" in text
    # Without a schedule: from the week's Monday to the end of the as-of date.
    assert call_window(W20, AS_OF, None) == (london("2018-05-14T00:00"), london("2018-05-19T00:00"))


async def test_counts_say_which_week_they_count(loaded: Pipeline) -> None:
    async with loaded.runtime.sessions() as session:
        found = await build_summary(
            session=session, scope=Scope(area=AREA), week=W20, as_of=AS_OF, as_of_from="given"
        )
    data = summary_json(found)
    assert data["as_of_from"] == "given"
    assert data["counted_by"] == {
        "review": "due-week", "timeliness": "due-week", "breakdownunit": "due-week",
        "breakdownteam": "due-week", "custody": "expiry-date", "backlog": "due-week",
        "workload": "as-of", "changes": "event-time", "recommendations": "as-of",
        "audit": "latest",
    }  # fmt: skip
    text = summary_markdown(found)
    assert "## Timeliness by rule: obligations due in week 2018-W20 (counted by due week)" in text
    assert "## By unit: obligations due in week 2018-W20 (counted by due week)" in text
    assert "judged as of 2018-05-18 (the date asked for)" in text
    html = summary_html(found, chart=b"png")
    assert "reviews due in week 2018-W20 <small>(counted by due week)</small>" in html
    assert default_as_of(IsoWeek(2018, 19), AS_OF) == date(2018, 5, 13)  # its Sunday
    assert default_as_of(W20, AS_OF) == AS_OF  # the current week: today
