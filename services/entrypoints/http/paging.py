"""Cursor pagination and parameter refusals shared by the list endpoints (docs/contract.md
section 12, "People's API"): a page is read by key (after the last row of the one before),
never by offset, and its cursor is opaque to the caller."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, NoReturn

from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=f"rows per page (default {DEFAULT_LIMIT}); given, the answer is a page "
        "`{items, next_cursor}`",
    ),
]
Cursor = Annotated[
    str | None,
    Query(description="the `next_cursor` of the page before; given, the answer is a page"),
]


def refuse(parameter: str, value: object, message: str) -> NoReturn:
    """A 422 in FastAPI's own shape, naming the query parameter, for checks a type cannot
    make (a rule id of the pack loaded, a cursor)."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": value}]
    )


def one_of(parameter: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        refuse(parameter, value, f"Input should be one of {', '.join(allowed)}")


def encode(values: Sequence[Any]) -> str:
    text = json.dumps(list(values), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        refuse("cursor", cursor, "not a cursor this API gave (pass `next_cursor` as it came)")
    if not isinstance(found, list):
        refuse("cursor", cursor, "not a cursor this API gave (pass `next_cursor` as it came)")
    return found


def due_and_ref(cursor: str) -> tuple[date, str]:
    """An obligations cursor: the due date and obligation_ref of the last row of the page
    before (a reference, never the id, which not every reader may see)."""
    found = _decode(cursor)
    try:
        due, ref = found
        if not isinstance(ref, str):
            raise TypeError(ref)
        return date.fromisoformat(due), ref
    except (TypeError, ValueError):
        refuse("cursor", cursor, "not an obligations cursor")


def alert_id(cursor: str) -> int:
    """An alerts cursor: the id of the last (oldest) alert of the page before."""
    found = _decode(cursor)
    if len(found) != 1 or not isinstance(found[0], int) or isinstance(found[0], bool):
        refuse("cursor", cursor, "not an alerts cursor")
    return found[0]


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """RFC 8288 `Link: <...>; rel="next"` with the same query and the next cursor."""
    if cursor is not None:
        # Relative, so it holds behind a proxy whatever host the request came in by.
        url = request.url.include_query_params(cursor=cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
