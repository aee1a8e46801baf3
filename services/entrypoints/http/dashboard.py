"""The Area, summary, inspection and dead-letter routes, added to the API together
(docs/contract.md section 12, "Area and inspection pages")."""

from __future__ import annotations

from fastapi import FastAPI

from services.entrypoints.http.area import add_area_routes
from services.entrypoints.http.dead_letters import add_dead_letter_routes
from services.entrypoints.http.inspection_forms import add_inspection_form_routes
from services.entrypoints.http.inspections import add_inspection_routes
from services.entrypoints.http.packs import add_pack_routes
from services.entrypoints.http.summaries import add_summary_routes
from services.platform.runtime import Runtime


def add_dashboard_routes(api: FastAPI, *, runtime: Runtime) -> None:
    add_area_routes(api, runtime=runtime)
    add_pack_routes(api, runtime=runtime)
    add_summary_routes(api, runtime=runtime)
    add_inspection_routes(api, runtime=runtime)
    add_inspection_form_routes(api, runtime=runtime)
    add_dead_letter_routes(api, runtime=runtime)
