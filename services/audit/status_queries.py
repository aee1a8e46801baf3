"""Inspection follow-up, the part other flows call: the tracker's projection hook and the
recommendations' statuses (the weekly summary reads these)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.projection import project
from services.audit.recommendation_status import RecommendationStatus, recommendation_status
from services.audit.records import load_follow_up

__all__ = ["RecommendationStatus", "project", "recommendation_statuses"]


async def recommendation_statuses(
    *, session: AsyncSession, area: str | None, today: date
) -> list[RecommendationStatus]:
    """Every recommendation (of `area`, its own or its inspection's; all when None) with its
    status as of `today`, in inspection and number order."""
    found = await load_follow_up(session=session, area=area)
    return [recommendation_status(r, found.obligations, today) for r in found.recommendations]
