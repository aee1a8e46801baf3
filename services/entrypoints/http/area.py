"""GET /area: the Area leaders' page (DCCP, CCP, ABM; HQ for an Area it picks): this week's
conference-call summary with its chart, the backlog of lapses older than the week, and
drill-down by unit and team (docs/contract.md section 12, "Area and inspection pages")."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from events.outbound import obligation_ref
from services.entrypoints.http.auth import Caller
from services.entrypoints.http.state import state_of
from services.entrypoints.http.summaries import check_on_record, recent_summaries, sections_markup
from services.entrypoints.http.summary_access import area_choice
from services.entrypoints.http.templating import render
from services.platform.runtime import Runtime
from services.summaries import queries
from services.summaries.backlog import build_backlog
from services.summaries.build import build_summary, call_time
from services.summaries.iqa_queries import iqa_measures
from services.summaries.model import Scope as SummaryScope
from services.summaries.packs.build import trials
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import trials_html
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def add_area_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/area", response_class=HTMLResponse)
    async def area_page(
        request: Request,
        caller: Caller,
        area: str | None = Query(default=None),
        unit: str | None = Query(default=None),
        team: str | None = Query(default=None),
    ) -> HTMLResponse:
        chosen = area_choice(caller, area=area or None)
        today = state_of(request).today()
        week = IsoWeek.of(today)
        page: dict[str, Any] = {"week": week}
        async with runtime.sessions() as session:
            if chosen is None:
                areas = await queries.known_areas(session=session)
                return render(request, "area_list.html", principal=caller, areas=areas, **page)
            scope = SummaryScope(chosen, unit or None, team or None)
            await check_on_record(session=session, scope=scope)

            async def made() -> tuple[Any, ...]:
                summary = await build_summary(
                    session=session,
                    scope=scope,
                    week=week,
                    as_of=today,
                    call=call_time(runtime.settings),
                    as_of_from="today",
                )
                # The page's own backlog, with links into the service, is every lapse still
                # open (the call pack's, section 9): the pack's copy is left out below it.
                backlog = await build_backlog(
                    session=session, scope=scope, before=today, as_of=today
                )
                shown = replace(
                    summary, sections=[s for s in summary.sections if s.kind != "backlog"]
                )
                # Trials and IQA measures read every Area's events of the month: kept with
                # the summary, until the data changes (services/summaries/recent.py).
                shown_trials = None
                if scope.unit is None and scope.manager is None:
                    shown_trials = await _trials_markup(runtime, session, area=chosen, today=today)
                iqa = await iqa_measures(session=session, first=iqa_month.start, last=iqa_month.end)
                return summary, await sections_markup(shown), backlog, shown_trials, iqa

            # IQA leniency of the last whole month (docs/contract.md section 12, "Added: IQA
            # on the Area page").
            iqa_month = PackPeriod.of(today, "monthly").previous()
            summary, sections, backlog, shown_trials, iqa = await recent_summaries(request).get(
                ("area", scope, week, today), await queries.data_version(session=session), made
            )
            units = await queries.units_of(session=session, area=chosen)
            teams = await queries.legal_managers_of(session=session, area=chosen)
        return render(
            request,
            "area.html",
            principal=caller,
            scope=scope,
            summary=summary,
            sections=sections,
            backlog=backlog,
            units=units,
            teams=sorted(teams.items(), key=lambda item: (item[1], item[0])),
            team_ids=set(teams),
            team_names=teams,
            titles={r.id: r.title for r in runtime.rules},
            ref=obligation_ref,
            trials=shown_trials,
            iqa_month=iqa_month,
            iqa_area=next((g for g in iqa.areas if g.name == chosen), None),
            iqa_national=iqa.national,
            **page,
        )


async def _trials_markup(
    runtime: Runtime, session: AsyncSession, *, area: str, today: date
) -> Markup:
    """The Area's trials not proceeding for prosecution reasons in the last whole month,
    against the national figure, with six months' trend (docs/contract.md section 9)."""
    month = PackPeriod.of(today, "monthly").previous()
    section = await trials(
        session=session, area=area, period=month, national=runtime.settings.trials_national
    )
    # Rendered by the packs' Jinja2 environment, which escapes every value.
    return Markup(trials_html(section))
