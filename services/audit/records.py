"""Reading inspection follow-up back: recommendations with their actions, evidence, completions,
standing rating and their actions' obligations, ready for the pure status function."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.bulk import pairs_in
from schemas.tables import (
    ActionCompletion,
    ActionEvidence,
    AuditEntry,
    FollowUpRating,
    Inspection,
    Obligation,
    Recommendation,
    RecommendationAction,
    StaffMember,
)
from services.access.scope import Scope
from services.audit.recommendation_status import (
    ONE_OFF_RULE,
    RECURRING_RULE,
    ActionFacts,
    Completion,
    Evidence,
    ObligationView,
    Rating,
    RecommendationFacts,
)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Everything the statuses and a report are computed from."""

    inspections: dict[str, Inspection]
    recommendations: list[RecommendationFacts]
    obligations: list[ObligationView]


async def load_follow_up(
    *,
    session: AsyncSession,
    inspection_id: str | None = None,
    area: str | None = None,
    scope: Scope | None = None,
) -> FollowUp:
    """Recommendations of one inspection, of one Area (its own or its inspection's), or all;
    `scope`: only those, and inspections, whose Area the reader's scope covers (national ones
    for everyone signed in; docs/contract.md section 12)."""
    statement = select(Inspection)
    if inspection_id is not None:
        statement = statement.where(col(Inspection.inspection_id) == inspection_id)
    inspections = {i.inspection_id: i for i in (await session.execute(statement)).scalars()}
    query = select(Recommendation)
    if inspection_id is not None:
        query = query.where(col(Recommendation.inspection_id) == inspection_id)
    rows = list((await session.execute(query)).scalars())
    if inspection_id is None:
        # Recommendations may arrive before their inspection: load those named too.
        missing = {r.inspection_id for r in rows} - set(inspections)
        if missing:
            found = select(Inspection).where(col(Inspection.inspection_id).in_(missing))
            inspections.update(
                (i.inspection_id, i) for i in (await session.execute(found)).scalars()
            )
    if area is not None:
        rows = [r for r in rows if _area(r, inspections) == area]
    if scope is not None:
        rows = [r for r in rows if scope.covers_area(_area(r, inspections))]
        inspections = {k: i for k, i in inspections.items() if scope.covers_area(i.area)}
    ids = [r.recommendation_id for r in rows]
    actions = await _rows(session, RecommendationAction, "recommendation_id", ids)
    action_ids = [a.action_id for a in actions]
    evidence = _group(await _rows(session, ActionEvidence, "action_id", action_ids), "action_id")
    done = _group(await _rows(session, ActionCompletion, "action_id", action_ids), "action_id")
    ratings = _group(
        await _rows(session, FollowUpRating, "recommendation_id", ids), "recommendation_id"
    )
    by_recommendation = _group(actions, "recommendation_id")
    recommendations = [
        RecommendationFacts(
            recommendation_id=r.recommendation_id,
            inspection_id=r.inspection_id,
            number=r.number,
            kind=r.kind,
            text=r.text,
            area=_area(r, inspections),
            due_date=r.due_date,
            actions=tuple(
                _action(a, evidence[a.action_id], done[a.action_id])
                for a in sorted(by_recommendation[r.recommendation_id], key=_action_order)
            ),
            rating=_standing_rating(ratings[r.recommendation_id]),
            caused_by=f"{r.event_source}#{r.event_id}",
        )
        for r in sorted(rows, key=_recommendation_order)
    ]
    obligations = await load_action_obligations(session=session, action_ids=action_ids)
    return FollowUp(inspections, recommendations, obligations)


async def load_action_obligations(
    *, session: AsyncSession, action_ids: Collection[str]
) -> list[ObligationView]:
    if not action_ids:
        return []
    pairs = [(rule, a) for a in action_ids for rule in (ONE_OFF_RULE, RECURRING_RULE)]
    statement = select(Obligation).where(pairs_in(col(Obligation.rule), col(Obligation.key), pairs))
    return [
        ObligationView(o.id, o.rule, o.key, o.due, o.state, o.closed_on)
        for o in (await session.execute(statement)).scalars()
    ]


