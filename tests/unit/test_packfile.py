"""Rule packs as YAML: the shipped pack, and errors that name the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.rules.due import WorkingDaysAfter, WorkingDaysBefore
from services.rules.packfile import RulePackError, load_pack, parse_pack
from tests.factories import DEFAULT_RULE_IDS

GOOD = """
version: 1
rules:
  - id: hearing-record-sheet
    title: Sheet
    source: Area policy
    opens: {event: hearing-updated, when: {status: held}, key: [urn, hearing_id]}
    due: +2 working days after hearing_date
    closes: [{event: hearing-record-sheet-uploaded, key: [urn, hearing_id], date: uploaded_date}]
"""


def test_the_shipped_pack_has_the_rules_with_their_sources() -> None:
    rules = {rule.id: rule for rule in load_pack()}
    assert set(rules) == DEFAULT_RULE_IDS
    victim = rules["victim-letter"]
    assert victim.due_for({"enhanced": True}) == WorkingDaysAfter(1, "decision_date")
    assert victim.due_for({"enhanced": False}) == WorkingDaysAfter(5, "decision_date")
    assert all(rule.source for rule in rules.values())
    assert "Victim Communication and Liaison scheme" in victim.source
    assert [m.type for m in rules["hearing-record-sheet"].cancels] == ["hearing-updated"]


def test_an_area_can_change_an_open_interval(tmp_path: Path) -> None:
    path = tmp_path / "area.yaml"
    path.write_text(GOOD)
    [rule] = load_pack(path)
    assert rule.due == WorkingDaysAfter(2, "hearing_date")
    assert rule.opens.when == {"status": "held"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("+2 working days after hearing_date", "2 weeks after"),
            "rule hearing-record-sheet: due: cannot read due expression '2 weeks after'",
        ),
        (
            ("event: hearing-updated", "event: hearing-moved"),
            "rule hearing-record-sheet: opens.event: unknown event type 'hearing-moved'",
        ),
        (("    title: Sheet\n", ""), "rule hearing-record-sheet: title: Field required"),
        (
            ("    source: Area policy", "    source: Area policy\n    colour: red"),
            "rule hearing-record-sheet: colour: Extra inputs are not permitted",
        ),
        (
            ("- id: hearing-record-sheet", "- id: Hearing Sheet"),
            "rule Hearing Sheet: id: String should match pattern",
        ),
    ],
)
def test_errors_name_the_rule_and_the_field(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(RulePackError) as raised:
        parse_pack(GOOD.replace(*change), origin="area.yaml")
    assert any(problem.startswith(f"area.yaml: {expected}") for problem in raised.value.problems), (
        raised.value.problems
    )


def test_duplicate_ids_and_bad_yaml_and_missing_files(tmp_path: Path) -> None:
    twice = GOOD + GOOD.split("rules:\n", 1)[1]
    with pytest.raises(RulePackError, match="rule hearing-record-sheet: id used more than once"):
        parse_pack(twice, origin="area.yaml")
    with pytest.raises(RulePackError, match="not valid YAML"):
        parse_pack("rules: [", origin="area.yaml")
    with pytest.raises(RulePackError, match="cannot read"):
        load_pack(tmp_path / "missing.yaml")


def test_the_guard_refuses_network_in_unit_tests() -> None:
    import socket

    with pytest.raises(AssertionError, match="must not touch the network"):
        socket.create_connection(("127.0.0.1", 6379))


PACK_WITH = """
version: 1
settings:
  days: {value: 3, unconfirmed: true, source: Area note}
rules:
  - id: r
    title: R
    source: S
    opens: {event: response-committed, key: [action_id], when: {due_date: {present: true}}}
    due: +{days} working days after due_date
    closes: [{event: action-completed, key: [action_id], date: completed_date}]
    cancels:
      - {event: follow-up-assessed, when: {rating: [no-longer-relevant]}, via: recommendation_id}
