"""Build a summary: run the scope's section builders in order in one read session."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.summaries.model import Scope, Summary
from services.summaries.sections import sections_for
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class WeekNotBegun(ValueError):
    """A summary is for a past or the current week: this one starts after the as-of date."""


def check_week_begun(week: IsoWeek, as_of: date) -> None:
    if week.monday > as_of:
        raise WeekNotBegun(f"week {week} begins on {week.monday}, after the as-of date {as_of}")


async def build_summary(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Summary:
    check_week_begun(week, as_of)
    sections = [
        await build(session=session, scope=scope, week=week, as_of=as_of)
        for build in sections_for(scope)
    ]
    return Summary(scope=scope, week=week, as_of=as_of, sections=sections)
