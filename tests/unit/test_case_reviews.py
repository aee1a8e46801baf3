"""Case review timeliness and case reallocation in the pure engine (contract section 2 "Added
event types" and section 4 "Added rules"): held-back histories, in every arrival order."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pytest

from services.audit.report import describe
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Fact, ObligationDraft
from services.rules.packfile import load_pack

CAL = Calendar()
RULES = load_pack()
TODAY = date(2017, 8, 31)
URN, OTHER = "41TC0017001", "41TC0017002"
_ids = itertools.count(1)


def ev(type_: str, time: str, **data: Any) -> Fact:
    """An event at `time` (a bare date means 10:00 UTC)."""
    when = datetime.fromisoformat(time if "T" in time else f"{time}T10:00:00+00:00")
    return Fact("/cms/tc", f"r{next(_ids)}", type_, when, data)


def registered(time: str = "2017-07-03", owner: str = "P-1", urn: str = URN) -> Fact:
    return ev(
        "case-registered", time, urn=urn, area="thames-and-chiltern", unit="crown", owner=owner
    )


def hearing(
    time: str, hearing_date: str, status: str = "listed", hearing_id: str = "H1", urn: str = URN
) -> Fact:
    court_type = "crown" if hearing_id.startswith("C") else "magistrates"
    return ev(
        "hearing-updated",
        time,
        urn=urn,
        hearing_id=hearing_id,
        court="Reading",
        court_type=court_type,
        hearing_date=hearing_date,
        status=status,
    )


def review_due(time: str, stage: str, hearing_id: str = "H1", urn: str = URN) -> Fact:
    return ev("case-review-due", time, urn=urn, stage=stage, hearing_id=hearing_id)


def reviewed(time: str, stage: str, on: str, urn: str = URN) -> Fact:
    return ev("case-reviewed", time, urn=urn, stage=stage, reviewed_by="P-1", reviewed_date=on)


def reallocation(time: str, to: str, on: str, urn: str = URN, by: str | None = "DCCP-1") -> Fact:
    data: dict[str, Any] = {
        "urn": urn,
        "new_owner": to,
        "reason": "workload",
        "reallocated_date": on,
    }
    if by:
        data["reallocated_by"] = by
    return ev("case-reallocated", time, **data)


def letter_due(time: str, decision_date: str, urn: str = URN) -> Fact:
    return ev(
        "victim-letter-due",
        time,
        urn=urn,
        victim_id="V1",
        decision="discontinued",
        decision_date=decision_date,
        enhanced=False,
    )


def run(batches: Iterable[Iterable[Fact]]) -> dict[str, ObligationDraft]:
    ledger = Ledger(RULES, CAL)
    for batch in batches:
        ledger.apply(batch, today=TODAY)
    return {d.id: d for d in ledger.obligations()}


def state(facts: Sequence[Fact]) -> dict[str, ObligationDraft]:
    return run([f] for f in facts)


def review(facts: Sequence[Fact], stage: str, urn: str = URN) -> ObligationDraft:
    return state(facts)[f"case-review/{urn}/{stage}"]


@pytest.mark.parametrize(
    ("stage", "hearing_id", "hearing_date", "due"),
    [
        # Mon 24 July: 1 working day before is Fri 21 July.
        ("magistrates-first-hearing", "H1", "2017-07-24", date(2017, 7, 21)),
        # Fri 28 July: 5 working days before is Fri 21 July.
        ("crown-ptph", "C1", "2017-07-28", date(2017, 7, 21)),
        # Mon 7 August: 10 working days before is Mon 24 July.
        ("crown-trial", "C2", "2017-08-07", date(2017, 7, 24)),
        ("magistrates-trial", "H2", "2017-08-07", date(2017, 7, 24)),
        # Tue 29 August 2017, after the summer bank holiday: 1 working day before is Fri 25.
        ("magistrates-first-hearing", "H3", "2017-08-29", date(2017, 8, 25)),
    ],
)
def test_review_is_due_working_days_before_the_listed_hearing(
    stage: str, hearing_id: str, hearing_date: str, due: date
) -> None:
    found = review(
        [
            registered(),
            review_due("2017-07-05", stage, hearing_id),
            hearing("2017-07-04", hearing_date, hearing_id=hearing_id),
        ],
        stage,
    )
    assert (found.due, found.state, found.owner, found.area) == (
        due,
        "open",
        "P-1",
        "thames-and-chiltern",
    )
    assert "before hearing_date" not in found.explanation  # explained with numbers
    assert f"hearing_date {hearing_date}" in found.explanation
    assert "hearing-updated" in found.explanation


def test_no_review_until_its_hearing_is_listed_and_another_hearing_does_not_date_it() -> None:
    due = review_due("2017-07-05", "crown-ptph", "C1")
    assert state([registered(), due, hearing("2017-07-04", "2017-07-28", hearing_id="C9")]) == {}
    assert state([due, hearing("2017-07-04", "2017-07-28", hearing_id="C1", urn=OTHER)]) == {}


def test_a_relisting_recalculates_the_due_date_whatever_the_order() -> None:
    facts = [
        registered(),
        review_due("2017-07-05", "magistrates-first-hearing"),
        hearing("2017-07-04", "2017-07-24"),
        hearing("2017-07-10", "2017-07-31"),  # relisted a week later
    ]
    for arrival in (facts, facts[::-1]):
        assert review(arrival, "magistrates-first-hearing").due == date(2017, 7, 28)


def test_reviewed_on_or_before_due_is_met_after_is_met_late() -> None:
    base = [registered(), review_due("2017-07-05", "crown-ptph", "C1")]
    base.append(hearing("2017-07-04", "2017-07-28", hearing_id="C1"))
    on_time = review([*base, reviewed("2017-07-21", "crown-ptph", "2017-07-21")], "crown-ptph")
    late = review([*base, reviewed("2017-07-24", "crown-ptph", "2017-07-24")], "crown-ptph")
    assert (on_time.state, on_time.closed_on) == ("met", date(2017, 7, 21))
    assert (late.state, late.closed_on) == ("met-late", date(2017, 7, 24))
    other_stage = review([*base, reviewed("2017-07-20", "crown-trial", "2017-07-20")], "crown-ptph")
    assert other_stage.state == "open"


def test_hearing_vacated_before_due_cancels_unless_listed_again() -> None:
    stage = "magistrates-trial"
    base = [registered(), review_due("2017-07-05", stage), hearing("2017-07-04", "2017-08-07")]
    vacated = hearing("2017-07-12", "2017-08-07", status="vacated")
    cancelled = review([*base, vacated], stage)
    assert (cancelled.state, cancelled.closed_on) == ("cancelled", date(2017, 7, 12))
    # Vacated, then listed again for another date: the review stands, due from the new date.
    again = review([*base, vacated, hearing("2017-07-14", "2017-08-14")], stage)
    assert (again.state, again.due) == ("open", date(2017, 7, 31))
    # Vacated after the review fell due: the review was still late.
    after_due = review([*base, hearing("2017-07-26", "2017-08-07", status="vacated")], stage)
    assert (after_due.state, after_due.due) == ("open", date(2017, 7, 24))
    # A vacated hearing known before the review was raised still cancels it.
    early = review([registered(), hearing("2017-07-04", "2017-08-07", status="vacated"),
                    review_due("2017-07-05", stage)], stage)  # fmt: skip
    assert early.state == "cancelled"


def test_case_finalised_before_due_cancels_the_review() -> None:
    stage = "crown-trial"
    base = [registered(), review_due("2017-07-05", stage, "C2")]
    base.append(hearing("2017-07-04", "2017-08-07", hearing_id="C2"))

    def finalised(on: str) -> Fact:
        return ev("case-finalised", on, urn=URN, finalised_date=on, outcome="guilty-plea",
                  successful=True)  # fmt: skip

    early = review([*base, finalised("2017-07-20")], stage)
    assert (early.state, early.closed_on) == ("cancelled", date(2017, 7, 20))
    assert review([*base, finalised("2017-07-25")], stage).state == "open"  # lapsed first


def test_reallocation_moves_open_obligations_and_gives_later_ones_the_new_owner() -> None:
    facts = [
        registered(),
        letter_due("2017-07-03", "2017-07-03"),  # due Mon 10 July
        ev("victim-letter-sent", "2017-07-07", urn=URN, victim_id="V1", sent_date="2017-07-07"),
        review_due("2017-07-05", "crown-ptph", "C1"),
        hearing("2017-07-04", "2017-07-28", hearing_id="C1"),
        reallocation("2017-07-17", "P-2", "2017-07-17"),
        review_due("2017-07-18", "crown-trial", "C2"),  # opened after the reallocation
        hearing("2017-07-18", "2017-09-04", hearing_id="C2"),
        registered("2017-07-19", owner="P-1"),  # registered again: the reallocation stands
    ]
    found = state(facts)
    owners = {i: d.owner for i, d in found.items()}
    assert owners == {
        f"victim-letter/{URN}/V1": "P-1",  # done before the reallocation: stays with P-1
        f"case-review/{URN}/crown-ptph": "P-2",
        f"case-review/{URN}/crown-trial": "P-2",
    }
    assert "Reallocated to P-2 on 2017-07-17" in found[f"case-review/{URN}/crown-ptph"].explanation
    # The latest reallocation by time stands, whichever arrives last.
    back = reallocation("2017-07-21", "P-3", "2017-07-21")
    for arrival in ([*facts, back], [back, *facts]):
        moved = state(arrival)
        assert moved[f"case-review/{URN}/crown-ptph"].owner == "P-3"
        assert moved[f"victim-letter/{URN}/V1"].owner == "P-1"


def test_an_obligation_done_after_the_reallocation_stays_with_the_new_owner() -> None:
    facts = [
        registered(),
        review_due("2017-07-05", "crown-ptph", "C1"),
        hearing("2017-07-04", "2017-07-28", hearing_id="C1"),
        reallocation("2017-07-17", "P-2", "2017-07-17"),
        reviewed("2017-07-20", "crown-ptph", "2017-07-20"),
    ]
    done = review(facts, "crown-ptph")
    assert (done.state, done.owner) == ("met", "P-2")
    assert review(facts[:3] + facts[4:], "crown-ptph").owner == "P-1"
    # Another case's reallocation moves nothing of this one.
    other = [*facts[:3], reallocation("2017-07-17", "P-9", "2017-07-17", urn=OTHER)]
    assert review(other, "crown-ptph").owner == "P-1"


# A held-back history: reviews met, late and lapsed, a relisting, a vacated hearing, two
# reallocations; its end state in every arrival order.
HISTORY = [
    registered("2017-07-03"),
    review_due("2017-07-05", "magistrates-first-hearing", "H1"),
    hearing("2017-07-04", "2017-07-24", hearing_id="H1"),
    hearing("2017-07-11", "2017-07-26", hearing_id="H1"),  # relisted: due Tue 25 July
    reviewed("2017-07-25", "magistrates-first-hearing", "2017-07-25"),
    review_due("2017-07-05", "crown-ptph", "C1"),
    hearing("2017-07-05T11:00:00+00:00", "2017-07-28", hearing_id="C1"),
    reviewed("2017-07-24", "crown-ptph", "2017-07-24"),  # due Fri 21 July: late
    review_due("2017-07-06", "crown-trial", "C2"),
    hearing("2017-07-06T11:00:00+00:00", "2017-08-07", hearing_id="C2"),  # due Mon 24 July
    review_due("2017-07-06", "magistrates-trial", "H2"),
    hearing("2017-07-06T12:00:00+00:00", "2017-08-14", hearing_id="H2"),
    hearing("2017-07-20", "2017-08-14", status="vacated", hearing_id="H2"),
    reallocation("2017-07-19", "P-2", "2017-07-19"),
    reallocation("2017-07-26", "P-3", "2017-07-26", by=None),
]
EXPECTED = {
    f"case-review/{URN}/magistrates-first-hearing": (date(2017, 7, 25), "met", "P-2"),
    f"case-review/{URN}/crown-ptph": (date(2017, 7, 21), "met-late", "P-2"),
    f"case-review/{URN}/crown-trial": (date(2017, 7, 24), "open", "P-3"),  # lapsed
    f"case-review/{URN}/magistrates-trial": (date(2017, 7, 31), "cancelled", "P-2"),
}


def summary(found: dict[str, ObligationDraft]) -> dict[str, tuple[date, str, str | None]]:
    return {i: (d.due, d.state, d.owner) for i, d in found.items()}


def test_held_back_history_gives_the_expected_reviews_and_owners_in_time_order() -> None:
    in_order = sorted(HISTORY, key=lambda f: f.order)
    assert summary(state(in_order)) == EXPECTED
    assert summary(run([in_order])) == EXPECTED


def test_held_back_history_ends_alike_in_every_shuffled_order_batching_and_redelivery() -> None:
    shuffle = random.Random(20170724)
    expected = state(sorted(HISTORY, key=lambda f: f.order))
    for _ in range(200):
        arrival = [*HISTORY, *shuffle.sample(HISTORY, 3)]  # some delivered again
        shuffle.shuffle(arrival)
        assert state(arrival) == expected
        cut = sorted(shuffle.sample(range(1, len(arrival)), 3))
        chunks = [arrival[a:b] for a, b in itertools.pairwise([0, *cut, len(arrival)])]
        assert run(chunks) == expected


def test_every_order_of_a_small_history_gives_one_end_state() -> None:
    facts = [
        registered(),
        review_due("2017-07-05", "crown-ptph", "C1"),
        hearing("2017-07-04", "2017-07-28", hearing_id="C1"),
        hearing("2017-07-10", "2017-08-04", hearing_id="C1"),
        reallocation("2017-07-17", "P-2", "2017-07-17"),
        reallocation("2017-07-18", "P-3", "2017-07-18"),
        reviewed("2017-07-28", "crown-ptph", "2017-07-28"),
    ]
    ends = {tuple(sorted(summary(state(list(p))).items())) for p in itertools.permutations(facts)}
    assert ends == {((f"case-review/{URN}/crown-ptph", (date(2017, 7, 28), "met", "P-3")),)}


def moves(batches: Iterable[Iterable[Fact]]) -> dict[str, list[tuple[str, str | None]]]:
    ledger = Ledger(RULES, CAL)
    for batch in batches:
        ledger.apply(batch, today=TODAY)
    return {label: move.obligations for label, move in ledger.moved.items()}


def test_what_each_reallocation_moved_depends_on_the_case_known_not_on_batching() -> None:
    """An entry records what the reallocation moved of the obligations known when it was
    applied: the same whether the case's earlier events came one at a time or in one batch
    with it, and whatever order the rest of the case's events (and the two reallocations)
    arrived in before it."""
    in_order = sorted(HISTORY, key=lambda f: f.order)
    first, second = (f"{f.source}#{f.id}" for f in HISTORY[-2:])
    expected = moves([f] for f in in_order)
    assert expected == {
        # On 19 July every review of the case was open (or, vacated on the 20th, not yet
        # cancelled): all four moved from P-1.
        first: [(i, "P-1") for i in sorted(EXPECTED)],
        # On 26 July the PTPH review (done on the 24th) and the first-hearing one (25th) were
        # done, the trial review cancelled: only the lapsed crown trial review moved, from P-2.
        second: [(f"case-review/{URN}/crown-trial", "P-2")],
    }
    assert moves([in_order]) == expected
    shuffle = random.Random(26)
    rest, reallocations = HISTORY[:-2], HISTORY[-2:]
    for _ in range(50):
        arrival = [*rest, *shuffle.sample(rest, 3)]
        shuffle.shuffle(arrival)
        last = shuffle.sample(reallocations, 2)
        assert moves([*([f] for f in arrival), last]) == expected
        assert moves([[*arrival, *last]]) == expected


def test_audit_lines_for_a_reallocation_and_an_owner_change_read_plainly() -> None:
    detail = {
        "from": "P-1",
        "to": "P-2",
        "reason": "P-1 on leave",
        "reallocated_date": "2017-07-19",
        "moved": [f"case-review/{URN}/crown-ptph", f"victim-letter/{URN}/V1"],
    }
    assert describe("case", "reallocated", detail) == (
        "Case reallocated on 2017-07-19 from P-1 to P-2 (2 obligations moved): P-1 on leave"
    )
    owner = {"owner_before": "P-1", "owner_after": "P-2", "state_after": "open"}
    assert describe("obligation", "updated", owner | {"due_after": "2017-07-21"}) == (
        "Obligation updated: owner P-1 -> P-2, open, due 2017-07-21"
    )
