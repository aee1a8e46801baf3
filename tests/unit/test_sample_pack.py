"""Rule pack options of sampled rules: read, and each mistake named with its rule and field."""

from __future__ import annotations

import pytest

from services.rules.due import WorkingDaysAfterMonthEnd
from services.rules.packfile import RulePackError, parse_pack

PACK = """
version: 1
settings:
  share: {value: 25, source: Area policy}
rules:
  - id: s
    title: Second check
    source: Area policy
    opens: {event: finalisation-checked, key: [checked_by, 'checked_date:month']}
    sample: {percent: '{share}', month: checked_date, item: [urn]}
    due: +5 working days after end of month of checked_date
    closes:
      - {event: sampled-check-reviewed, key: [checked_by, 'checked_date:month']}
    owner_from: {event: staff-updated, via: staff_id, link: checked_by, field: line_manager}
"""


def test_a_sampled_rule_is_read() -> None:
    (rule,) = parse_pack(PACK, origin="p.yaml")
    assert rule.sample is not None and rule.sample.percent == 25
    assert rule.sample.item_fields == ("urn",)
    assert rule.due == WorkingDaysAfterMonthEnd(5, "checked_date")
    assert rule.link_field == "checked_by"
    assert rule.owner_from is not None and rule.owner_from.field == "line_manager"
    assert rule.opens.key_of({"checked_by": "LM-1", "checked_date": "2017-07-05"}) == (
        "LM-1/2017-07"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("'checked_date:month']}\n    sample", "'checked_on:month']}\n    sample"),
         "rule s: opens.key: event finalisation-checked has no field 'checked_on'"),
        (("month: checked_date", "month: checked_on"),
         "rule s: sample.month: event finalisation-checked has no field 'checked_on'"),
        (("field: line_manager", "field: manager"),
         "rule s: owner_from.field: event staff-updated has no field 'manager'"),
        (("link: checked_by", "link: checker"),
         "rule s: owner_from.link: event finalisation-checked has no field 'checker'"),
        (("value: 25", "value: 0"), "rule s: sample.percent: must be 1 to 100, not 0"),
    ],
)  # fmt: skip
def test_mistakes_name_the_rule_and_the_field(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(RulePackError) as raised:
        parse_pack(PACK.replace(*change), origin="p.yaml")
    assert f"p.yaml: {expected}" in raised.value.problems, raised.value.problems
