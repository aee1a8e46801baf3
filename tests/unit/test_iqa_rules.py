"""The IQA rules of the default pack: each legal manager's monthly quota (iqa-quota) and the
month's sample of IQAs drawn for reassessment (iqa-reassessment); docs/contract.md section 4,
"Rules iqa-quota and iqa-reassessment"."""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest

from services.alerts.clock.schedule import steps_for
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Fact, ObligationDraft
from services.rules.packfile import RulePackError, load_pack, parse_pack
from services.rules.sampling import _digest

CAL = Calendar()
RULES = load_pack()


def fact(type_: str, time: str, id_: str, **data: object) -> Fact:
    return Fact("/cms/tc", id_, type_, datetime.fromisoformat(time), data)


def iqa(n: int, assessor: str = "LM-1", day: str = "2026-10-05", **more: object) -> Fact:
    return fact(
        "iqa-completed", f"{day}T15:00:00+01:00", f"iqa-{assessor}-{n}",
        iqa_id=f"IQA-{assessor}-{n}",
        urn=f"43TC{n:07d}", stage="advice", assessor=assessor, prosecutor="P-1",
        assessed_date=day, answers={"q1": "yes", "disclosure-1": "yes"}, rating="fully-met",
        **more,
    )  # fmt: skip


def staff(who: str, line_manager: str) -> Fact:
    return fact(
        "staff-updated", "2026-09-01T09:00:00+01:00", f"staff-{who}", staff_id=who,
        name="A Manager", email="m@example.org", role="legal-manager", area="wessex",
        line_manager=line_manager,
    )  # fmt: skip


def obligations(facts: list[Fact], rule: str, today: date) -> list[ObligationDraft]:
    ledger = Ledger(RULES, CAL)
    ledger.apply(facts, today=today)
    return sorted((d for d in ledger.obligations() if d.rule == rule), key=lambda d: d.id)


def test_quota_is_open_until_the_second_iqa_of_the_month() -> None:
    # October 2026 ends on Saturday 31st: +5 working days is Friday 6 November.
    one = obligations([iqa(1, day="2026-10-05")], "iqa-quota", date(2026, 10, 20))
    assert [(d.id, d.owner, d.due, d.state) for d in one] == [
        ("iqa-quota/LM-1/2026-10", "LM-1", date(2026, 11, 6), "open")
    ]
    assert "1 of the quota of 2 recorded" in one[0].explanation
    two = obligations(
        [iqa(2, day="2026-10-21"), iqa(1, day="2026-10-05"), iqa(3, day="2026-10-14")],
        "iqa-quota",
        date(2026, 10, 25),
    )
    # Met on the date of the second IQA by date (14 October), whatever the arrival order.
    assert [(d.id, d.state, d.closed_on) for d in two] == [
        ("iqa-quota/LM-1/2026-10", "met", date(2026, 10, 14))
    ]


def test_a_duplicate_iqa_counts_once_and_each_month_and_manager_is_its_own() -> None:
    again = fact("iqa-completed", "2026-10-06T09:00:00+01:00", "resent", **iqa(1).data)
    found = obligations(
        [iqa(1), again, iqa(1, "LM-2"), iqa(2, "LM-2", "2026-10-30"), iqa(3, day="2026-11-02")],
        "iqa-quota",
        date(2026, 11, 3),
    )
    assert [(d.id, d.state, d.closed_on) for d in found] == [
        ("iqa-quota/LM-1/2026-10", "open", None),
        ("iqa-quota/LM-1/2026-11", "open", None),
        ("iqa-quota/LM-2/2026-10", "met", date(2026, 10, 30)),
    ]


def test_quota_met_after_its_due_date_is_met_late() -> None:
    late = iqa(2, day="2026-10-30")
    late = fact("iqa-completed", "2026-11-10T09:00:00+00:00", "late", **late.data)
    found = obligations([iqa(1), late], "iqa-quota", date(2026, 11, 20))
    assert [(d.state, d.closed_on) for d in found] == [("met", date(2026, 10, 30))]


def test_reassessment_draws_ten_percent_reproducibly_for_the_line_manager() -> None:
    facts = [staff("LM-1", "SM-1")]
    facts += [iqa(n, day=f"2026-10-{1 + n % 28:02d}") for n in range(20)]
    before = obligations(facts, "iqa-reassessment", date(2026, 10, 31))
    assert before == []  # nothing drawn until the month is over
    drawn = obligations(facts, "iqa-reassessment", date(2026, 11, 1))
    # ceil(10% of 20) = 2: the two IQA ids with the smallest SHA-256 of rule, key and item.
    expected = sorted(
        sorted(
            (f"IQA-LM-1-{n}" for n in range(20)),
            key=lambda i: _digest("iqa-reassessment", "LM-1/2026-10", i),
        )[:2]
    )
    assert [d.id for d in drawn] == [f"iqa-reassessment/LM-1/2026-10/{i}" for i in expected]
    assert {(d.owner, d.area, d.due, d.state) for d in drawn} == {
        ("SM-1", "wessex", date(2026, 11, 13), "open")  # +10 working days after 31 October
    }
    shuffled = facts[:]
    random.Random(3).shuffle(shuffled)
    assert obligations(shuffled + facts[:5], "iqa-reassessment", date(2026, 11, 1)) == drawn


