"""GET /summaries: the weekly summary of an Area, unit or team within the caller's scope, as
JSON, Markdown or a page (docs/contract.md section 12, "Area and inspection pages"), built
by the same builder as the emailed one."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from markupsafe import Markup

from services.entrypoints.http.auth import Caller
from services.entrypoints.http.state import state_of
from services.entrypoints.http.summary_access import INSPECTOR_SECTIONS, summary_choice
from services.entrypoints.http.templating import render
from services.platform.runtime import Runtime
from services.summaries import queries
from services.summaries.build import WeekNotBegun, build_summary, call_time, default_as_of
from services.summaries.model import ReviewTimeliness, Summary
from services.summaries.model import Scope as SummaryScope
from services.summaries.recent import RecentSummaries
from services.summaries.render_html import summary_sections_html
from services.summaries.render_json import summary_json
from services.summaries.render_md import summary_markdown
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

FORMATS = ("html", "json", "md")
# What `?format=` answers in, so the OpenAPI document names every content type sent.
SUMMARY_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}, "application/json": {}, "text/markdown": {}}}
}


async def check_on_record(*, session: AsyncSession, scope: SummaryScope) -> None:
    """404, as for one outside the caller's scope, for an Area, unit or team not on record."""
    if scope.area not in await queries.known_areas(session=session):
        raise HTTPException(status_code=404, detail=f"no Area {scope.area!r}")
    if scope.unit is not None and scope.unit not in await queries.units_of(
        session=session, area=scope.area
    ):
        raise HTTPException(status_code=404, detail=f"no unit {scope.unit!r} in {scope.area}")
    if scope.manager is not None and scope.manager not in await queries.legal_managers_of(
        session=session, area=scope.area
    ):
        raise HTTPException(status_code=404, detail=f"no team {scope.manager!r} in {scope.area}")


def week_of(text: str | None, today: date) -> IsoWeek:
    if not text:
        return IsoWeek.of(today)
    try:
        week = IsoWeek.parse(text)
    except ValueError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    if week.monday > today:
        raise HTTPException(status_code=400, detail=str(WeekNotBegun(f"{week} has not begun")))
    return week


def area_level(summary: Summary) -> Summary:
    """Timeliness, review timeliness by court type and unit, the units' table and
    recommendations: no person, no team, no case."""
    kept = [
        dataclasses.replace(s, by_team=[], by_person=[]) if isinstance(s, ReviewTimeliness) else s
        for s in summary.sections
        if s.kind in INSPECTOR_SECTIONS and getattr(s, "by", "unit") == "unit"
    ]
    return dataclasses.replace(summary, sections=kept)


def recent_summaries(request: Request) -> RecentSummaries:
    found = state_of(request).recent
    assert found is not None  # build_api makes it
    return found


async def sections_markup(summary: Summary) -> Markup:
    """The sections as the summary's own (autoescaping) templates render them; the chart,
    drawn off the event loop, is a `data:` image (a policy of `img-src 'self' data:`)."""
    return Markup(await asyncio.to_thread(summary_sections_html, summary))


def add_summary_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/summaries", response_model=None, responses=SUMMARY_CONTENT)
    async def summaries(
        request: Request,
        caller: Caller,
        area: str | None = Query(default=None),
        unit: str | None = Query(default=None),
        team: str | None = Query(default=None),
        week: str | None = Query(default=None, description="YYYY-Www; default this week"),
        format: str = Query(default="html", description="html, json or md"),
    ) -> Response:
        if format not in FORMATS:
            raise HTTPException(status_code=400, detail=f"format is one of {', '.join(FORMATS)}")
        choice = summary_choice(caller, area=area or None, unit=unit or None, team=team or None)
        today = state_of(request).today()
        chosen = week_of(week, today)
        async with runtime.sessions() as session:
            if choice.scope is None:
                areas = await queries.known_areas(session=session)
                if format == "json":
                    return JSONResponse({"areas": areas})
                return render(
                    request,
                    "summary_areas.html",
                    principal=caller,
                    areas=areas,
                    week=str(chosen),
                )
            await check_on_record(session=session, scope=choice.scope)
            scope = choice.scope

            # A past week is judged as of its Sunday (docs/contract.md section 9).
            as_of = default_as_of(chosen, today)
            settings = runtime.settings

            async def made() -> Summary:
                return await build_summary(
                    session=session,
                    scope=scope,
                    week=chosen,
                    as_of=as_of,
                    call=call_time(settings),
                    as_of_from="today" if as_of == today else "week-end",
                )

            key = ("summary", scope, chosen, as_of)
            version = await queries.data_version(session=session)
            summary = await recent_summaries(request).get(key, version, made)
            if choice.area_level_only:
                summary = area_level(summary)
            if format in ("json", "md"):
                return await _respond(request, caller, summary, format, None)

            async def drawn() -> Markup:
                return await sections_markup(summary)

            level = (*key, choice.area_level_only, "sections")
            sections = await recent_summaries(request).get(level, version, drawn)
        return await _respond(request, caller, summary, format, sections)

    async def _respond(
        request: Request, caller: Any, summary: Summary, fmt: str, sections: Markup | None
    ) -> Response:
        if fmt == "json":
            return JSONResponse(summary_json(summary))
        if fmt == "md":
            return Response(summary_markdown(summary), media_type="text/markdown; charset=utf-8")
        return render(
            request,
            "summary_page.html",
            principal=caller,
            summary=summary,
            sections=sections,
        )
