"""What the packs read: one Area's obligations of the pack rules due in a date range (a
month or a quarter and the one before it: bounded by Area and period), the opening facts of
its victim letters, the finalisation checks recorded in a month, and the inspection
follow-up entries of the audit trail. Keyword-only; cancelled obligations are never read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import AuditEntry, Track
from services.rules.calendar import LONDON
from services.summaries.packs.model import ASSURANCE, VICTIM_LETTER, ActionTaken, Item
from services.summaries.queries import OB, C, S, team_of

T: Any = Track.__table__  # type: ignore[attr-defined]
A: Any = AuditEntry.__table__  # type: ignore[attr-defined]
CHUNK = 1000  # bounded IN lists
FOLLOW_UP = ("inspection", "recommendation", "action")
# The date an inspection follow-up event names as when it happened (else its time).
_DATED = {
    "inspection-published": "published_date",
    "action-evidence-recorded": "recorded_date",
    "action-completed": "completed_date",
    "follow-up-assessed": "assessed_date",
}


async def pack_items(
    *, session: AsyncSession, area: str, rules: Sequence[str], first: date, last: date
) -> list[Item]:
    """The Area's obligations of `rules` due first..last, with case unit and owner's team."""
    statement = (
        select(
            OB.c.id,
            OB.c.rule,
            OB.c.key,
            OB.c.due,
            OB.c.state,
            OB.c.urn,
            OB.c.owner,
            OB.c.closed_on,
            OB.c.opened_by,
            C.c.unit,
            team_of(S).label("team"),
        )
        .select_from(OB.outerjoin(C, C.c.urn == OB.c.urn).outerjoin(S, S.c.staff_id == OB.c.owner))
        .where(
            OB.c.area == area,
            OB.c.rule.in_(list(rules)),
            OB.c.due >= first,
            OB.c.due <= last,
            OB.c.state != "cancelled",
        )
        .order_by(OB.c.due, OB.c.id)
    )
    return [
        Item(
            id=row.id,
            rule=row.rule,
            key=row.key,
            due=row.due,
            state=row.state,
            urn=row.urn,
            owner=row.owner,
            unit=row.unit,
            team=row.team,
            closed_on=row.closed_on,
            opened_by=row.opened_by,
        )
        for row in (await session.execute(statement)).all()
    ]


async def with_letters(*, session: AsyncSession, items: Sequence[Item]) -> list[Item]:
    """Victim letters with the decision and enhanced flag of the `victim-letter-due` event
    that opened each (read from its track, by the obligation's `opened_by`)."""
    letters = [i for i in items if i.rule == VICTIM_LETTER]
    if not letters:
        return list(items)
    keys = sorted({i.key for i in letters})
    facts: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        rows = await session.execute(
            select(T.c.facts).where(
                T.c.rule == VICTIM_LETTER, T.c.key.in_(keys[start : start + CHUNK])
            )
        )
        for (stored,) in rows:
            for fact in bulk.json_value(stored):
                if fact.get("type") == "victim-letter-due":
                    facts[fact["id"]] = fact.get("data") or {}
    found = []
    for item in items:
        data = facts.get(item.opened_by or "") if item.rule == VICTIM_LETTER else None
        if data is None:
            found.append(item)
            continue
        enhanced = data.get("enhanced")
        found.append(
            replace(
                item,
                decision=data.get("decision"),
                enhanced=bool(enhanced) if enhanced is not None else None,
            )
        )
    return found


async def checks_recorded(*, session: AsyncSession, area: str, month: str) -> dict[str, int]:
    """Finalisation checks (`finalisation-checked`) recorded in `month` (YYYY-MM, by
    `checked_date`) per manager, a URN checked twice by a manager in a month once; a check is
    the Area's by its own `area`, else its manager's."""
    rows = await session.execute(
        select(T.c.key, T.c.facts).where(T.c.rule == ASSURANCE, T.c.key.like(f"%/{month}"))
    )
    tracked = [(key.rsplit("/", 1)[0], bulk.json_value(facts)) for key, facts in rows]
    homes: dict[str, str] = dict(
        (
            await session.execute(
                select(S.c.staff_id, S.c.area).where(S.c.staff_id.in_([m for m, _ in tracked]))
            )
        ).all()
    )
    found: dict[str, int] = {}
    for manager, facts in tracked:
        urns = {
            f["data"].get("urn")
            for f in facts
            if f.get("type") == "finalisation-checked"
            and (f["data"].get("area") or homes.get(manager)) == area
        }
        if urns:
            found[manager] = len(urns)
    return found


async def follow_up_actions(
    *, session: AsyncSession, ids: Iterable[tuple[str, str]], first: date, last: date
) -> list[ActionTaken]:
    """Audit entries of these (entity, id) pairs whose event is dated first..last."""
    wanted: dict[str, list[str]] = {}
    for entity, entity_id in ids:
        wanted.setdefault(entity, []).append(entity_id)
    taken = []
    for entity, names in sorted(wanted.items()):
        for start in range(0, len(names), CHUNK):
            rows = await session.execute(
                select(A.c.seq, A.c.entity, A.c.entity_id, A.c.action, A.c.actor, A.c.detail)
                .where(
                    A.c.entity == entity, A.c.entity_id.in_(sorted(names)[start : start + CHUNK])
                )
                .order_by(A.c.seq)
            )
            for row in rows:
                detail = json.loads(row.detail)
                on = _dated(detail)
                if on is not None and first <= on <= last:
                    taken.append(
                        (
                            row.seq,
                            ActionTaken(
                                on=on,
                                entity=row.entity,
                                entity_id=row.entity_id,
                                action=row.action,
                                actor=row.actor,
                                event_type=str(detail.get("type", "")),
                            ),
                        )
                    )
    taken.sort(key=lambda pair: (pair[1].on, pair[0]))
    return [action for _, action in taken]


def _dated(detail: Any) -> date | None:
    if not isinstance(detail, dict):
        return None
    field = _DATED.get(str(detail.get("type")))
    data = detail.get("data") or {}
    try:
        if field and data.get(field):
            return date.fromisoformat(str(data[field])[:10])
        if detail.get("time"):
            return datetime.fromisoformat(str(detail["time"])).astimezone(LONDON).date()
    except ValueError:
        return None
    return None
