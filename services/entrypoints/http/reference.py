"""The API reference pages, `/docs` (Swagger UI) and `/redoc`, and the AsyncAPI document of the
streams, `/asyncapi` (docs/contract.md, section 10, "Reference"). Every script and style sheet
comes from the service itself, never a CDN: Swagger UI's and Redoc's files as the
`fastapi-offline` package ships them, and pages of our own that start them without inline
script, so the Content-Security-Policy holds on these pages too. URLs in the pages are
relative, so they work under a reverse proxy's path prefix."""

from __future__ import annotations

import asyncio
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from services.entrypoints.asyncapi import document
from services.platform.settings import Settings

_PAGES = Path(__file__).parent / "api_docs"
_VENDORED = Path(str(files("fastapi_offline") / "static"))
# Only these names are served: nothing else under either folder can be asked for.
ASSETS = {
    "swagger-ui-bundle.js": _VENDORED / "swagger-ui-bundle.js",
    "swagger-ui.css": _VENDORED / "swagger-ui.css",
    "redoc.standalone.js": _VENDORED / "redoc.standalone.js",
    "favicon.png": _VENDORED / "favicon.png",
    "swagger-init.js": _PAGES / "swagger-init.js",
}
# The files change only with a new release of the service.
_CACHE = {"Cache-Control": "public, max-age=86400"}


def add_reference_routes(api: FastAPI, *, settings: Settings) -> None:
    @api.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse((_PAGES / "swagger.html").read_text())

    @api.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse((_PAGES / "redoc.html").read_text())

    @api.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        path = ASSETS.get(name)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no asset {name!r}")
        return FileResponse(path, headers=_CACHE)

    @api.get("/asyncapi")
    async def asyncapi() -> dict[str, Any]:
        """The AsyncAPI 3.0 document of the events stream and the tracking stream."""
        return await _document(settings)

    @api.get(
        "/asyncapi.yaml",
        response_class=Response,  # documented as YAML, not FastAPI's default JSON
        responses={200: {"content": {"application/yaml": {}}}},
    )
    async def asyncapi_yaml() -> Response:
        """The same document as YAML."""
        text = yaml.safe_dump(await _document(settings), sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml")


async def _document(settings: Settings) -> dict[str, Any]:
    # Built once (a few tenths of a second), off the event loop, then served from memory.
    return await asyncio.to_thread(document, settings)
