"""IQA leniency measures (services/summaries/iqa.py), with values worked out by hand, over a
held-back national set (tests/iqa_national.py), and a property: the measures do not depend on
arrival order or duplicates."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.rules.model import Fact, in_utc
from services.summaries.iqa import gap_points, measures, percent
from tests.iqa_national import (
    EXPECTED_AREAS,
    EXPECTED_ASSESSORS,
    EXPECTED_NATIONAL,
    IQAS,
    national_set,
)


def as_fact(raw: dict[str, Any]) -> Fact:
    return Fact(raw["source"], raw["id"], raw["type"], in_utc(datetime.fromisoformat(raw["time"])),
                raw["data"])  # fmt: skip


FACTS = [as_fact(e) for e in national_set()]
STAFF = [f for f in FACTS if f.type == "staff-updated"]


def fact(type_: str, id_: str, time: str = "2026-10-05T10:00:00+00:00", **data: Any) -> Fact:
    return Fact("/cms/x", id_, type_, datetime.fromisoformat(time), data)


def iqa(iqa_id: str, rating: str, **answers: str) -> Fact:
    return fact("iqa-completed", f"c-{iqa_id}", iqa_id=iqa_id, urn="43XX0000001", stage="advice",
                assessor="LM-1", prosecutor="P-1", assessed_date="2026-10-05", rating=rating,
                answers={k.replace("_", "-"): v for k, v in answers.items()},
                area="wessex")  # fmt: skip


def again(
    iqa_id: str, rating: str, time: str = "2026-11-05T10:00:00+00:00", **answers: str
) -> Fact:
    return fact("iqa-reassessed", f"r-{iqa_id}-{time}", time, iqa_id=iqa_id, assessor="LM-1",
                assessed_date="2026-10-05", reassessed_by="SM-1", role="senior-manager",
                reassessed_date=time[:10], rating=rating,
                answers={k.replace("_", "-"): v for k, v in answers.items()} or None)  # fmt: skip


def test_rounding_is_half_up_to_one_decimal() -> None:
    assert percent(1, 8) == 12.5
    assert percent(1, 6) == 16.7
    assert percent(3, 7) == 42.9
    assert percent(1, 16) == 6.3  # 6.25 rounds up, not to even
    assert percent(0, 0) is None
    assert gap_points(1, 3, 16) == -12.5
    assert gap_points(0, 0, 0) is None


def test_a_small_set_by_hand() -> None:
    facts = [
        iqa("A", "fully-met", disclosure_schedules="yes", review="yes"),
        iqa("B", "fully-met", disclosure_schedules="yes"),
        iqa("C", "partially-met", disclosure_schedules="no", disclosure_third_party="n/a"),
        iqa("D", "not-met"),
        again("A", "partially-met", disclosure_schedules="no"),  # lenient
        again("B", "fully-met", disclosure_schedules="yes"),  # agreed
        again("C", "not-met", disclosure_schedules="no"),  # lenient
    ]
    result = measures(facts)
    national = result.national
    # 2 of 3 reassessed were lenient: 66.7%. Met: assessor A, B (2); reassessor B (1): 1/3.
    assert (national.iqas, national.reassessed, national.lenient) == (4, 3, 2)
    assert (national.leniency_pct, national.gap_pp) == (66.7, 33.3)
    assert [(d.question, d.answers, d.compared, d.agreed) for d in national.disclosure] == [
        ("disclosure-schedules", (("no", 1), ("yes", 2)), 3, 2),
        ("disclosure-third-party", (("n/a", 1),), 0, 0),
    ]
    assert [a.name for a in result.areas] == ["wessex"]
    assert [u.name for u in result.units] == ["wessex/unknown"]


def test_the_latest_reassessment_stands_and_a_stricter_assessor_is_not_lenient() -> None:
    facts = [
        iqa("A", "partially-met"),
        again("A", "not-met", "2026-11-05T10:00:00+00:00"),
        again("A", "fully-met", "2026-11-09T10:00:00+00:00"),  # later: the assessor was harsher
    ]
    national = measures(facts).national
    assert (national.reassessed, national.lenient, national.leniency_pct) == (1, 0, 0.0)
    assert national.gap_pp == -100.0
    assert measures([iqa("A", "fully-met")]).national.leniency_pct is None


def test_held_back_national_set_gives_exactly_the_rates_and_gap_per_area() -> None:
    result = measures(FACTS, staff=STAFF)
    rows = {a.name: (a.reassessed, a.lenient, a.leniency_pct, a.gap_pp) for a in result.areas}
    assert rows == EXPECTED_AREAS
    rows = {a.name: (a.reassessed, a.lenient, a.leniency_pct, a.gap_pp) for a in result.assessors}
    assert rows == EXPECTED_ASSESSORS
    n = result.national
    assert (n.reassessed, n.lenient, n.leniency_pct, n.gap_pp) == EXPECTED_NATIONAL
    assert n.iqas == IQAS
    assert {u.name: u.reassessed for u in result.units} == {
        "east-of-england/magistrates": 7,
        "thames-and-chiltern/crown": 6,
        "wessex/crown": 4,
        "wessex/magistrates": 4,
    }
    (schedules,) = n.disclosure
    # Assessors answered "no" only where they rated not-met (6 IQAs); reassessors always "no":
    # of 21 pairs, the 3 not-met by both agree.
    assert (schedules.answers, schedules.compared, schedules.agreed) == (
        (("no", 6), ("yes", 27)),
        21,
        3,
    )


def test_a_period_keeps_only_the_iqas_assessed_in_it() -> None:
    result = measures(FACTS, staff=STAFF, first=date(2026, 10, 1), last=date(2026, 10, 8))
    # Days 2, 4, 6, 8: the first four IQAs of each of the five assessors.
    assert result.national.iqas == 20


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.integers(0, len(FACTS) - 1), max_size=20))
def test_measures_do_not_depend_on_arrival_order_or_duplicates(
    rnd: random.Random, repeated: list[int]
) -> None:
    expected = measures(FACTS, staff=STAFF)
    arrival = FACTS + [FACTS[i] for i in repeated]
    rnd.shuffle(arrival)
    staff = [f for f in arrival if f.type == "staff-updated"]
    assert measures(arrival, staff=staff) == expected
