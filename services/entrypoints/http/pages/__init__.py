"""The people's pages (docs/contract.md section 12, "Pages"): *My work*, *My team*, my alerts,
one obligation, acting from an email, calendar feeds. Server-rendered, working without
JavaScript; every row read through the scoped queries the API uses."""

from __future__ import annotations

from fastapi import FastAPI


def add_page_routes(api: FastAPI) -> None:
    from services.entrypoints.http.pages import act, calendar_feed, my_work, team

    for module in (my_work, team, act, calendar_feed):
        api.include_router(module.router)
