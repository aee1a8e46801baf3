"""Rule specifications: what opens, closes and cancels an obligation, and how its due date runs.

Rules are data (services/rules/default-pack.yaml, or an Area's own file); packfile.py reads them
into these objects and the engine interprets them.
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
