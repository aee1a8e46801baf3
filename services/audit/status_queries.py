"""The recommendations' follow-up statuses as stored now (the weekly summary, the report and
the inspections page read these; the status itself is the pure function in
recommendation_status.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from services.audit.recommendation_status import RecommendationStatus, recommendation_status
from services.audit.records import load_follow_up

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.access.scope import Scope

__all__ = ["InspectionStatuses", "RecommendationStatus", "recommendation_statuses"]


async def recommendation_statuses(
    *, session: AsyncSession, area: str | None, today: date, scope: Scope | None = None
) -> list[RecommendationStatus]:
    """Every recommendation (of `area`, its own or its inspection's; all when None) with its
    status as of `today`, in inspection and number order; `scope`: only those it covers."""
    found = await load_follow_up(session=session, area=area, scope=scope)
    return [recommendation_status(r, found.obligations, today) for r in found.recommendations]


@dataclass(frozen=True, slots=True)
class InspectionStatuses:
    inspection_id: str
    title: str | None  # None: recommendations arrived before their inspection
    kind: str | None
    area: str | None
    published_date: date | None
    recommendations: list[RecommendationStatus]


async def statuses_by_inspection(
    *, session: AsyncSession, today: date, scope: Scope
) -> list[InspectionStatuses]:
    """Every inspection the scope covers with its recommendations' statuses, newest first."""
    found = await load_follow_up(session=session, scope=scope)
    grouped: dict[str, list[RecommendationStatus]] = {i: [] for i in found.inspections}
    for facts in found.recommendations:
        status = recommendation_status(facts, found.obligations, today)
        grouped.setdefault(facts.inspection_id, []).append(status)
    listed = []
    for inspection_id, statuses in grouped.items():
        row = found.inspections.get(inspection_id)
        listed.append(
            InspectionStatuses(
                inspection_id=inspection_id,
                title=row.title if row else None,
                kind=row.kind if row else None,
                area=row.area if row else statuses[0].area,
                published_date=row.published_date if row else None,
                recommendations=statuses,
            )
        )
    listed.sort(key=lambda i: (i.published_date or date.min, i.inspection_id), reverse=True)
    return listed
