"""Inspection follow-up facts into their read models, each change appended to the audit trail.

Called by the tracker inside the batch transaction with the batch's first sightings, so a
duplicate never reaches it. The rows end the same whatever the arrival order: an inspection,
recommendation or action is the latest of its events by (time, source, id), and evidence,
completions and ratings are kept one per event. The audit trail, by contrast, is the log of
what was recorded when, so an older event arriving late is appended as "superseded".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import (
    ActionCompletion,
    ActionEvidence,
    FollowUpRating,
    Inspection,
    Recommendation,
    RecommendationAction,
)
from services.platform.audit_trail import AuditRecord
from services.rules.model import Fact


@dataclass(frozen=True, slots=True)
class _Keyed:
    """A thing whose row is its latest event: the table, its key, and how a fact reads."""

    table: Any
    key: str
    entity: str
    first: str  # the audit action for the first event about it
    actor: str | None  # data field naming who did it; None: the event's source


_KEYED: Mapping[str, _Keyed] = {
    "inspection-published": _Keyed(Inspection, "inspection_id", "inspection", "published", None),
    "recommendation-issued": _Keyed(
        Recommendation, "recommendation_id", "recommendation", "issued", None
    ),
    "response-committed": _Keyed(RecommendationAction, "action_id", "action", "committed", "owner"),
}
# Records kept one per event: (table, entity, the field naming it, audit action, actor field).
_RECORDS: Mapping[str, tuple[Any, str, str, str, str]] = {
    "action-evidence-recorded": (
        ActionEvidence,
        "action",
        "action_id",
        "evidence-recorded",
        "recorded_by",
    ),
    "action-completed": (ActionCompletion, "action", "action_id", "completed", "completed_by"),
    "follow-up-assessed": (
        FollowUpRating,
        "recommendation",
        "recommendation_id",
        "assessed",
        "assessed_by",
    ),
}
TYPES = frozenset(_KEYED) | frozenset(_RECORDS)
_DATES = frozenset(
    {"published_date", "due_date", "starts", "ends", "recorded_date", "completed_date"}
    | {"assessed_date"}
)


async def project(
    *,
    session: AsyncSession,
    facts: Sequence[Fact],
    now: datetime,
) -> list[AuditRecord]:
    """Record these newly accepted facts in the caller's transaction; returns their audit
    records, which the caller appends with the batch's obligation changes in one append."""
    mine = sorted((f for f in facts if f.type in TYPES), key=lambda f: f.order)
    if not mine:
        return []
    audit: list[AuditRecord] = []
    for type_name, keyed in _KEYED.items():
        audit += await _project_keyed(session, keyed, [f for f in mine if f.type == type_name], now)
    for type_name, spec in _RECORDS.items():
        audit += await _project_records(session, spec, [f for f in mine if f.type == type_name])
    order = {f"{f.source}#{f.id}": n for n, f in enumerate(mine)}
    audit.sort(key=lambda r: order[r.caused_by])
    return audit


async def _project_keyed(
    session: AsyncSession, keyed: _Keyed, facts: list[Fact], now: datetime
) -> list[AuditRecord]:
    if not facts:
        return []
    columns = keyed.table.__table__.c
    keys = {f.data[keyed.key] for f in facts}
    standing = {
        row[0]: (row[1], row[2], row[3])
        for row in await session.execute(
            select(
                columns[keyed.key], columns.event_time, columns.event_source, columns.event_id
            ).where(columns[keyed.key].in_(keys))
        )
    }
    records, latest = [], {}
    for fact in facts:  # in (time, source, id) order
        key = fact.data[keyed.key]
        current = standing.get(key)
        if current is None:
            action = keyed.first
        elif current < fact.order:
            action = "revised"
        else:
            action = "superseded"  # an older event: kept in the log, the later one stands
        if action != "superseded":
            standing[key] = fact.order
            latest[key] = fact
        records.append(_record(fact, keyed.entity, key, action, keyed.actor))
    rows = [_row(keyed.table, fact, now) for fact in latest.values()]
    await bulk.write(session, keyed.table, rows, key=(keyed.key,), on_conflict="later")
    return records


async def _project_records(
    session: AsyncSession, spec: tuple[Any, str, str, str, str], facts: list[Fact]
) -> list[AuditRecord]:
    if not facts:
        return []
    table, entity, field, action, actor = spec
    rows = [
        {"source": f.source, "event_id": f.id, "event_time": f.time, **_columns(table, f)}
        for f in facts
    ]
    await bulk.write(session, table, rows, key=("source", "event_id"))
    return [_record(f, entity, f.data[field], action, actor) for f in facts]


def _record(fact: Fact, entity: str, entity_id: str, action: str, actor: str | None) -> AuditRecord:
    who = fact.data.get(actor) if actor else None
    return AuditRecord(
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        actor=str(who) if who else fact.source,
        caused_by=f"{fact.source}#{fact.id}",
        detail={"type": fact.type, "time": fact.time.isoformat(), "data": dict(fact.data)},
    )


def _row(table: Any, fact: Fact, now: datetime) -> dict[str, Any]:
    # Every column, so a later event that leaves out an optional field clears it.
    blank = dict.fromkeys(table.__table__.c.keys())
    return {
        **blank,
        **_columns(table, fact),
        "event_time": fact.time,
        "event_source": fact.source,
        "event_id": fact.id,
        "updated_at": now,
    }


def _columns(table: Any, fact: Fact) -> dict[str, Any]:
    return columns_of(table, fact.data)


def columns_of(table: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The event's data fields that are columns of `table`, dates as dates (also how the
    integrity check reads an audit entry's data back into the row it should match)."""
    names = set(table.__table__.c.keys())
    found: dict[str, Any] = {}
    for name, value in data.items():
        if name not in names or name in ("source", "event_id", "event_time"):
            continue
        if name in _DATES and isinstance(value, str):
            value = date.fromisoformat(value)
        elif name == "number":
            value = str(value)
        found[name] = value
    return found
