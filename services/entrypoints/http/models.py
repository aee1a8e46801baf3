"""What the JSON API answers, typed, so the OpenAPI document describes it: the fields of
docs/contract.md sections 5 and 7, and what section 12 ("People's API") adds to them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, WithJsonSchema

ObligationState = Literal["open", "met", "met-late", "lapsed", "cancelled"]
AlertState = Literal[
    "pending", "queued", "sent", "undeliverable", "withdrawn", "acknowledged", "snoozed"
]

# Times are given as the command line's JSON gives them (Python's isoformat, `+00:00`), so
# typed answers read exactly as before.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

# A row id in a path (an alert, a dead letter, a calendar feed): ids are 32-bit integers in
# PostgreSQL, so a larger number is refused 422 (it can name nothing) instead of reaching the
# database, which would fail on it.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_REF = "`ob-` and 16 hex digits of the SHA-256 of the obligation id (section 7)"
_HIDDEN = "null for readers given references instead of ids (section 12, People's API)"


class Obligation(BaseModel):
    id: str | None = Field(description=f"the obligation id; {_HIDDEN}")
    obligation_ref: str = Field(description=_REF)
    rule: str
    key: str | None = Field(description=f"what it tracks, e.g. `urn/hearing_id`; {_HIDDEN}")
    urn: str | None
    owner: str | None = Field(description="staff id")
    area: str | None
    opened_by: str = Field(description="the `id` of the event that opened it")
    due: date
    state: ObligationState = Field(description="as of `as_of` when given, else today")
    closed_on: date | None
    explanation: str = Field(description="how the due date was computed, with its source")


class WarningDay(BaseModel):
    working_days_before: int
    on: date


class Change(BaseModel):
    at: Timestamp
    kind: str = Field(description="opened, recalculated, closed, cancelled, reopened, ...")
    due_before: date | None
    due_after: date | None
    state_before: str | None
    state_after: str | None
    closed_on: date | None
    caused_by: list[str] = Field(description="events (`source#id`) or the clock (`clock:DATE`)")


class ObligationExplained(Obligation):
    title: str | None
    source: str | None
    unconfirmed: bool | None
    warnings: list[WarningDay]
    history: list[Change]


class Page(BaseModel):
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class ObligationPage(Page):
    items: list[Obligation]


class Alert(BaseModel):
    id: int
    recipient: str = Field(description="staff id")
    role: str = Field(description="the role the recipient holds for this obligation")
    level: str = Field(description="warning-N, lapse, escalation-N or repeat-K")
    obligation: str | None = Field(description=f"the obligation id; {_HIDDEN}")
    obligation_ref: str = Field(description=_REF)
    rule: str
    urn: str | None
    due: date
    state: AlertState
    reason: str | None = Field(description="why it went to someone other than the role asked")
    fell_due_at: Timestamp | None
    deliver_after: Timestamp | None
    sent_at: Timestamp | None
    digest_id: int | None
    acknowledged_by: str | None
    acknowledged_at: Timestamp | None
    snoozed_by: str | None
    snoozed_until: Timestamp | None
    snooze_reason: str | None


class AlertPage(Page):
    items: list[Alert]


class EventResult(BaseModel):
    index: int = Field(description="the event's place in the request, from 0")
    id: str | None = Field(description="the event's `id`, when it could be read")
    source: str | None = Field(description="the event's `source`, when it could be read")
    status: Literal["accepted", "rejected"]
    field: str | None = Field(default=None, description="the attribute or data field at fault")
    error: str | None = Field(default=None, description="why it was rejected")
    dead_letter_id: int | None = Field(default=None, description="where the rejection is kept")


class EventsAnswer(BaseModel):
    accepted: int
    rejected: int
    results: list[EventResult]