def test_reassessed_closes_only_the_iqa_it_names() -> None:
    facts = [staff("LM-1", "SM-1")] + [iqa(n) for n in range(10)]
    (drawn,) = obligations(facts, "iqa-reassessment", date(2026, 11, 1))
    iqa_id = drawn.id.rsplit("/", 1)[1]
    other = "IQA-LM-1-0" if iqa_id != "IQA-LM-1-0" else "IQA-LM-1-1"

    def reassessed(iqa_id: str, on: str, id_: str) -> Fact:
        return fact(
            "iqa-reassessed", f"{on}T10:00:00+00:00", id_, iqa_id=iqa_id, assessor="LM-1",
            assessed_date="2026-10-05", reassessed_by="SM-1", role="senior-manager",
            reassessed_date=on, rating="partially-met",
        )  # fmt: skip

    not_it = obligations(
        [*facts, reassessed(other, "2026-11-05", "r0")], "iqa-reassessment", date(2026, 11, 6)
    )
    assert [d.state for d in not_it] == ["open"]
    done = obligations(
        [*facts, reassessed(iqa_id, "2026-11-20", "r1")], "iqa-reassessment", date(2026, 11, 25)
    )
    assert [(d.state, d.closed_on) for d in done] == [("met-late", date(2026, 11, 20))]


def test_a_quota_naming_a_missing_field_or_setting_is_refused() -> None:
    pack = """
version: 1
rules:
  - id: q
    title: Q
    source: S
    opens: {event: iqa-completed, key: [assessor, 'assessed_date:month']}
    due: +5 working days after end of month of assessed_date
    quota: {count: COUNT, item: [ITEM]}
    closes:
      - {event: iqa-completed, key: [assessor, 'assessed_date:month']}
"""
    with pytest.raises(RulePackError) as caught:
        parse_pack(pack.replace("COUNT", "2").replace("ITEM", "iqa_ref"), origin="p.yaml")
    assert caught.value.problems == [
        "p.yaml: rule q: closes.0: quota.item: event iqa-completed has no field 'iqa_ref'"
    ]
    with pytest.raises(RulePackError) as caught:
        parse_pack(pack.replace("COUNT", "'{nope}'").replace("ITEM", "iqa_id"), origin="p.yaml")
    assert caught.value.problems == ["p.yaml: rule q: quota.count: no pack setting named 'nope'"]
    with pytest.raises(RulePackError) as caught:
        parse_pack(pack.replace("COUNT", "0").replace("ITEM", "iqa_id"), origin="p.yaml")
    assert caught.value.problems == ["p.yaml: rule q: quota.count: must be 1 or more, not 0"]


def test_quota_area_is_the_assessors_unless_the_iqa_names_one() -> None:
    found = obligations(
        [staff("LM-1", "SM-1"), iqa(1), iqa(2, "LM-2", area="thames-and-chiltern")],
        "iqa-quota",
        date(2026, 10, 20),
    )
    assert [(d.id, d.owner, d.area) for d in found] == [
        ("iqa-quota/LM-1/2026-10", "LM-1", "wessex"),
        ("iqa-quota/LM-2/2026-10", "LM-2", "thames-and-chiltern"),
    ]


def test_escalation_policies_of_the_iqa_rules() -> None:
    rules = {r.id: r for r in RULES}
    quota = {
        s.level: (s.day, s.roles) for s in steps_for(rules["iqa-quota"], date(2026, 11, 6), CAL)
    }
    # Due Friday 6 November: warned Tuesday 3rd; lapse at midnight ending the 6th (a business
    # lapse: the ABM copied); unit head 5 working days after (Friday 13th, at its midnight).
    assert quota == {
        "warning-3": (date(2026, 11, 3), ("owner",)),
        "lapse": (date(2026, 11, 7), ("owner", "legal-manager", "abm")),
        "escalation-5": (date(2026, 11, 14), ("unit-head",)),
    }
    again = rules["iqa-reassessment"]
    steps = {s.level: (s.day, s.roles) for s in steps_for(again, date(2026, 11, 13), CAL)}
    assert steps == {
        "warning-3": (date(2026, 11, 10), ("owner",)),
        "lapse": (date(2026, 11, 14), ("owner", "legal-manager", "abm")),
        "escalation-5": (date(2026, 11, 21), ("dccp",)),
    }
