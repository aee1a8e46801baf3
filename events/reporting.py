"""Events Followup itself publishes about its reports (outbound, on the tracking stream)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from events.envelope import Event, EventData, Id

SOURCE = "/followup/summaries"


class SummaryPublished(EventData):
    """A weekly summary for one scope and ISO week was sent to everyone it is for."""

    type_name = "summary-published"

    scope_kind: Literal["area", "unit", "team"]
    scope_id: Id
    area: Id
    week: str  # ISO week, 2017-W30
    as_of: date
    recipients: list[Id]  # staff ids
    due: int
    met: int
    met_late: int
    lapsed: int
    open: int
    on_time_pct: float | None


def summary_published(data: SummaryPublished, *, time: datetime) -> Event:
    """The CloudEvent; its id is stable per scope and week, so a resend after a failure is
    recognisably the same event (the contract's (source, id) idempotency key)."""
    return Event(
        specversion="1.0",
        id=f"summary-published/{data.scope_kind}/{data.scope_id}/{data.week}",
        source=SOURCE,
        type=SummaryPublished.type_name,
        time=time,
        subject=f"{data.scope_kind}/{data.scope_id}",
        datacontenttype="application/json",
        dataversion=SummaryPublished.version,
        data=data,
    )
