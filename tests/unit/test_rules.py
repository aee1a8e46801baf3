"""The hearing and victim letter rules of the default pack, straight through the pure engine."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from services.rules.calendar import Calendar
from services.rules.engine import LinkRef, derive, diff, merge_facts, route
from services.rules.model import CaseInfo, Fact, effective_state
from services.rules.pack import Rule
from services.rules.packfile import load_pack

CAL = Calendar()
DEFAULT_RULES = load_pack()
RULES = {rule.id: rule for rule in DEFAULT_RULES}
HEARING_RECORD_SHEET, VICTIM_LETTER = RULES["hearing-record-sheet"], RULES["victim-letter"]
TODAY = date(2030, 1, 1)
CASE = CaseInfo(urn="41AB0001017", area="thames-and-chiltern", unit="magistrates", owner="P-100")


def fact(type_: str, when: str, id_: str, **data: Any) -> Fact:
    return Fact(source="/cms/tc", id=id_, type=type_, time=datetime.fromisoformat(when), data=data)


def held(id_: str, when: str, hearing_date: str, status: str = "held", **extra: Any) -> Fact:
    return fact(
        "hearing-updated",
        when,
        id_,
        urn=CASE.urn,
        hearing_id="H1",
        court="Reading",
        court_type="magistrates",
        hearing_date=hearing_date,
        status=status,
        **extra,
    )


def uploaded(id_: str, when: str, uploaded_date: str) -> Fact:
    return fact(
        "hearing-record-sheet-uploaded",
        when,
        id_,
        urn=CASE.urn,
        hearing_id="H1",
        uploaded_by="A-7",
        uploaded_date=uploaded_date,
    )


def only(facts: list[Fact], rule: Any = HEARING_RECORD_SHEET, case: CaseInfo | None = CASE) -> Any:
    [draft] = draw(rule, merge_facts([], facts), case)
    return draft


def draw(rule: Rule, facts: tuple[Fact, ...], case: CaseInfo | None = CASE) -> list[Any]:
    key = f"{CASE.urn}/H1" if rule is HEARING_RECORD_SHEET else f"{CASE.urn}/V1"
    return derive(rule, key, facts, case=case, calendar=CAL, today=TODAY).drafts


def test_hearing_held_opens_a_sheet_due_next_working_day() -> None:
    draft = only([held("e1", "2017-12-22T16:00:00+00:00", "2017-12-22", advocate="A-7")])
    assert draft.id == f"hearing-record-sheet/{CASE.urn}/H1"
    assert draft.due == date(2017, 12, 27)  # Friday, then Christmas Day and Boxing Day
    assert draft.state == "open"
    assert draft.owner == "A-7"  # the advocate who held the hearing, not the case owner
    assert draft.area == CASE.area
    assert draft.opened_by == "e1"
    assert "skipping 25 Dec Christmas Day, 26 Dec Boxing Day" in draft.explanation
    assert "HMCPSI" in draft.explanation


def test_hearing_listed_or_adjourned_opens_nothing() -> None:
    for status in ("listed", "adjourned"):
        facts = merge_facts(
            [], [held("e1", "2017-12-01T10:00:00+00:00", "2017-12-04", status=status)]
        )
        assert draw(HEARING_RECORD_SHEET, facts) == []


def test_sheet_on_or_before_due_is_met_after_is_met_late() -> None:
    on_time = only(
        [
            held("e1", "2018-05-04T16:00:00+01:00", "2018-05-04"),
            uploaded("e2", "2018-05-08T09:00:00+01:00", "2018-05-08"),
        ]
    )
    assert (on_time.due, on_time.state, on_time.closed_on) == (
        date(2018, 5, 8),
        "met",
        date(2018, 5, 8),
    )
    late = only(
        [
            held("e1", "2018-05-04T16:00:00+01:00", "2018-05-04"),
            uploaded("e2", "2018-05-09T09:00:00+01:00", "2018-05-09"),
        ]
    )
    assert (late.state, late.closed_on) == ("met-late", date(2018, 5, 9))


def test_vacated_after_held_cancels_but_held_after_vacated_stands() -> None:
    cancelled = only(
        [
            held("e1", "2018-01-10T10:00:00+00:00", "2018-01-10"),
            held("e2", "2018-01-10T12:00:00+00:00", "2018-01-10", status="vacated"),
        ]
    )
    assert cancelled.state == "cancelled"
    assert cancelled.closed_on == date(2018, 1, 10)
    reinstated = only(
        [
            held("e1", "2018-01-10T12:00:00+00:00", "2018-01-10"),
            held("e2", "2018-01-10T10:00:00+00:00", "2018-01-10", status="vacated"),
        ]
    )
    assert reinstated.state == "open"


def test_later_time_wins_when_hearing_date_is_corrected() -> None:
    corrected = only(
        [
            held("e2", "2018-01-12T09:00:00+00:00", "2018-01-11"),
            held("e1", "2018-01-10T18:00:00+00:00", "2018-01-10"),
        ]
    )
    assert corrected.due == date(2018, 1, 12)
    assert corrected.opened_by == "e1"  # identity and first opener kept through the correction


def test_victim_letter_one_day_enhanced_five_otherwise() -> None:
    def letter(enhanced: bool) -> Any:
        return only(
            [
                fact(
                    "victim-letter-due",
                    "2018-03-28T10:00:00+01:00",
                    "v1",
                    urn=CASE.urn,
                    victim_id="V1",
                    decision="discontinued",
                    decision_date="2018-03-28",
                    enhanced=enhanced,
                )
            ],
            rule=VICTIM_LETTER,
        )

    # Wednesday before Easter: Good Friday 30 Mar and Easter Monday 2 Apr are skipped.
    assert letter(True).due == date(2018, 3, 29)
    assert letter(False).due == date(2018, 4, 6)
    assert letter(False).owner == CASE.owner  # no owner field: the reviewing lawyer


def test_letter_sent_closes_even_when_it_arrives_first() -> None:
    sent = fact(
        "victim-letter-sent",
        "2018-04-10T10:00:00+01:00",
        "s1",
        urn=CASE.urn,
        victim_id="V1",
        sent_date="2018-04-10",
    )
    due = fact(
        "victim-letter-due",
        "2018-03-28T10:00:00+01:00",
        "v1",
        urn=CASE.urn,
        victim_id="V1",
        decision="no-charge",
        decision_date="2018-03-28",
        enhanced=False,
    )
    draft = only([sent, due], rule=VICTIM_LETTER)
    assert (draft.state, draft.closed_on) == ("met-late", date(2018, 4, 10))


def test_no_case_on_record_leaves_owner_and_area_unknown() -> None:
    draft = only([held("e1", "2018-01-10T10:00:00+00:00", "2018-01-10")], case=None)
    assert (draft.owner, draft.area) == (None, None)


def test_end_state_is_the_same_in_every_arrival_order_and_with_duplicates() -> None:
    facts = [
        held("e1", "2018-01-10T10:00:00+00:00", "2018-01-10"),
        held("e2", "2018-01-11T10:00:00+00:00", "2018-01-11"),
        held("e3", "2018-01-11T09:00:00+00:00", "2018-01-11", status="vacated"),
        uploaded("e4", "2018-01-12T10:00:00+00:00", "2018-01-12"),
    ]
    outcomes = set()
    for order in itertools.permutations([*facts, facts[0]]):
        state: tuple[Fact, ...] = ()
        for one in order:  # one event at a time, as the consumer sees them
            state = merge_facts(state, [one])
        outcomes.add(tuple(draw(HEARING_RECORD_SHEET, state)))
    assert len(outcomes) == 1
    [(draft,)] = outcomes
    assert (draft.due, draft.state) == (date(2018, 1, 12), "met")


def test_route_sends_each_event_to_the_rules_that_track_it() -> None:
    refs = route(DEFAULT_RULES, uploaded("e4", "2018-01-12T10:00:00+00:00", "2018-01-12"))
    assert [(r.rule, r.key, r.urn) for r in refs] == [
        ("hearing-record-sheet", f"{CASE.urn}/H1", CASE.urn)
    ]
    listed = held("e5", "2018-01-01T10:00:00+00:00", "2018-01-02", status="listed")
    # A listed hearing opens no sheet; it dates the case's reviews, reached through its urn.
    assert route(DEFAULT_RULES, listed) == [LinkRef("case-review", CASE.urn)]


def test_diff_names_what_changed() -> None:
    opened = only([held("e1", "2018-01-10T10:00:00+00:00", "2018-01-10")])
    met = only(
        [
            held("e1", "2018-01-10T10:00:00+00:00", "2018-01-10"),
            uploaded("e2", "2018-01-11T10:00:00+00:00", "2018-01-11"),
        ]
    )
    assert [c.kind for c in diff({}, [opened])] == ["opened"]
    assert [c.kind for c in diff({opened.id: opened}, [met])] == ["closed"]
    assert diff({met.id: met}, [met]) == []
    assert [c.kind for c in diff({met.id: met}, [])] == ["removed"]


def test_lapsed_is_open_past_due() -> None:
    assert effective_state("open", date(2018, 1, 11), date(2018, 1, 12)) == "lapsed"
    assert effective_state("open", date(2018, 1, 11), date(2018, 1, 11)) == "open"
    assert effective_state("met", date(2018, 1, 11), date(2018, 2, 1)) == "met"


def test_times_are_compared_as_instants_not_text() -> None:
    # 10:30 BST-style offset is 09:30 UTC: earlier than 09:45 UTC though it sorts later as text.
    vacated = held("e1", "2018-01-10T10:30:00+01:00", "2018-01-10", status="vacated")
    held_after = held("e2", "2018-01-10T09:45:00+00:00", "2018-01-10")
    assert vacated.time < held_after.time.astimezone(UTC)
    assert only([vacated, held_after]).state == "open"
