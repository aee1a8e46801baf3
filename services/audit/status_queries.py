"""The recommendations' follow-up statuses as stored now (the weekly summary and the report
read these; the status itself is the pure function in recommendation_status.py)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.audit.recommendation_status import RecommendationStatus, recommendation_status
from services.audit.records import load_follow_up

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["RecommendationStatus", "recommendation_statuses"]


async def recommendation_statuses(
    *, session: AsyncSession, area: str | None, today: date
) -> list[RecommendationStatus]:
    """Every recommendation (of `area`, its own or its inspection's; all when None) with its
    status as of `today`, in inspection and number order."""
    found = await load_follow_up(session=session, area=area)
    return [recommendation_status(r, found.obligations, today) for r in found.recommendations]
