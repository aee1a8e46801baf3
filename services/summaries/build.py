"""Build a summary: run the scope's section builders in order in one read session."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.summaries.model import Scope, Summary
from services.summaries.sections import CallTime, sections_for
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.platform.settings import Settings


class WeekNotBegun(ValueError):
    """A summary is for a past or the current week: this one starts after the as-of date."""


def check_week_begun(week: IsoWeek, as_of: date) -> None:
    if week.monday > as_of:
        raise WeekNotBegun(f"week {week} begins on {week.monday}, after the as-of date {as_of}")


def call_time(settings: Settings) -> CallTime:
    """When the weekly call's summary is published, from the settings."""
    return CallTime(settings.summary_day, settings.summary_time)


def default_as_of(week: IsoWeek, today: date) -> date:
    """A past week is judged as of its end, its Sunday; the current week as of today
    (docs/contract.md section 9, "The weekly call pack")."""
    return min(today, week.sunday)


async def build_summary(
    *,
    session: AsyncSession,
    scope: Scope,
    week: IsoWeek,
    as_of: date,
    call: CallTime | None = None,
    as_of_from: str = "given",
) -> Summary:
    """`call`: when summaries are published (FOLLOWUP_SUMMARY_DAY and _TIME), which bounds
    "since the last call"; `as_of_from` says where `as_of` came from, for the page."""
    check_week_begun(week, as_of)
    sections = [
        await build(session=session, scope=scope, week=week, as_of=as_of)
        for build in sections_for(scope, call)
    ]
    return Summary(scope=scope, week=week, as_of=as_of, sections=sections, as_of_from=as_of_from)
