"""The consumer's faster forms give exactly what the plain ones give: one fact added to a
track by insertion, a fact's stored JSON written around pydantic's, calendar answers
remembered."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.mix import mix_lines
from events import parse_event
from services.rules.calendar import Calendar
from services.rules.engine import add_fact, merge_facts
from services.rules.model import Fact
from services.tracker.reading import fact_from_event, text_with

_START = datetime(2026, 1, 1, tzinfo=UTC)
# Few sources, ids and times, so that ties on time and repeated keys are common.
_facts = st.builds(
    lambda source, id_, minutes: Fact(
        source=source,
        id=id_,
        type="hearing-updated",
        time=_START + timedelta(minutes=minutes),
        data={"n": minutes},
    ),
    st.sampled_from(["/a", "/b"]),
    st.sampled_from(["1", "2", "3", "4", "5"]),
    st.integers(0, 3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_facts, max_size=12))
def test_adding_facts_one_at_a_time_is_merging_them(arrivals: list[Fact]) -> None:
    one_by_one: tuple[Fact, ...] = ()
    merged: tuple[Fact, ...] = ()
    for fact in arrivals:
        one_by_one = add_fact(one_by_one, fact)
        merged = merge_facts(merged, [fact])
    first_of_each: dict[tuple[str, str], Fact] = {}
    for fact in arrivals:
        first_of_each.setdefault((fact.source, fact.id), fact)
    expected = tuple(sorted(first_of_each.values(), key=lambda f: f.order))
    assert one_by_one == merged == expected


def test_the_first_of_two_facts_with_one_key_stands() -> None:
    first = Fact("/a", "1", "hearing-updated", _START, {"v": 1})
    second = Fact("/a", "1", "hearing-updated", _START - timedelta(hours=1), {"v": 2})
    assert add_fact((first,), second) == (first,)
    assert merge_facts((), [first, second]) == (first,)


def test_a_facts_text_reads_back_as_the_fact() -> None:
    lines = mix_lines(2000)
    extra = json.loads(lines[0])
    extra["source"] = '/cms/\u00e9t\u00e9 "quoted"'
    extra["data"]["note"] = {"caf\u00e9": ["\u2603", 1.5, None, True, 10**30]}
    for line in [*lines, json.dumps(extra)]:
        event = parse_event(line, plain=False)
        fact = fact_from_event(event)
        text = text_with(fact, event.data.model_dump_json())
        assert json.loads(text) == fact.to_json()
        assert Fact.from_json(json.loads(text)) == fact


def test_remembered_calendar_answers_are_the_computed_ones() -> None:
    remembering, fresh = Calendar(), Calendar()
    start = date(2026, 12, 18)  # across Christmas and the New Year
    for days in range(0, 30):
        first = remembering.add_working_days(start, days)
        assert remembering.add_working_days(start, days) is first
        assert first == Calendar().add_working_days(start, days)
        limit = remembering.custody_time_limit_expiry(start, 56 + days, days % 3)
        assert remembering.custody_time_limit_expiry(start, 56 + days, days % 3) is limit
        assert limit == fresh.custody_time_limit_expiry(start, 56 + days, days % 3)


def test_a_utc_timestamp_is_stored_as_any_other_instant_is() -> None:
    from datetime import timezone

    from schemas.bulk import _sqlite_timestamp

    for moment in (datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)):
        in_bst = moment.astimezone(timezone(timedelta(hours=1)))
        assert _sqlite_timestamp(moment) == _sqlite_timestamp(in_bst)
        assert _sqlite_timestamp(moment) == moment.replace(tzinfo=None).isoformat(
            " ", "microseconds"
        )
