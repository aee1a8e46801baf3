"""GET /inspections, /inspections/{id} and /inspections/{id}/report: recommendations by
follow-up status, each inspection's page (with the forms of inspection_forms.py) and its
report, for whoever's scope covers the inspection's Area; every read of an inspection's
follow-up is on the audit trail (docs/contract.md section 12, "Area and inspection pages")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from services.access.follow_up import may_assess, may_record_action
from services.access.principal import Principal
from services.audit.reads import record_read
from services.audit.recommendation_status import (
    RecommendationFacts,
    RecommendationStatus,
    recommendation_status,
)
from services.audit.records import load_follow_up, staff_names
from services.audit.render import REPORT_CSS, html, render
from services.audit.report import STATUS_LABELS, InspectionNotFound, build_report
from services.audit.status_queries import statuses_by_inspection
from services.entrypoints.http.auth import Caller
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render as render_page
from services.platform.runtime import Runtime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

REPORT_FORMATS = {"html": "text/html", "json": "application/json", "md": "text/markdown"}
REPORT_STYLESHEET = "/inspections/report.css"
# What `?format=` answers in, so the OpenAPI document names every content type they send.
LIST_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}, "application/json": {}}}
}
REPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in REPORT_FORMATS.values()}}
}
_EVENT_ID = re.compile(r"^web-[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class RecommendationView:
    facts: RecommendationFacts
    status: RecommendationStatus
    may_assess: bool
    may_record: frozenset[str]  # the action ids the reader may record evidence or completion of

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status.status]


def readable(principal: Principal) -> None:
    """A publish-only token reads nothing; everyone else reads what their scope covers."""
    if principal.scope.kind == "none":
        raise HTTPException(status_code=403, detail="inspection follow-up is not for this token")


async def inspection_view(
    *, session: AsyncSession, principal: Principal, inspection_id: str, today: date
) -> dict[str, Any]:
    """The page's data, within the reader's scope (404 outside it, as for an unknown one)."""
    found = await load_follow_up(
        session=session, inspection_id=inspection_id, scope=principal.scope
    )
    inspection = found.inspections.get(inspection_id)
    if inspection is None and not found.recommendations:
        raise HTTPException(status_code=404, detail=f"no inspection {inspection_id!r}")
    owners = {a.owner for r in found.recommendations for a in r.actions}
    people = principal.directory()
    person = principal.person
    views = []
    for facts in found.recommendations:
        status = recommendation_status(facts, found.obligations, today)
        allowed = frozenset(
            a.action_id
            for a in facts.actions
            if person is not None
            and may_record_action(person, owner=a.owner, area=facts.area, people=people)
        )
        assess = person is not None and may_assess(person, area=facts.area)
        views.append(RecommendationView(facts, status, assess, allowed))
    return {
        "inspection": inspection,
        "inspection_id": inspection_id,
        "recommendations": views,
        "names": await staff_names(session=session, ids=owners),
        "any_form": any(v.may_assess or v.may_record for v in views),
    }


async def show_inspection(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    inspection_id: str,
    *,
    status_code: int = 200,
    problem: Mapping[str, str] | None = None,
    published: str | None = None,
) -> HTMLResponse:
    """The inspection's page; `problem`: a refused form's field and reason, shown on top."""
    today = state_of(request).today()
    async with runtime.sessions() as session, session.begin():
        view = await inspection_view(
            session=session, principal=principal, inspection_id=inspection_id, today=today
        )
        await record_read(
            session=session,
            inspection_id=inspection_id,
            actor=principal.actor,
            via=f"http GET /inspections/{inspection_id}",
            at=runtime.now(),
        )
    return render_page(
        request,
        "inspection.html",
        principal=principal,
        status_code=status_code,
        problem=problem,
        published=published if published and _EVENT_ID.match(published) else None,
        today=today.isoformat(),
        ratings=runtime.settings.ratings,
        **view,
    )


def add_inspection_routes(api: FastAPI, *, runtime: Runtime) -> None:
    @api.get("/inspections", response_model=None, responses=LIST_CONTENT)
    async def inspections(
        request: Request, caller: Caller, format: str = Query(default="html")
    ) -> Response:
        readable(caller)
        async with runtime.sessions() as session:
            found = await statuses_by_inspection(
                session=session, today=state_of(request).today(), scope=caller.scope
            )
        if format == "json":
            return JSONResponse([_plain(asdict(i)) for i in found])
        return render_page(
            request,
            "inspections.html",
            principal=caller,
            inspections=found,
            labels=STATUS_LABELS,
        )

    @api.get("/inspections/report.css", include_in_schema=False)
    async def report_css() -> FileResponse:
        """The report's own style, linked (no inline style under the pages' policy)."""
        from importlib.resources import files

        return FileResponse(
            str(files("services.audit") / "templates" / REPORT_CSS), media_type="text/css"
        )

    @api.get("/inspections/{inspection_id}", response_class=HTMLResponse)
    async def inspection(
        request: Request, caller: Caller, inspection_id: str, published: str | None = None
    ) -> HTMLResponse:
        readable(caller)
        return await show_inspection(request, runtime, caller, inspection_id, published=published)

    @api.get("/inspections/{inspection_id}/report", responses=REPORT_CONTENT)
    async def report(
        request: Request,
        caller: Caller,
        inspection_id: str,
        format: str = Query(default="html", description="html, json or md"),
    ) -> Response:
        readable(caller)
        if format not in REPORT_FORMATS:
            raise HTTPException(status_code=400, detail="format is one of html, json, md")
        async with runtime.sessions() as session, session.begin():
            try:
                found = await build_report(
                    session=session,
                    inspection_id=inspection_id,
                    today=state_of(request).today(),
                    scope=caller.scope,
                )
            except InspectionNotFound:
                raise HTTPException(
                    status_code=404, detail=f"no inspection {inspection_id!r}"
                ) from None
            await record_read(
                session=session,
                inspection_id=inspection_id,
                actor=caller.actor,
                via=f"http GET /inspections/{inspection_id}/report",
                at=runtime.now(),
                fmt=format,
            )
        if format == "json":
            return JSONResponse(found)
        if format == "md":
            return Response(render(found, "md"), media_type="text/markdown; charset=utf-8")
        return HTMLResponse(html(found, stylesheet=REPORT_STYLESHEET))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "actions"}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value