async def inspection_ids(*, session: AsyncSession) -> list[str]:
    """Every inspection recorded (or named by a recommendation), in id order."""
    published = select(col(Inspection.inspection_id))
    named = select(col(Recommendation.inspection_id))
    return sorted(set((await session.scalars(published.union(named))).all()))


async def staff_names(*, session: AsyncSession, ids: Collection[str]) -> dict[str, str]:
    if not ids:
        return {}
    statement = select(StaffMember).where(col(StaffMember.staff_id).in_(list(ids)))
    return {s.staff_id: s.name for s in (await session.execute(statement)).scalars()}


# What a recommendation's follow-up is made of, as the audit trail names them.
FOLLOW_UP_ENTITIES = ("recommendation", "action", "obligation")


async def audit_entries_about(
    *, session: AsyncSession, entity_ids: Collection[str]
) -> list[AuditEntry]:
    """Audit entries about these recommendations, actions and obligations (by id), in order.

    By entity and id, so each is a search of the (entity, entity_id) index: by id alone the
    trail, which grows with every obligation change, was read whole."""
    if not entity_ids:
        return []
    return list((await session.execute(entries_about(entity_ids))).scalars())


def entries_about(entity_ids: Collection[str]) -> Select[AuditEntry]:
    return (
        select(AuditEntry)
        .where(
            col(AuditEntry.entity).in_(FOLLOW_UP_ENTITIES),
            col(AuditEntry.entity_id).in_(list(entity_ids)),
        )
        .order_by(col(AuditEntry.seq))
    )


def _area(row: Recommendation, inspections: dict[str, Inspection]) -> str | None:
    inspection = inspections.get(row.inspection_id)
    return row.area or (inspection.area if inspection else None)


async def _rows(session: AsyncSession, table: Any, field: str, values: Sequence[str]) -> list[Any]:
    if not values:
        return []
    statement = select(table).where(getattr(table, field).in_(list(values)))
    return list((await session.execute(statement)).scalars())


def _group(rows: list[Any], field: str) -> defaultdict[str, list[Any]]:
    grouped: defaultdict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, field)].append(row)
    return grouped


def _action(
    row: RecommendationAction, evidence: list[ActionEvidence], done: list[ActionCompletion]
) -> ActionFacts:
    return ActionFacts(
        action_id=row.action_id,
        response=row.response,
        text=row.text,
        owner=row.owner,
        due_date=row.due_date,
        recurrence=row.recurrence,
        starts=row.starts,
        ends=row.ends,
        evidence=tuple(
            Evidence(e.evidence, e.recorded_by, e.recorded_date, f"{e.source}#{e.event_id}")
            for e in sorted(evidence, key=lambda e: (e.recorded_date, e.source, e.event_id))
        ),
        completions=tuple(
            Completion(c.completed_date, c.completed_by, f"{c.source}#{c.event_id}")
            for c in sorted(done, key=lambda c: (c.completed_date, c.source, c.event_id))
        ),
        caused_by=f"{row.event_source}#{row.event_id}",
    )


def _standing_rating(rows: list[FollowUpRating]) -> Rating | None:
    """The latest assessment by (time, source, id) stands."""
    if not rows:
        return None
    r = max(rows, key=lambda r: (r.event_time, r.source, r.event_id))
    return Rating(r.rating, r.assessed_by, r.assessed_date, r.notes, f"{r.source}#{r.event_id}")


def _recommendation_order(row: Recommendation) -> tuple[str, int, str]:
    number = row.number
    return (row.inspection_id, int(number) if number.isdigit() else 10**9, number)


def _action_order(row: RecommendationAction) -> tuple[str, str]:
    first = row.due_date or row.starts
    return (first.isoformat() if first else "", row.action_id)


async def known_follow_up_ids(
    *, session: AsyncSession, kind: str, ids: Collection[str] | None = None
) -> set[str]:
    """Action, recommendation or staff ids recorded (only among `ids` when given): what a
    command recording follow-up checks its argument against."""
    column = {
        "action": col(RecommendationAction.action_id),
        "recommendation": col(Recommendation.recommendation_id),
        "staff": col(StaffMember.staff_id),
    }[kind]
    statement = select(column)
    if ids is not None:
        statement = statement.where(column.in_(list(ids)))
    return set((await session.scalars(statement)).all())
