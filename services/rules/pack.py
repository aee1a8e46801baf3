"""Rule specifications: what opens, closes and cancels an obligation, and how its due date runs.

Rules are data; the engine interprets them. The two rules here are the first of the default pack
(contract section 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Match:
    """Events of `type` whose data carries every `when` value, tracked by `key_fields`."""

    type: str
    key_fields: tuple[str, ...]
    when: Mapping[str, Any] = field(default_factory=dict)
    date_field: str | None = None  # for closing events: the date it was done; else `time`

    def accepts(self, event_type: str, data: Mapping[str, Any]) -> bool:
        if event_type != self.type:
            return False
        return all(data.get(name) == value for name, value in self.when.items())

    def key_of(self, data: Mapping[str, Any]) -> str | None:
        parts = [data.get(name) for name in self.key_fields]
        if any(part is None or part == "" for part in parts):
            return None
        return "/".join(str(part) for part in parts)


@dataclass(frozen=True, slots=True)
class WorkingDaysAfter:
    """Due the N-th working day after a date field; `days_when` overrides N for some events."""

    after: str
    days: int
    days_when: tuple[tuple[Mapping[str, Any], int], ...] = ()

    def days_for(self, data: Mapping[str, Any]) -> int:
        for condition, days in self.days_when:
            if all(data.get(name) == value for name, value in condition.items()):
                return days
        return self.days


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    source: str
    opens: Match
    due: WorkingDaysAfter
    closes: tuple[Match, ...]
    # A cancelling event ends the obligation only when it is later (by `time`) than the
    # opening event that stands: a hearing vacated after it was recorded as held.
    cancels: tuple[Match, ...] = ()
    owner_field: str | None = None  # falls back to the case owner
    area_field: str | None = None  # falls back to the case area

    def matches(self) -> tuple[Match, ...]:
        return (self.opens, *self.closes, *self.cancels)


HEARING_RECORD_SHEET = Rule(
    id="hearing-record-sheet",
    title="Hearing Record Sheet uploaded after a hearing",
    source=(
        "HMCPSI thematic inspection of CMS case finalisations (2017), issue 1: standard template "
        "Hearing Record Sheet; interval not fixed by guidance [open], default +1 working day"
    ),
    opens=Match("hearing-updated", ("urn", "hearing_id"), when={"status": "held"}),
    due=WorkingDaysAfter(after="hearing_date", days=1),
    closes=(
        Match("hearing-record-sheet-uploaded", ("urn", "hearing_id"), date_field="uploaded_date"),
    ),
    cancels=(Match("hearing-updated", ("urn", "hearing_id"), when={"status": "vacated"}),),
    owner_field="advocate",
)

VICTIM_LETTER = Rule(
    id="victim-letter",
    title="Letter to the victim after a decision (VCL scheme)",
    source=(
        "CPS legal guidance, Victim Communication and Liaison scheme (Jan 2020); Victims' Code: "
        "1 working day for victims entitled to the enhanced service, 5 for all others"
    ),
    opens=Match("victim-letter-due", ("urn", "victim_id")),
    due=WorkingDaysAfter(after="decision_date", days=5, days_when=(({"enhanced": True}, 1),)),
    closes=(Match("victim-letter-sent", ("urn", "victim_id"), date_field="sent_date"),),
)

DEFAULT_RULES: tuple[Rule, ...] = (HEARING_RECORD_SHEET, VICTIM_LETTER)
