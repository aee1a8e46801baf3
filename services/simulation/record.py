"""What every story writes to: events as (time, source, id, type, data), ids made from the
thing the story is about (a URN, a complaint, an inspection) and a count, so the same seed
gives the same ids whatever else is generated beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Raw = tuple[datetime, str, str, str, dict[str, Any]]  # time, source, id, type, data


@dataclass(slots=True)
class Recorder:
    """Collects one story's events; `prefix` and the count make each id unique per source."""

    source: str
    prefix: str
    events: list[Raw] = field(default_factory=list)

    def add(self, when: datetime, type_: str, **data: Any) -> None:
        n = len(self.events) + 1
        self.events.append((when, self.source, f"{self.prefix}-{n:02d}", type_, data))


def envelope(raw: Raw) -> dict[str, Any]:
    """The CloudEvents 1.0 envelope of one event (docs/contract.md section 1)."""
    when, source, id_, type_, data = raw
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": id_,
        "source": source,
        "type": type_,
        "time": when.isoformat(),
    }
    if "urn" in data:
        event["subject"] = data["urn"]
    event["datacontenttype"] = "application/json"
    event["data"] = data
    return event
