"""The monthly and quarterly packs' figures from hand-built obligations (figures by hand).

Month 2017-08 (Tue 1 to Thu 31 August), previous month 2017-07, judged as of 31 August."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from services.rules.calendar import LONDON, Calendar
from services.summaries.model import Counts
from services.summaries.packs import model
from services.summaries.packs.model import Item
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import pack_csv, pack_json, pack_markdown, render_pack
from services.summaries.packs.schedule import due_periods

AUG = PackPeriod.parse("2017-08")
Q3 = PackPeriod.parse("2017-Q3")
AS_OF = date(2017, 8, 31)


def ob(rule: str, id_: str, due: str, state: str, **fields: object) -> Item:
    return Item(
        id=id_,
        rule=rule,
        key=str(fields.pop("key", id_)),
        due=date.fromisoformat(due),
        state=state,
        **fields,
    )  # type: ignore[arg-type]


def letter(n: int, due: str, state: str, team: str | None, decision: str, enhanced: bool) -> Item:
    return ob(
        "victim-letter",
        f"victim-letter/U{n}/V1",
        due,
        state,
        team=team,
        decision=decision,
        enhanced=enhanced,
    )


LETTERS = [
    letter(1, "2017-08-02", "met", "LM1", "no-charge", True),
    letter(2, "2017-08-10", "met-late", "LM1", "discontinued", False),
    letter(3, "2017-08-21", "open", "LM2", "discontinued", False),  # missing (lapsed)
    letter(4, "2017-08-31", "open", "LM2", "charge-altered", True),  # due today: open
    letter(5, "2017-08-15", "met", None, "no-charge", False),
    letter(6, "2017-07-20", "met", "LM1", "no-charge", False),  # July
    letter(7, "2017-07-21", "open", "LM1", "no-charge", True),  # July, lapsed
    letter(8, "2017-09-01", "open", "LM1", "no-charge", True),  # September: not counted
]


def test_periods_parse_and_refuse() -> None:
    assert (AUG.start, AUG.end, AUG.previous().label) == (
        date(2017, 8, 1),
        date(2017, 8, 31),
        "2017-07",
    )
    assert (Q3.start, Q3.end, Q3.previous().label) == (
        date(2017, 7, 1),
        date(2017, 9, 30),
        "2017-Q2",
    )
    assert [m.label for m in Q3.months()] == ["2017-07", "2017-08", "2017-09"]
    assert PackPeriod.parse("2018-01").previous().label == "2017-12"
    assert PackPeriod.parse("2018-Q1").previous().label == "2017-Q4"
    for bad in ("2017-13", "2017-8", "2017-Q5", "August", "2017-W30"):
        with pytest.raises(ValueError, match=r"YYYY-MM|01 to 12"):
            PackPeriod.parse(bad)
    assert AUG.judged_on(date(2026, 1, 1)) == AUG.end
    assert AUG.judged_on(date(2017, 8, 10)) == date(2017, 8, 10)


def test_vcl_analysis_by_team_decision_and_victim_month_on_month() -> None:
    found = model.victim_letters(LETTERS, month=AUG, as_of=AS_OF, teams={"LM1": "Lee"})
    assert found.total.current == Counts.of(met=2, late=1, lapsed=1, open=1)
    assert found.total.current.on_time_pct == 50.0
    assert found.total.previous == Counts.of(met=1, lapsed=1)
    assert found.total.change_points == 0.0
    teams = {r.label: r.current for r in found.by_team}
    assert teams == {
        "Lee (LM1)": Counts.of(met=1, late=1),
        "LM2": Counts.of(lapsed=1, open=1),
        "no team": Counts.of(met=1),
    }
    decisions = {
        r.key: (r.current.late, r.current.lapsed, r.previous.lapsed) for r in found.by_decision
    }
    assert decisions == {
        "no-charge": (0, 0, 1),
        "discontinued": (1, 1, 0),
        "charge-altered": (0, 0, 0),
    }
    victims = {r.key: r for r in found.by_victim}
    assert victims["enhanced"].current == Counts.of(met=1, open=1)
    assert victims["enhanced"].previous == Counts.of(lapsed=1)
    assert victims["standard"].current == Counts.of(met=1, late=1, lapsed=1)
    assert victims["standard"].change_points == pytest.approx(33.3 - 100.0)


def test_reviews_by_court_and_stage() -> None:
    items = [
        ob(
            "case-review", "case-review/U1/magistrates-first-hearing", "2017-08-03", "met", unit="m"
        ),
        ob("case-review", "case-review/U2/magistrates-trial", "2017-08-04", "open", unit="m"),
        ob("case-review", "case-review/U3/crown-ptph", "2017-08-07", "met-late", unit="c"),
        ob("case-review", "case-review/U4/crown-trial", "2017-07-07", "met", unit="c"),
    ]
    found = model.reviews(items, month=AUG, as_of=AS_OF)
    courts = {r.key: r.current for r in found.by_court}
    assert courts == {"magistrates": Counts.of(met=1, lapsed=1), "crown": Counts.of(late=1)}
    assert [r.key for r in found.by_stage] == list(model.STAGES)
    assert found.by_stage[3].previous == Counts.of(met=1)
    assert {r.key: r.current.due for r in found.by_unit} == {"c": 1, "m": 2}


def test_finalisation_data_quality_and_ten_percent_checks() -> None:
    items = [
        ob("finalisation-reason-code", "f1", "2017-08-08", "met", unit="m"),  # corrected
        ob("finalisation-reason-code", "f2", "2017-08-09", "met-late", unit="m"),
        ob("finalisation-reason-code", "f3", "2017-08-10", "open", unit="c"),  # still missing
        ob("finalisation-reason-code", "f4", "2017-07-10", "open", unit="c"),
        ob("assurance-sample", "a1", "2017-08-14", "met", key="LM1/2017-07"),
        ob("assurance-sample", "a2", "2017-08-14", "open", key="LM1/2017-07"),
        ob("assurance-sample", "a3", "2017-08-14", "met-late", key="LM2/2017-07"),
    ]
    quality = model.data_quality(items, month=AUG, as_of=AS_OF)
    assert quality.total.current == Counts.of(met=1, late=1, lapsed=1)
    assert quality.total.previous == Counts.of(lapsed=1)
    checks = model.assurance(
        items, month=AUG, as_of=AS_OF, checks={"LM1": 12, "LM3": 4}, names={"LM1": "Lee"}
    )
    rows = {m.manager: (m.checks_recorded, m.sampled) for m in checks.managers}
    assert rows == {
        "LM1": (12, Counts.of(met=1, lapsed=1)),
        "LM2": (0, Counts.of(late=1)),
        "LM3": (4, Counts.of()),
    }
    assert checks.total.checks_recorded == 16
    assert checks.total.sampled == Counts.of(met=1, late=1, lapsed=1)


def test_custody_failures_and_near_misses() -> None:
    items = [
        ob("custody-time-limit", "ctl/A", "2017-08-10", "met", key="A", closed_on=date(2017, 8, 2)),
        ob("custody-time-limit", "ctl/B", "2017-08-11", "met", key="B", closed_on=date(2017, 8, 9)),
        ob(
            "custody-time-limit",
            "ctl/C",
            "2017-08-12",
            "met-late",
            key="C",
            closed_on=date(2017, 8, 14),
        ),
        ob("custody-time-limit", "ctl/D", "2017-08-20", "open", key="D"),
        ob("ctl-28-day-review", "rev/E", "2017-08-05", "met-late", key="E"),
        ob("ctl-28-day-review", "rev/D", "2017-08-05", "open", key="D"),  # D failed anyway
        ob("ctl-28-day-review", "rev/F", "2017-08-05", "met", key="F"),
    ]
    found = model.custody(items, month=AUG, as_of=AS_OF)
    assert [(e.obligation_id, e.outcome) for e in found.failures] == [
        ("ctl/C", "late"),
        ("ctl/D", "lapsed"),
    ]
    assert [(e.obligation_id, e.outcome) for e in found.near_misses] == [
        ("rev/E", "28-day review done late"),
        ("ctl/B", "ended 2 day(s) before expiry"),
    ]
    assert found.limits.current == Counts.of(met=2, late=1, lapsed=1)
    assert found.reviews.current == Counts.of(met=1, late=1, lapsed=1)


def test_quarterly_compliance_per_unit_and_month() -> None:
    items = [
        ob("finalisation-reason-code", "f1", "2017-07-05", "met", unit="m"),
        ob("finalisation-reason-code", "f2", "2017-08-05", "met-late", unit="m"),
        ob("finalisation-reason-code", "f3", "2017-09-05", "met", unit="c"),
        ob("finalisation-reason-code", "f4", "2017-06-05", "open", unit="c"),  # Q2
        ob("finalisation-reason-code", "f5", "2017-09-29", "open", unit=None),
    ]
    found = model.compliance(
        items,
        measure="data-quality",
        rule="finalisation-reason-code",
        quarter=Q3,
        as_of=date(2017, 9, 30),
    )
    assert found.months == ["2017-07", "2017-08", "2017-09"]
    units = {t.key: t for t in found.units}
    assert list(units) == ["c", "m", None]
    assert units["m"].months == [Counts.of(met=1), Counts.of(late=1), Counts.of()]
    assert units["c"].previous == Counts.of(lapsed=1)
    assert found.area.quarter == Counts.of(met=2, late=1, lapsed=1)
    assert found.area.quarter.on_time_pct == 50.0
    assert found.area.change_points == 50.0


def test_renderings_carry_the_same_figures() -> None:
    pack = model.Pack(
        "monthly",
        "tc",
        AUG,
        AUG.previous(),
        AS_OF,
        [
            model.victim_letters(LETTERS, month=AUG, as_of=AS_OF, teams={}),
            model.custody([], month=AUG, as_of=AS_OF),
            model.Actions(items=[]),
        ],
    )
    text = pack_markdown(pack)
    assert "# Monthly performance review 2017-08: Area tc" in text
    assert "| all | 5 | 2 | 1 | 1 | 1 | 50.0% | 50.0% | +0.0 |" in text
    data = pack_json(pack)
    assert data["sections"][0]["total"]["current"]["on_time_pct"] == 50.0
    assert data["period"] == "2017-08" and data["previous"] == "2017-07"
    csv = pack_csv(pack)
    assert "victim-letters,team,all,2017-08,5,2,1,1,1,50.0," in csv
    assert "victim-letters,decision,discontinued,2017-07,0,0,0,0,0,,\r\n" in csv
    with pytest.raises(ValueError, match="one of md, html, json, csv"):
        render_pack(pack, "pdf")


def test_packs_fall_due_after_the_period_and_never_before_going_live() -> None:
    calendar = Calendar()

    def due(now: datetime, since: datetime | None = None) -> list[str]:
        found = due_periods(
            now=now, calendar=calendar, working_day=1, at=time(9), catch_up_months=2, since=since
        )
        return [str(d.period) for d in found]

    # Mon 2 October 2017 is the first working day after both September and Q3.
    assert due(datetime(2017, 10, 2, 8, 59, tzinfo=LONDON)) == ["2017-07", "2017-08"]
    at_nine = datetime(2017, 10, 2, 9, 0, tzinfo=LONDON)
    assert due(at_nine) == ["2017-07", "2017-08", "2017-09", "2017-Q3"]
    # First started on 15 September: only periods that ended after it.
    assert due(at_nine, since=datetime(2017, 9, 15, tzinfo=UTC)) == ["2017-09", "2017-Q3"]
    # 1 January 2018 is a bank holiday: December's pack goes on Tuesday 2 January.
    assert "2017-12" not in due(datetime(2018, 1, 1, 12, tzinfo=LONDON))
    assert "2017-12" in due(datetime(2018, 1, 2, 9, tzinfo=LONDON))
