"""The HTTP API: the same reads as the command line, for dashboards and other services, each
cut to its caller's scope (docs/contract.md sections 10 and 12)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from services.entrypoints.http.auth import Caller, SignInRequired
from services.entrypoints.http.health import Parts, failing
from services.entrypoints.http.state import AppState
from services.entrypoints.http.templating import STATIC_DIR
from services.platform.runtime import Runtime
from services.tracker.metrics import prometheus_text, read_status
from services.tracker.queries import explain_obligation, list_obligations


def build_api(
    *, runtime: Runtime, redis: Redis, today: Callable[[], date], parts: Parts = dict
) -> FastAPI:
    """`parts`: what the parts of the service beside the API say is wrong with them."""
    api = FastAPI(title="Followup", version="1")
    api.state.followup = AppState(runtime=runtime, redis=redis, today=today)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @api.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={error.next_path}", status_code=303)

    @api.get("/health")
    async def health() -> JSONResponse:
        """200 when the database, Redis and every part work; else 503 naming what fails."""
        found = await failing(runtime=runtime, redis=redis, parts=parts)
        if found:
            return JSONResponse({"status": "failing", "failing": found}, status_code=503)
        return JSONResponse({"status": "ok"})

    @api.get("/status")
    async def status(caller: Caller) -> dict[str, Any]:
        _national(caller)
        return await read_status(runtime=runtime, redis=redis)

    @api.get("/metrics", response_class=PlainTextResponse)  # documented as text, not JSON
    async def metrics(caller: Caller) -> Response:
        """Prometheus text format: throughput, batch latency, lag, pending, dead letters."""
        _national(caller)
        status = await read_status(runtime=runtime, redis=redis)
        return Response(prometheus_text(status), media_type="text/plain; version=0.0.4")

    @api.get("/obligations")
    async def obligations(
        caller: Caller,
        state: str | None = Query(default=None),
        rule: str | None = Query(default=None),
        urn: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_obligations(
                session=session, today=today(), state=state, rule=rule, urn=urn, scope=caller.scope
            )

    @api.get("/obligations/{obligation_id:path}")
    async def obligation(caller: Caller, obligation_id: str) -> dict[str, Any]:
        """One obligation explained: its computation, warnings and history of changes."""
        async with runtime.sessions() as session:
            found = await explain_obligation(
                session=session,
                obligation_id=obligation_id,
                today=today(),
                rules=runtime.rules,
                calendar=runtime.calendar,
                scope=caller.scope,
            )
        if found is None:
            raise HTTPException(status_code=404, detail=f"no obligation {obligation_id!r}")
        return found

    from services.entrypoints.http.alerts import add_alert_routes
    from services.entrypoints.http.sign_in import router as sign_in_router

    add_alert_routes(api, runtime=runtime)
    api.include_router(sign_in_router)
    return api


def _national(caller: Any) -> None:
    """Service-wide figures: for HQ and systems' read tokens (docs/contract.md section 12)."""
    if not caller.scope.national:
        raise HTTPException(status_code=403, detail="service status is for HQ and read tokens")
