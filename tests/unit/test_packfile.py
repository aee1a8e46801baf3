"""Rule packs as YAML: the shipped pack, and errors that name the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.rules.due import WorkingDaysAfter
from services.rules.packfile import RulePackError, load_pack, parse_pack

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
    assert set(rules) == {
        "hearing-record-sheet",
        "victim-letter",
        "custody-time-limit",
        "ctl-28-day-review",
        "finalisation-reason-code",
        "complaint-response",
        "recommendation-action",
        "recurring-commitment",
        "victims-right-to-review",
    }
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
