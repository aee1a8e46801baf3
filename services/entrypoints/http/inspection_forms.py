"""POST the inspection page's forms: evidence and completion of an action, a follow-up rating
of a recommendation. Each publishes the contract's event onto the inbound stream, as any
producer does; the page shows it once the tracker has applied it (docs/contract.md section
12, "Area and inspection pages"). Outside the reader's scope 404; not theirs to record 403;
a bad field 400 with the page and the reason, and nothing published."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from services.access.follow_up import may_assess, may_record_action
from services.access.principal import Principal
from services.audit.records import load_follow_up
from services.audit.web_events import (
    FormRefused,
    assessment_data,
    completion_data,
    evidence_data,
    publish_follow_up,
)
from services.entrypoints.http.auth import Staff, check_csrf
from services.entrypoints.http.inspections import show_inspection
from services.entrypoints.http.state import state_of
from services.platform.runtime import Runtime

Text = Annotated[str | None, Form()]


def add_inspection_form_routes(api: FastAPI, *, runtime: Runtime) -> None:
    async def _action(caller: Principal, inspection_id: str, action_id: str) -> None:
        """404 unless the action is on this inspection and in scope; 403 unless theirs."""
        async with runtime.sessions() as session:
            found = await load_follow_up(
                session=session, inspection_id=inspection_id, scope=caller.scope
            )
        for facts in found.recommendations:
            for action in facts.actions:
                if action.action_id == action_id:
                    assert caller.person is not None  # Staff
                    if not may_record_action(
                        caller.person,
                        owner=action.owner,
                        area=facts.area,
                        people=caller.directory(),
                    ):
                        raise HTTPException(
                            status_code=403,
                            detail="evidence and completion are for the action's owner, their "
                            "line, the Area's leaders and HQ",
                        )
                    return
        raise HTTPException(status_code=404, detail=f"no action {action_id!r} here")

    async def _recommendation(caller: Principal, inspection_id: str, rec_id: str) -> None:
        async with runtime.sessions() as session:
            found = await load_follow_up(
                session=session, inspection_id=inspection_id, scope=caller.scope
            )
        facts = next((r for r in found.recommendations if r.recommendation_id == rec_id), None)
        if facts is None:
            raise HTTPException(status_code=404, detail=f"no recommendation {rec_id!r} here")
        assert caller.person is not None
        if not may_assess(caller.person, area=facts.area):
            raise HTTPException(
                status_code=403,
                detail="a follow-up rating is recorded by HQ or the Area's DCCP or CCP",
            )

    async def _publish(
        request: Request,
        caller: Principal,
        inspection_id: str,
        type_: str,
        data: Callable[[], dict[str, Any]],
    ) -> Response:
        try:
            published = await publish_follow_up(
                redis=state_of(request).redis,
                stream=runtime.settings.events_stream,
                type_=type_,
                data=data(),
                now=runtime.now(),
                ratings=runtime.settings.ratings,
            )
        except FormRefused as refused:
            problem = {"field": refused.field, "reason": refused.reason}
            return await show_inspection(
                request, runtime, caller, inspection_id, status_code=400, problem=problem
            )
        return RedirectResponse(
            f"/inspections/{inspection_id}?published={published.event_id}", status_code=303
        )

    @api.post("/inspections/{inspection_id}/actions/{action_id}/evidence")
    async def evidence(
        request: Request,
        caller: Staff,
        inspection_id: str,
        action_id: str,
        evidence: Text = None,
        recorded_date: Text = None,
        csrf_token: Text = None,
    ) -> Response:
        check_csrf(caller, csrf_token)
        await _action(caller, inspection_id, action_id)
        today = state_of(request).today()
        return await _publish(
            request,
            caller,
            inspection_id,
            "action-evidence-recorded",
            lambda: evidence_data(
                action_id=action_id,
                evidence=evidence,
                by=caller.staff_id,
                recorded_date=recorded_date,
                today=today,
            ),
        )

    @api.post("/inspections/{inspection_id}/actions/{action_id}/completion")
    async def completion(
        request: Request,
        caller: Staff,
        inspection_id: str,
        action_id: str,
        completed_date: Text = None,
        csrf_token: Text = None,
    ) -> Response:
        check_csrf(caller, csrf_token)
        await _action(caller, inspection_id, action_id)
        today = state_of(request).today()
        return await _publish(
            request,
            caller,
            inspection_id,
            "action-completed",
            lambda: completion_data(
                action_id=action_id,
                by=caller.staff_id,
                completed_date=completed_date,
                today=today,
            ),
        )

    @api.post("/inspections/{inspection_id}/recommendations/{recommendation_id}/assessment")
    async def assessment(
        request: Request,
        caller: Staff,
        inspection_id: str,
        recommendation_id: str,
        rating: Text = None,
        assessed_date: Text = None,
        notes: Text = None,
        csrf_token: Text = None,
    ) -> Response:
        check_csrf(caller, csrf_token)
        await _recommendation(caller, inspection_id, recommendation_id)
        today = state_of(request).today()

        return await _publish(
            request,
            caller,
            inspection_id,
            "follow-up-assessed",
            lambda: assessment_data(
                recommendation_id=recommendation_id,
                rating=rating,
                by=caller.staff_id,
                assessed_date=assessed_date,
                notes=notes,
                today=today,
            ),
        )
