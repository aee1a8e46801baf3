"""The HTTP API: the same reads as the command line, for dashboards and other services, each
cut to its caller's scope (docs/contract.md sections 10 and 12)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from services.entrypoints.http import security_schemes
from services.entrypoints.http.auth import Caller, SignInRequired
from services.entrypoints.http.hardening import harden
from services.entrypoints.http.health import Parts, failing
from services.entrypoints.http.metrics import metrics_text
from services.entrypoints.http.probes import add_probe_routes
from services.entrypoints.http.reference import add_reference_routes
from services.entrypoints.http.state import AppState
from services.entrypoints.http.templating import STATIC_DIR
from services.entrypoints.http.timing import RequestTimer
from services.platform.histograms import histograms_key
from services.platform.runtime import Runtime
from services.platform.settings import Settings
from services.summaries.recent import RecentSummaries
from services.tracker.metrics import read_status


def build_api(
    *,
    runtime: Runtime,
    redis: Redis,
    today: Callable[[], date],
    parts: Parts = dict,
    settings: Settings | None = None,
) -> FastAPI:
    """`parts`: what the parts of the service beside the API say is wrong with them;
    `settings`: the runtime's unless given."""
    settings = settings if settings is not None else runtime.settings
    # The reference pages are ours (reference.py): FastAPI's own start Swagger UI and Redoc
    # from a CDN with an inline script.
    api = FastAPI(title="Followup", version="1", docs_url=None, redoc_url=None)
    recent = RecentSummaries(seconds=settings.summary_cache_seconds)
    api.state.followup = AppState(runtime=runtime, redis=redis, today=today, recent=recent)
    harden(api, settings)
    # Outside the rate limit and the Host check, so their refusals are timed too.
    api.add_middleware(RequestTimer, redis=redis, key=histograms_key(settings.namespace))
    security_schemes.declare(api)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_probe_routes(api, runtime=runtime, redis=redis)
    add_reference_routes(api, settings=settings)

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
        """Prometheus text format: throughput, latency histograms, lag, pending, dead letters,
        the lapse clock, alert delivery and weekly summaries (deploy/prometheus/alerts.yml)."""
        _national(caller)
        text = await metrics_text(runtime=runtime, redis=redis)
        return Response(text, media_type="text/plain; version=0.0.4")

    from services.entrypoints.http.alerts import add_alert_routes
    from services.entrypoints.http.dashboard import add_dashboard_routes
    from services.entrypoints.http.events_in import add_event_routes
    from services.entrypoints.http.obligations import add_obligation_routes
    from services.entrypoints.http.pages import add_page_routes
    from services.entrypoints.http.sign_in import router as sign_in_router

    add_alert_routes(api, runtime=runtime)
    add_obligation_routes(api, runtime=runtime, today=today)
    add_event_routes(api, runtime=runtime, redis=redis)
    add_dashboard_routes(api, runtime=runtime)
    api.include_router(sign_in_router)
    add_page_routes(api)
    return api


def _national(caller: Any) -> None:
    """Service-wide figures: for HQ and systems' read tokens (docs/contract.md section 12)."""
    if not caller.scope.national:
        raise HTTPException(status_code=403, detail="service status is for HQ and read tokens")
