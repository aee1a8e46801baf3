"""Which duplicates of a batch conflict with the content that stands, and how one is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from schemas.tables import DeadLetter
from services.rules.model import Fact
from services.tracker.conflicts import differences, find_conflicts
from services.tracker.dead_letters import CONFLICT, letter_of, unreplayable

NOON = datetime(2018, 2, 1, 12, tzinfo=UTC)


def fact(id_: str = "e1", *, time: datetime = NOON, **data: object) -> Fact:
    return Fact("/cms", id_, "victim-letter-due", time, {"urn": "U1", **data})


def test_a_batch_without_repeats_or_stored_keys_has_none() -> None:
    facts = [fact("e1"), fact("e2", decision_date="2018-02-01")]
    assert find_conflicts(facts, facts, {}) == []


def test_an_exact_duplicate_is_not_a_conflict_whatever_the_offset_of_its_time() -> None:
    first = fact(decision_date="2018-02-01")
    again = fact(time=NOON.astimezone(timezone(timedelta(hours=1))), decision_date="2018-02-01")
    assert find_conflicts([first, again], [first], {}) == []
    assert find_conflicts([again], [again], {("/cms", "e1"): first}) == []


def test_in_a_batch_the_first_stands_and_each_later_other_content_conflicts() -> None:
    first, other, same = fact(d="1"), fact(d="2"), fact(d="1")
    [conflict] = find_conflicts([first, other, same], [first], {})
    assert (conflict.received, conflict.standing, conflict.stored_before) == (other, first, False)


def test_a_stored_content_stands_over_the_whole_batch() -> None:
    stored, first, second, same = fact(d="0"), fact(d="1"), fact(d="2"), fact(d="0")
    found = find_conflicts([first, second, same], [first], {("/cms", "e1"): stored})
    assert [(c.received, c.standing, c.stored_before) for c in found] == [
        (first, stored, True),
        (second, stored, True),
    ]


def test_differences_name_type_time_and_each_data_field() -> None:
    a = fact(d="1", kept="x", gone="y")
    data = {"urn": "U1", "d": "2", "kept": "x", "new": None}
    b = Fact("/cms", "e1", "victim-letter-sent", NOON + timedelta(hours=1), data)
    assert differences(a, b) == ["type", "time", "data.d", "data.gone", "data.new"]


def test_a_conflict_letter_keeps_both_contents_in_one_canonical_form() -> None:
    stored, received = fact(d="1", z=1, a=2), fact(a=2, z=1, d="2")
    [conflict] = find_conflicts([received], [received], {("/cms", "e1"): stored})
    letter = letter_of(conflict)
    assert (letter.origin, letter.event_source, letter.event_id) == (CONFLICT, "/cms", "e1")
    assert letter.field == "data.d"
    assert "stored before" in letter.reason
    assert json.loads(letter.raw)["data"]["d"] == "2"
    assert letter.stored is not None and json.loads(letter.stored)["data"]["d"] == "1"
    assert letter.raw.replace('"2"', '"1"') == letter.stored  # same keys, same order


def test_a_conflict_is_not_replayable_and_other_dead_letters_are() -> None:
    conflict = DeadLetter(origin=CONFLICT, reason="r", raw="{}", stored="{}")
    refused = unreplayable(conflict)
    assert refused is not None and "conflicting duplicate" in refused and "discard" in refused
    assert unreplayable(DeadLetter(origin="stream", reason="r", raw="{}")) is None
