"""The assurance-sample rule: each month a reproducible share of each manager's finalisation
checks becomes an obligation for their line manager (the "10% check of managers' checks")."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import services.rules
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Fact, ObligationDraft
from services.rules.pack import Rule
from services.rules.packfile import load_pack, parse_pack

CAL = Calendar()
RULES = load_pack()
AFTER_JULY = date(2017, 8, 1)


def fact(type_: str, time: str, id_: str, **data: object) -> Fact:
    return Fact("/cms/tc", id_, type_, datetime.fromisoformat(time), data)


def checks(manager: str, count: int, month: str = "2017-07", late: bool = False) -> list[Fact]:
    found = []
    for n in range(count):
        day = f"{month}-{1 + n % 28:02d}"
        recorded = f"{month}-28T10:00:00+01:00" if not late else "2017-08-03T10:00:00+01:00"
        found.append(
            fact("finalisation-checked", recorded if late else f"{day}T16:00:00+01:00",
                 f"{manager}-{month}-{n}{'-late' if late else ''}",
                 urn=f"43TC{manager[-1]}{n:04d}{'9' if late else '0'}17", checked_by=manager,
                 checked_date=day)
        )  # fmt: skip
    return found


def staff(manager: str, line_manager: str, time: str = "2017-06-01T09:00:00+01:00") -> Fact:
    return fact(
        "staff-updated", time, f"staff-{manager}-{time}", staff_id=manager, name="A Manager",
        email="m@example.org", role="legal-manager", area="thames-and-chiltern",
        line_manager=line_manager,
    )  # fmt: skip


def sample(
    facts: list[Fact], today: date = AFTER_JULY, rules: Sequence[Rule] = RULES
) -> list[ObligationDraft]:
    ledger = Ledger(rules, CAL)
    ledger.apply(facts, today=today)
    return sorted(
        (d for d in ledger.obligations() if d.rule == "assurance-sample"), key=lambda d: d.id
    )


def test_ten_percent_of_each_managers_checks_is_drawn_after_the_month_ends() -> None:
    facts = [staff("LM-1", "DCCP-1"), staff("LM-2", "DCCP-2"), *checks("LM-1", 25)]
    facts += checks("LM-2", 8)
    assert sample(facts, today=date(2017, 7, 31)) == []
    drawn = sample(facts)
    by_manager = {m: [d for d in drawn if d.key == f"{m}/2017-07"] for m in ("LM-1", "LM-2")}
    assert len(by_manager["LM-1"]) == 3  # ceil(10% of 25)
    assert len(by_manager["LM-2"]) == 1  # ceil(10% of 8): every manager is sampled
    for d in drawn:
        assert d.id == f"assurance-sample/{d.key}/{d.urn}"
        assert d.due == date(2017, 8, 14)  # +10 working days after Monday 31 July
        assert d.state == "open"
        assert d.area == "thames-and-chiltern"
    assert {d.owner for d in by_manager["LM-1"]} == {"DCCP-1"}
    assert {d.owner for d in by_manager["LM-2"]} == {"DCCP-2"}
    assert "3 of 25 checks" in by_manager["LM-1"][0].explanation


def test_the_draw_is_the_same_whatever_the_arrival_order_or_batching() -> None:
    facts = [staff("LM-1", "DCCP-1"), *checks("LM-1", 40)]
    expected = sample(facts)
    rng = random.Random(6)
    for _ in range(5):
        shuffled = rng.sample(facts, len(facts))
        ledger = Ledger(RULES, CAL)
        for start in range(0, len(shuffled), 7):
            ledger.apply(shuffled[start : start + 7], today=AFTER_JULY)
        got = sorted(
            (d for d in ledger.obligations() if d.rule == "assurance-sample"), key=lambda d: d.id
        )
        assert got == expected


def test_late_checks_never_displace_the_drawn_ones() -> None:
    on_time = [staff("LM-1", "DCCP-1"), *checks("LM-1", 30)]
    drawn = {d.id for d in sample(on_time)}
    with_late = sample([*on_time, *checks("LM-1", 60, late=True)], today=date(2017, 8, 10))
    later = {d.id for d in with_late}
    assert drawn <= later
    late_drawn = later - drawn
    # Each late check is drawn on its own at 10%: some of 60, far from all.
    assert 1 <= len(late_drawn) <= 20
    assert all("9" in d.split("/")[-1][9:10] for d in late_drawn)


def test_the_line_manager_is_the_latest_staff_record_and_a_review_closes_it() -> None:
    facts = [
        staff("LM-1", "DCCP-1", "2017-06-01T09:00:00+01:00"),
        staff("LM-1", "DCCP-9", "2017-08-02T09:00:00+01:00"),
        *checks("LM-1", 5),
    ]
    (drawn,) = sample(list(reversed(facts)))
    assert drawn.owner == "DCCP-9"
    review = fact(
        "sampled-check-reviewed", "2017-08-16T10:00:00+01:00", "rev-1", urn=drawn.urn,
        checked_by="LM-1", checked_date="2017-07-03", reviewed_by="DCCP-9",
        reviewed_date="2017-08-16",
    )  # fmt: skip
    other = fact(
        "sampled-check-reviewed", "2017-08-09T10:00:00+01:00", "rev-2", urn="not-drawn",
        checked_by="LM-1", checked_date="2017-07-03", reviewed_by="DCCP-9",
        reviewed_date="2017-08-09",
    )  # fmt: skip
    (closed,) = sample([review, other, *facts], today=date(2017, 8, 20))
    assert (closed.state, closed.closed_on) == ("met-late", date(2017, 8, 16))


def test_the_share_and_the_interval_are_pack_settings() -> None:
    pack = (Path(services.rules.__file__).parent / "default-pack.yaml").read_text("utf-8")
    share = "  assurance_sample_percent:\n    value: "
    assert share + "10" in pack
    pack = pack.replace(share + "10", share + "20")
    rules = parse_pack(pack, origin="area.yaml")
    (rule,) = [r for r in rules if r.id == "assurance-sample"]
    assert rule.sample is not None and rule.sample.percent == 20 and rule.unconfirmed
    assert len(sample([*checks("LM-1", 25)], rules=rules)) == 5
    assert all(d.owner is None for d in sample(checks("LM-1", 3)))  # no staff record yet


def test_months_are_sampled_apart() -> None:
    facts = [*checks("LM-1", 10, "2017-06"), *checks("LM-1", 10, "2017-07")]
    drawn = sample(facts)
    assert sorted({d.key for d in drawn}) == ["LM-1/2017-06", "LM-1/2017-07"]
    june = next(d for d in drawn if d.key == "LM-1/2017-06")
    assert june.due == date(2017, 6, 30) + timedelta(days=14)  # +10 working days: 14 Jul