"""


def test_settings_conditions_and_links_are_read() -> None:
    [rule] = parse_pack(PACK_WITH, origin="p.yaml")
    assert rule.due == WorkingDaysAfter(3, "due_date")
    assert rule.unconfirmed  # it uses an unconfirmed setting
    assert rule.link_field == "recommendation_id"
    assert rule.opens.accepts("response-committed", {"due_date": "2025-01-01"})
    assert not rule.opens.accepts("response-committed", {"due_date": None})
    assert rule.cancels[0].accepts("follow-up-assessed", {"rating": "no-longer-relevant"})
    assert not rule.cancels[0].accepts("follow-up-assessed", {"rating": "achieved"})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("+{days} working", "+{weeks} working"), "rule r: due: no pack setting named 'weeks'"),
        (
            ("via: recommendation_id", "via: inspection_id"),
            "rule r: cancels.0.via: event response-committed has no field 'inspection_id'",
        ),
        (
            ("due: +{days} working days after due_date", "due: end of recurrence period"),
            "rule r: recurrence: 'end of recurrence period' needs a recurrence block",
        ),
        (
            (
                "    cancels:",
                "    recurrence: {every: recurrence, starts: starts, ends: ends}\n    cancels:",
            ),
            "rule r: due: a recurring rule is due at the 'end of recurrence period'",
        ),
        (
            (
                "closes: [{event: action-completed, key: [action_id]",
                "closes: [{event: action-completed, key: []",
            ),
            "rule r: closes.0.key: name the fields that identify the thing tracked",
        ),
    ],
)
def test_more_errors_name_the_rule_and_the_field(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(RulePackError) as raised:
        parse_pack(PACK_WITH.replace(*change), origin="p.yaml")
    assert f"p.yaml: {expected}" in raised.value.problems, raised.value.problems


def test_escalation_is_validated_naming_rule_and_field() -> None:
    text = """
version: 1
rules:
  - id: letters
    title: t
    source: s
    opens: {event: victim-letter-due, key: [urn, victim_id]}
    due: +5 working days after decision_date
    closes: [{event: victim-letter-sent, key: [urn, victim_id], date: sent_date}]
    escalation:
      - {at: warning, to: [owner]}
      - {at: 2 weekdays after lapse, to: [owner]}
      - {at: 3 working days after lapse, to: [chief]}
"""
    with pytest.raises(RulePackError) as caught:
        parse_pack(text, origin="area.yaml")
    problems = caught.value.problems
    assert any(
        "rule letters: escalation.1.at: cannot read '2 weekdays after lapse'" in p for p in problems
    )
    assert any("rule letters: escalation.2.to: unknown role 'chief'" in p for p in problems)


def test_escalation_needs_warnings_and_a_lapse_entry() -> None:
    text = """
version: 1
rules:
  - id: letters
    title: t
    source: s
    opens: {event: victim-letter-due, key: [urn, victim_id]}
    due: +5 working days after decision_date
    closes: [{event: victim-letter-sent, key: [urn, victim_id], date: sent_date}]
    escalation:
      - {at: warning, to: [owner]}
    business: true
"""
    with pytest.raises(RulePackError) as caught:
        parse_pack(text, origin="area.yaml")
    assert caught.value.problems == [
        "area.yaml: rule letters: escalation.0.at: the rule has no warnings (warn) to escalate at",
        "area.yaml: rule letters: escalation: name who hears at the lapse ('at: lapse')",
    ]


REVIEW = """
version: 1
settings:
  before_ptph: {value: 5, unconfirmed: true, source: Better Case Management}
rules:
  - id: case-review
    title: Review
    source: Area policy
    opens: {event: case-review-due, key: [urn, stage]}
    due: -{before_ptph} working days before hearing_date
    due_from: {event: hearing-updated, via: urn, same: [hearing_id]}
    closes: [{event: case-reviewed, key: [urn, stage], date: reviewed_date}]
    cancels:
      - {event: hearing-updated, via: urn, same: [hearing_id], latest: true,
         when: {status: vacated}, before_due: true}
"""


def test_a_due_date_before_a_field_of_a_linked_event_is_read() -> None:
    [rule] = parse_pack(REVIEW, origin="area.yaml")
    assert rule.due == WorkingDaysBefore(5, "hearing_date")
    assert str(rule.due) == "-5 working days before hearing_date"
    assert rule.unconfirmed  # its interval is an unconfirmed setting
    assert rule.due_from is not None and rule.due_from.same == ("hearing_id",)
    assert rule.link_field == "urn"
    [vacated] = rule.cancels
    assert (vacated.latest, vacated.same, vacated.before_due) == (True, ("hearing_id",), True)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                "due_from: {event: hearing-updated, via: urn, ",
                "due_from: {event: hearing-updated, ",
            ),
            "rule case-review: due_from.via: name the field that reaches the opening events",
        ),
        (
            ("-{before_ptph} working days before hearing_date", "-5 working days before decided"),
            "rule case-review: due: event hearing-updated has no field 'decided'",
        ),
        (
            ("same: [hearing_id]}\n", "same: [courtroom]}\n"),
            "rule case-review: due_from.same: event hearing-updated has no field 'courtroom'",
        ),
        (
            ("-{before_ptph} working", "-{before_trial} working"),
            "rule case-review: due: no pack setting named 'before_trial'",
        ),
    ],
)
def test_due_from_errors_name_the_rule_and_the_field(
    change: tuple[str, str], expected: str
) -> None:
    with pytest.raises(RulePackError) as refused:
        parse_pack(REVIEW.replace(*change), origin="area.yaml")
    assert expected in str(refused.value)
