"""The two ways a caller proves who it is, as FastAPI security objects (docs/contract.md,
section 10, "Who is asking"): an API token in `Authorization: Bearer ...` and the session
cookie `followup_session`. Used as dependencies they read the credential; deciding whether
it is good belongs to the code that checks it. `declare` puts both in the OpenAPI document
even while no route uses them yet."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.security import APIKeyCookie, HTTPBearer

SESSION_COOKIE = "followup_session"

# auto_error=False: a route that takes either must see a missing one as None and answer 401
# itself, rather than FastAPI refusing the request over the first one absent.
api_token = HTTPBearer(
    scheme_name="apiToken",
    bearerFormat="opaque",
    description="An API token, sent as `Authorization: Bearer TOKEN`.",
    auto_error=False,
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    description=f"The session of a signed-in person, in the cookie `{SESSION_COOKIE}`.",
    auto_error=False,
)
SCHEMES = (api_token, session_cookie)


def declare(api: FastAPI) -> None:
    """The OpenAPI document lists both schemes, whether or not a route depends on them."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
            for scheme in SCHEMES:
                described = scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
                schemes.setdefault(scheme.scheme_name, described)
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
