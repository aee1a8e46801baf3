"""Every stored follow-up row checked against the audit trail's record of it.

Each accepted inspection follow-up event appends an audit entry whose `detail` holds the
event's data (docs/contract.md section 8, "The audit trail"), and the chain makes those entries
tamper-evident. So the rows the report prints (inspections, recommendations, actions, evidence,
completions, ratings) can be recomputed from the trail: a row altered, deleted, or added
without an event is named here, with what it is about (docs/contract.md section 8, "Added:
every printed fact checked against the trail")."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.tables import (
    ActionCompletion,
    ActionEvidence,
    AuditEntry,
    FollowUpRating,
    Inspection,
    Obligation,
    Recommendation,
    RecommendationAction,
)
from services.audit.projection import columns_of
from services.audit.recommendation_status import ONE_OFF_RULE, RECURRING_RULE


@dataclass(frozen=True, slots=True)
class _Kind:
    type: str  # the event type recorded in the entry's detail
    table: Any
    entity: str  # the audit entity
    key: str  # the data field naming the entity
    keyed: bool  # one row per entity (its latest event), else one row per event


_KINDS = (
    _Kind("inspection-published", Inspection, "inspection", "inspection_id", True),
    _Kind("recommendation-issued", Recommendation, "recommendation", "recommendation_id", True),
    _Kind("response-committed", RecommendationAction, "action", "action_id", True),
    _Kind("action-evidence-recorded", ActionEvidence, "action", "action_id", False),
    _Kind("action-completed", ActionCompletion, "action", "action_id", False),
    _Kind("follow-up-assessed", FollowUpRating, "recommendation", "recommendation_id", False),
)
# Columns the projection writes that are not the event's data (compared another way or not).
_NOT_DATA = frozenset({"event_source", "event_id", "updated_at", "source"})


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A stored row that does not match the audit trail's record of it."""

    table: str
    entity: str  # inspection, recommendation, action
    entity_id: str
    row: str  # the row's event (`source#id`), or its key when there is no event
    problem: str
    label: str  # what it is about, in words
    audit_seq: int | None = None  # the entry it was checked against

    def sentence(self) -> str:
        entry = f" (audit entry {self.audit_seq})" if self.audit_seq is not None else ""
        return f"{self.table} row {self.row} about {self.label}: {self.problem}{entry}"


async def check_follow_up_rows(
    *,
    session: AsyncSession,
    inspection_id: str | None = None,
    recommendation_ids: Collection[str] = (),
    action_ids: Collection[str] = (),
) -> list[RowProblem]:
    """Compare every follow-up row with its audit entry (all, or one inspection's: its
    recommendations and actions as stored or as the trail records them, so a deleted row is
    still looked for); a row missing, extra or different is one problem each."""
    statement = (
        select(AuditEntry)
        .where(col(AuditEntry.entity).in_(("inspection", "recommendation", "action")))
        .order_by(col(AuditEntry.seq))
    )
    entries = list((await session.execute(statement)).scalars())
    ids: dict[str, set[str]] | None = None
    if inspection_id is not None:
        ids = _ids_of(entries, inspection_id, set(recommendation_ids), set(action_ids))
        entries = [e for e in entries if e.entity_id in ids[e.entity]]
    labels = _labels(entries)
    problems: list[RowProblem] = []
    for kind in _KINDS:
        mine = [e for e in entries if _type(e) == kind.type]
        rows = await _rows(session, kind, None if ids is None else ids[kind.entity])
        problems += _compare(kind, mine, rows, labels)
    return problems


def _ids_of(
    entries: list[AuditEntry], inspection_id: str, recommendations: set[str], actions: set[str]
) -> dict[str, set[str]]:
    for entry in entries:
        data = _detail(entry).get("data") or {}
        if _type(entry) == "recommendation-issued" and data.get("inspection_id") == inspection_id:
            recommendations.add(entry.entity_id)
    for entry in entries:
        data = _detail(entry).get("data") or {}
        if _type(entry) == "response-committed" and data.get("recommendation_id") in (
            recommendations
        ):
            actions.add(entry.entity_id)
    return {"inspection": {inspection_id}, "recommendation": recommendations, "action": actions}


async def _rows(session: AsyncSession, kind: _Kind, wanted: Collection[str] | None) -> list[Any]:
    statement = select(kind.table)
    if wanted is not None:
        if not wanted:
            return []
        statement = statement.where(getattr(kind.table, kind.key).in_(list(wanted)))
    return list((await session.execute(statement)).scalars())


def _detail(entry: AuditEntry) -> dict[str, Any]:
    try:
        found = json.loads(entry.detail)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _type(entry: AuditEntry) -> str | None:
    return _detail(entry).get("type")


def _time(detail: Mapping[str, Any]) -> datetime | None:
    """The event's time as the entry records it (None if it is not there or not a time)."""
    try:
        found = datetime.fromisoformat(str(detail["time"]))
    except (KeyError, ValueError):
        return None
    return found if found.tzinfo else None


def _order(entry: AuditEntry) -> tuple[datetime, str]:
    return (_time(_detail(entry)) or datetime.min.replace(tzinfo=UTC), entry.caused_by)


