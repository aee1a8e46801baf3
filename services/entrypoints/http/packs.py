"""GET /area/packs: an Area's monthly performance review pack or quarterly Area Performance
Review pack (docs/contract.md section 9, "Added: monthly and quarterly packs"), for those
whose scope includes the Area (DCCP, CCP, ABM: their Area; HQ and read tokens any), as a
page, Markdown, JSON or CSV; built by the same builder as the emailed one."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from fastapi import FastAPI, HTTPException, Query, Request, Response
from markupsafe import Markup

from services.entrypoints.http.auth import Caller
from services.entrypoints.http.state import state_of
from services.entrypoints.http.summaries import check_on_record
from services.entrypoints.http.summary_access import area_choice
from services.entrypoints.http.templating import render
from services.platform.runtime import Runtime
from services.summaries import queries
from services.summaries.model import Scope as SummaryScope
from services.summaries.packs.build import build_pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import FORMATS, MEDIA_TYPES, pack_html, render_pack

PACK_CONTENT: dict[int | str, dict[str, object]] = {
    200: {"content": {MEDIA_TYPES[f].split(";")[0]: {} for f in FORMATS}}
}


def period_of(month: str | None, quarter: str | None, today: date) -> PackPeriod:
    """The month or quarter asked for; neither: the last whole month."""
    if month and quarter:
        raise HTTPException(status_code=400, detail="ask for a month or a quarter, not both")
    text, every = (month, "monthly") if month else (quarter, "quarterly")
    if not text:
        return PackPeriod.of(today, "monthly").previous()
    try:
        period = PackPeriod.parse(text)
    except ValueError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    if period.every != every:
        raise HTTPException(status_code=400, detail=f"{text!r} is a {period.noun}")
    return period


def add_pack_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/area/packs", response_model=None, responses=PACK_CONTENT)
    async def area_packs(
        request: Request,
        caller: Caller,
        area: str | None = Query(default=None),
        month: str | None = Query(default=None, description="YYYY-MM; default the last month"),
        quarter: str | None = Query(default=None, description="YYYY-Qn"),
        format: str = Query(default="html", description="html, json, md or csv"),
    ) -> Response:
        if format not in FORMATS:
            raise HTTPException(status_code=400, detail=f"format is one of {', '.join(FORMATS)}")
        chosen = area_choice(caller, area=area or None)
        today = state_of(request).today()
        period = period_of(month or None, quarter or None, today)
        if period.start > today:
            raise HTTPException(status_code=400, detail=f"{period.noun} {period} has not begun")
        async with runtime.sessions() as session:
            if chosen is None:
                areas = await queries.known_areas(session=session)
                if format == "json":
                    return Response(json.dumps({"areas": areas}), media_type="application/json")
                return render(
                    request, "area_list.html", principal=caller, areas=areas, week=str(period)
                )
            await check_on_record(session=session, scope=SummaryScope(chosen))
            pack = await build_pack(
                session=session,
                area=chosen,
                period=period,
                as_of=period.judged_on(today),
                national=runtime.settings.trials_national,
            )
        if format != "html":
            text = await asyncio.to_thread(render_pack, pack, format)
            return Response(text, media_type=MEDIA_TYPES[format])
        sections = Markup(await asyncio.to_thread(pack_html, pack, page=False))
        return render(
            request,
            "pack_page.html",
            principal=caller,
            pack=pack,
            sections=sections,
            month=PackPeriod.of(period.start, "monthly"),
            quarter=PackPeriod.of(period.start, "quarterly"),
        )
