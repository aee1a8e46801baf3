"""Outbound events on the tracking stream (`{namespace}:tracking`): what the lapse clock, the
alerts and the weekly summaries tell other systems. CloudEvents 1.0 like inbound events,
versioned by `dataversion`, but a registry of their own: `followup publish` does not accept
them as input.

They name obligations by `obligation_ref`, never by id: an obligation id holds the key of what
it tracks, which for victim letters and custody time limits is a victim's or defendant's id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from events.envelope import Event, EventData, Id, WireDate, WireTime

CLOCK_SOURCE = "/followup/lapse-clock"
ALERTS_SOURCE = "/followup/alerts"
SUMMARIES_SOURCE = "/followup/summaries"
AUDIT_SOURCE = "/followup/audit"
OBLIGATION_REF = re.compile(r"ob-[0-9a-f]{16}")


def obligation_ref(obligation_id: str) -> str:
    """What events, alerts, emails and logs call an obligation (docs/contract.md, section 7):
    its id holds the key of what it tracks (a victim's or defendant's id), which must not
    leave the database."""
    return "ob-" + hashlib.sha256(obligation_id.encode()).hexdigest()[:16]


class _AboutObligation(EventData):
    obligation_ref: Id
    rule: Id
    urn: Id | None = None
    area: Id | None = None
    due: WireDate


class ObligationWarning(_AboutObligation):
    """An obligation's due date is near: `working_days_before` working days to go."""

    type_name = "obligation-warning"

    level: str
    working_days_before: int
    recipients: list[Id]


class ObligationLapsed(_AboutObligation):
    """The London midnight ending the due date passed with the obligation still open."""

    type_name = "obligation-lapsed"

    recipients: list[Id]


class ObligationEscalated(_AboutObligation):
    """A lapsed obligation still open `working_days_after` working days on: more senior
    people told (`kind` escalation), or the people told at the lapse reminded (`repeat`)."""

    type_name = "obligation-escalated"

    level: str
    kind: Literal["escalation", "repeat"]
    working_days_after: int
    recipients: list[Id]


class ObligationMet(_AboutObligation):
    """An obligation the clock had warned or alerted about was closed."""

    type_name = "obligation-met"

    state: Literal["met", "met-late"]
    closed_on: WireDate | None = None


class AlertSent(EventData):
    """An alert reached its recipient, in a digest, over the channels named."""

    type_name = "alert-sent"

    alert_id: int
    obligation_ref: Id
    rule: Id
    urn: Id | None = None
    level: str
    recipient: Id
    digest_id: int
    channels: list[str]
    sent_at: WireTime


class SummaryPublished(EventData):
    """A weekly summary for one scope and ISO week was sent to everyone it is for."""

    type_name = "summary-published"

    scope_kind: Literal["area", "unit", "team"]
    scope_id: Id
    area: Id
    week: str  # ISO week, 2017-W30
    as_of: WireDate
    recipients: list[Id]  # staff ids
    due: int
    met: int
    met_late: int
    lapsed: int
    open: int
    on_time_pct: float | None


class AuditCheckpointed(EventData):
    """The audit chain's head, signed (docs/contract.md section 8, "Added: signed
    checkpoints"): kept outside the database by whoever reads the tracking stream."""

    type_name = "audit-checkpointed"

    checkpoint_id: int
    entries: int
    last_seq: int
    head: str
    made_at: str  # ISO 8601 instant, UTC, as signed
    public_key: str  # hex, raw Ed25519
    signature: str  # hex, over the canonical JSON of entries, head, last_seq, made_at


OUTBOUND_MODELS: tuple[type[EventData], ...] = (
    ObligationWarning,
    ObligationLapsed,
    ObligationEscalated,
    ObligationMet,
    AlertSent,
    SummaryPublished,
    AuditCheckpointed,
)
OUTBOUND_TYPES: Mapping[tuple[str, int], type[EventData]] = MappingProxyType(
    {(model.type_name, model.version): model for model in OUTBOUND_MODELS}
)


def outbound_event(*, event_id: str, source: str, time: datetime, data: EventData) -> Event:
    """The whole CloudEvent; `event_id` is stable, so a consumer can drop a copy it has seen
    (the stream is at least once: a crash between XADD and recording it sends it again)."""
    return Event(
        specversion="1.0",
        id=event_id,
        source=source,
        type=data.type_name,
        time=time,
        subject=getattr(data, "urn", None),
        datacontenttype="application/json",
        dataversion=data.version,
        data=data,
    )


def parse_outbound(wire: Mapping[str, Any]) -> Event:
    """Read an outbound event back (consumers, tests): typed by its own registry."""
    model = OUTBOUND_TYPES[(wire["type"], int(wire.get("dataversion", 1)))]
    return Event.model_validate({**wire, "data": model.model_validate(wire["data"])})