def _compare(
    kind: _Kind, entries: list[AuditEntry], rows: list[Any], labels: Mapping[str, str]
) -> list[RowProblem]:
    table = kind.table.__tablename__
    problems: list[RowProblem] = []
    if kind.keyed:
        expected: dict[str, AuditEntry] = {}
        for entry in entries:  # the latest event by (time, source, id) stands
            key = entry.entity_id
            if key not in expected or _order(entry) > _order(expected[key]):
                expected[key] = entry
        stored = {getattr(r, kind.key): r for r in rows}
    else:
        expected = {e.caused_by: e for e in entries}
        stored = {f"{r.source}#{r.event_id}": r for r in rows}
    for key, entry in expected.items():
        label = labels.get(entry.entity_id, f"{kind.entity} {entry.entity_id}")
        row = stored.get(key)
        name = entry.caused_by
        if row is None:
            problems.append(
                RowProblem(
                    table,
                    kind.entity,
                    entry.entity_id,
                    name,
                    "the row is missing (deleted), though the audit trail records it",
                    label,
                    entry.seq,
                )
            )
            continue
        if kind.keyed:
            standing = f"{row.event_source}#{row.event_id}"
            if standing != entry.caused_by:
                problems.append(
                    RowProblem(
                        table,
                        kind.entity,
                        entry.entity_id,
                        standing,
                        f"the row holds event {standing}, the audit trail says "
                        f"{entry.caused_by} stands",
                        label,
                        entry.seq,
                    )
                )
                continue
        difference = _difference(kind, row, entry)
        if difference:
            problems.append(
                RowProblem(table, kind.entity, entry.entity_id, name, difference, label, entry.seq)
            )
    for key, row in stored.items():
        if key not in expected:
            entity_id = str(getattr(row, kind.key))
            problems.append(
                RowProblem(
                    table,
                    kind.entity,
                    entity_id,
                    key,
                    "the row has no audit entry (added outside the event flow)",
                    labels.get(entity_id, f"{kind.entity} {entity_id}"),
                )
            )
    return problems


def _difference(kind: _Kind, row: Any, entry: AuditEntry) -> str | None:
    detail = _detail(entry)
    names = [c.name for c in kind.table.__table__.columns if c.name not in _NOT_DATA]
    expected: dict[str, Any] = dict.fromkeys(names)
    expected |= columns_of(kind.table, detail.get("data") or {})
    changed = []
    for name in names:
        stored, recorded = getattr(row, name), expected[name]
        if name == "event_time":
            recorded = _time(detail)
            if stored is None or stored != recorded:
                changed.append(f"{name} is {_show(stored)}, the trail says {_show(recorded)}")
            continue
        if stored != recorded:
            changed.append(f"{name} is {_show(stored)}, the trail says {_show(recorded)}")
    return "; ".join(changed) if changed else None


def _show(value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _labels(entries: list[AuditEntry]) -> dict[str, str]:
    """Entity id to words, from the latest of the events the trail holds about it."""
    found: dict[str, str] = {}
    for entry in entries:
        label = label_from_detail(entry.entity, entry.entity_id, _detail(entry))
        if label:
            found[entry.entity_id] = label
    return found


def label_from_detail(entity: str, entity_id: str, detail: Mapping[str, Any]) -> str | None:
    data = detail.get("data") or {}
    kind = detail.get("type")
    if kind == "inspection-published":
        return f"inspection {entity_id} ({_short(data.get('title'))})"
    if kind == "recommendation-issued":
        what = str(data.get("kind", "recommendation")).replace("-", " ")
        return (
            f"recommendation {entity_id} ({what} {data.get('number')} of "
            f"{data.get('inspection_id')}: {_short(data.get('text'))})"
        )
    if kind == "response-committed":
        return (
            f"action {entity_id} (for recommendation {data.get('recommendation_id')}: "
            f"{_short(data.get('text'))})"
        )
    return None


def _short(text: Any) -> str:
    words = str(text or "").strip()
    return f'"{words}"' if len(words) <= 60 else f'"{words[:57]}..."'


async def entry_label(*, session: AsyncSession, entity: str, entity_id: str) -> str:
    """What an audit entry was about, in words: the recommendation, action or obligation it
    names, read from the trail's own record of them (and the obligations table)."""
    if entity == "obligation":
        obligation = await session.get(Obligation, entity_id)
        if obligation is None:
            return f"obligation {entity_id}"
        words = f"obligation {entity_id} ({obligation.rule}, due {obligation.due.isoformat()})"
        if obligation.rule in (ONE_OFF_RULE, RECURRING_RULE):
            action = await entry_label(session=session, entity="action", entity_id=obligation.key)
            words += f" for {action}"
        return words
    if entity in ("inspection", "recommendation", "action"):
        statement = (
            select(AuditEntry)
            .where(col(AuditEntry.entity) == entity, col(AuditEntry.entity_id) == entity_id)
            .order_by(col(AuditEntry.seq).desc())
        )
        for entry in (await session.execute(statement)).scalars():
            label = label_from_detail(entity, entity_id, _detail(entry))
            if label:
                return label
    return f"{entity} {entity_id}"
