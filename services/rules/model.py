"""What the rules engine reads (facts) and writes (obligation drafts and changes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

StoredState = Literal["open", "met", "met-late", "cancelled"]
State = Literal["open", "met", "met-late", "lapsed", "cancelled"]
STATES: tuple[State, ...] = ("open", "met", "met-late", "lapsed", "cancelled")


def in_utc(moment: datetime) -> datetime:
    """The same instant in UTC. Facts keep their times so: comparing two aware datetimes with
    different tzinfo objects (a BST event and a GMT one, or pydantic's tzinfo and the standard
    library's) asks each for its offset, and sorting a batch's facts cost ten times as much."""
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Fact:
    """One accepted event as the engine sees it: JSON values, no pydantic, cheap to store."""

    source: str
    id: str
    type: str
    time: datetime
    data: Mapping[str, Any] = field(hash=False)

    @property
    def order(self) -> tuple[datetime, str, str]:
        """Total order used whenever "the later event stands": by time, ties by source and id."""
        return (self.time, self.source, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "id": self.id,
            "type": self.type,
            "time": self.time.isoformat(),
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Fact:
        return cls(
            source=raw["source"],
            id=raw["id"],
            type=raw["type"],
            time=in_utc(datetime.fromisoformat(raw["time"])),
            data=raw["data"],
        )


@dataclass(frozen=True, slots=True)
class CaseInfo:
    urn: str
    area: str
    unit: str
    owner: str
    # (time, source, id) of the case-registered event that stands: the later one wins.
    order: tuple[datetime, str, str] | None = None


@dataclass(frozen=True, slots=True)
class ObligationDraft:
    id: str
    rule: str
    key: str
    urn: str | None
    owner: str | None
    area: str | None
    opened_by: str
    due: date
    state: StoredState
    closed_on: date | None
    explanation: str


ChangeKind = Literal[
    "opened", "recalculated", "closed", "cancelled", "reopened", "updated", "removed"
]


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    obligation_id: str
    before: ObligationDraft | None
    after: ObligationDraft | None
    cause: tuple[str, ...] = ()  # "source#id" of the events that made it, or "clock:DATE"


def effective_state(state: str, due: date, today: date) -> State:
    """Lapsed is not stored: it is an open obligation whose due date has passed."""
    if state == "open" and today > due:
        return "lapsed"
    assert state in STATES, state
    return state
