"""Follow-up recorded on the inspection page becomes the contract's events
(`action-evidence-recorded`, `action-completed`, `follow-up-assessed`), validated as every
event is and published onto the inbound stream: the stream stays the one source of truth, and
the page's change shows once the tracker has applied it (docs/contract.md section 12, "Area
and inspection pages")."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from redis.asyncio import Redis

from events import EventRejected, parse_event
from services.platform.broker.streams import publish_entries

SOURCE = "/followup/web"
CLI_SOURCE = "/followup/cli"  # `followup inspections evidence|complete|assess`
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
MAX_TEXT = 4000  # evidence and notes: a paragraph or a link, never a document


class FormRefused(ValueError):
    """A form field that cannot become an event: nothing is published."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class Published:
    event_id: str
    type: str


def text_field(name: str, value: str | None, *, required: bool = True) -> str | None:
    found = (value or "").strip()
    if not found:
        if required:
            raise FormRefused(name, "must not be empty")
        return None
    if len(found) > MAX_TEXT:
        raise FormRefused(name, f"at most {MAX_TEXT} characters, not {len(found)}")
    return found


def date_field(name: str, value: str | None, *, today: date) -> str:
    """A date written YYYY-MM-DD, not after today (what is recorded has happened)."""
    text = (value or "").strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise FormRefused(name, f"a date written YYYY-MM-DD, not {text[:40]!r}") from None
    if day > today:
        raise FormRefused(name, f"{text} is after today ({today.isoformat()})")
    return text


def evidence_data(
    *, action_id: str, evidence: str | None, by: str | None, recorded_date: str | None, today: date
) -> dict[str, Any]:
    """`action-evidence-recorded` data from what a person typed (page or command line)."""
    return {
        "action_id": action_id,
        "evidence": text_field("evidence", evidence),
        "recorded_by": by,
        "recorded_date": date_field("recorded_date", recorded_date, today=today),
    }


def completion_data(
    *, action_id: str, by: str | None, completed_date: str | None, today: date
) -> dict[str, Any]:
    """`action-completed` data from what a person typed."""
    return {
        "action_id": action_id,
        "completed_date": date_field("completed_date", completed_date, today=today),
        "completed_by": by,
    }


def assessment_data(
    *,
    recommendation_id: str,
    rating: str | None,
    by: str | None,
    assessed_date: str | None,
    notes: str | None,
    today: date,
) -> dict[str, Any]:
    """`follow-up-assessed` data from what a person typed."""
    found = {
        "recommendation_id": recommendation_id,
        "rating": text_field("rating", rating),
        "assessed_by": by,
        "assessed_date": date_field("assessed_date", assessed_date, today=today),
    }
    if (text := text_field("notes", notes, required=False)) is not None:
        found["notes"] = text
    return found


def envelope(
    *, type_: str, data: Mapping[str, Any], now: datetime, source: str = SOURCE
) -> dict[str, Any]:
    """A CloudEvent as the contract's section 1 has it, with a fresh id of this source."""
    prefix = "cli" if source == CLI_SOURCE else "web"
    return {
        "specversion": "1.0",
        "id": f"{prefix}-{uuid.uuid4().hex}",
        "source": source,
        "type": type_,
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": dict(data),
    }


async def publish_follow_up(
    *,
    redis: Redis,
    stream: str,
    type_: str,
    data: Mapping[str, Any],
    now: datetime,
    ratings: Sequence[str] | None = None,
    source: str = SOURCE,
) -> Published:
    """Validate the event as the consumer will (FormRefused, naming the field, if it would
    be refused) and publish it, alone, onto the inbound stream."""
    event = envelope(type_=type_, data=data, now=now, source=source)
    text = json.dumps(event, ensure_ascii=False)
    try:
        parse_event(text, ratings=ratings)
    except EventRejected as rejected:
        field = (rejected.field or "event").removeprefix("data.")
        raise FormRefused(field, rejected.reason) from None
    await publish_entries(redis, stream=stream, payloads=[text.encode()])
    return Published(event["id"], type_)
