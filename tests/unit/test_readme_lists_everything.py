"""The README is where an operator looks: every setting and every HTTP endpoint is in it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, cast

from services.entrypoints.http.api import build_api
from services.platform.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"FOLLOWUP_{name.upper()}"
        for name in Settings.model_fields
        if f"`FOLLOWUP_{name.upper()}`" not in README
    ]
    assert missing == []


def test_every_http_endpoint_is_in_the_readme() -> None:
    api = build_api(
        runtime=cast(Any, None),
        redis=cast(Any, None),
        today=date.today,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
    )
    paths = {
        re.sub(r":path\}", "}", path)
        for path in _paths(api.routes)
        if not path.startswith(("/docs", "/redoc", "/openapi"))
    }
    assert paths, "no routes found"
    missing = sorted(path for path in paths if f"`{path}`" not in README and path not in README)
    assert missing == []


def _paths(routes: list[Any]) -> list[str]:
    """Every route's path, those of included routers too (FastAPI keeps those apart)."""
    found: list[str] = []
    for route in routes:
        if hasattr(route, "path"):
            found.append(route.path)
        elif hasattr(route, "original_router"):
            found.extend(_paths(route.original_router.routes))
    return found
