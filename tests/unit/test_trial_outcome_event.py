"""The `trial-outcome-recorded` event (docs/contract.md, section 2, "Added event types")."""

from typing import Any

import pytest

from events import EventRejected, TrialOutcomeRecorded, parse_event


def raw(**data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "urn": "42EE0000117",
        "hearing_id": "H-1",
        "court_type": "magistrates",
        "outcome": "cracked",
        "reason": "no evidence offered: key witness not warned",
        "attributable_to": "prosecution",
        "trial_date": "2017-07-12",
    }
    body.update(data)
    for name in [name for name, value in data.items() if value is ...]:
        del body[name]
    return {
        "specversion": "1.0",
        "id": "t-1",
        "source": "/hmcts/east-of-england",
        "type": "trial-outcome-recorded",
        "time": "2017-07-12T16:00:00+01:00",
        "datacontenttype": "application/json",
        "data": body,
    }


def rejected(**data: Any) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw(**data))
    return caught.value


def test_a_cracked_trial_with_reason_and_attribution_is_read() -> None:
    data = parse_event(raw(area="east-of-england")).data
    assert isinstance(data, TrialOutcomeRecorded)
    assert (data.outcome, data.attributable_to, data.area) == (
        "cracked",
        "prosecution",
        "east-of-england",
    )


def test_an_effective_trial_needs_no_reason() -> None:
    data = parse_event(raw(outcome="effective", reason=..., attributable_to=...)).data
    assert isinstance(data, TrialOutcomeRecorded)
    assert data.reason is None and data.area is None


@pytest.mark.parametrize("outcome", ["cracked", "ineffective"])
def test_a_trial_that_did_not_proceed_names_its_reason(outcome: str) -> None:
    assert "reason" in str(rejected(outcome=outcome, reason=...))
    assert "reason" in str(rejected(outcome=outcome, reason="  "))
    assert "attributable_to" in str(rejected(outcome=outcome, attributable_to=...))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("court_type", "youth"),
        ("outcome", "vacated"),
        ("attributable_to", "police"),
        ("trial_date", "12/07/2017"),
    ],
)
def test_values_outside_the_contract_are_refused_naming_the_field(field: str, value: str) -> None:
    assert field in str(rejected(**{field: value}))
