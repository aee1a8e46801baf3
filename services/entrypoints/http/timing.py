"""How long each HTTP request takes, by route, as a histogram kept in Redis with the tracker's
(services/platform/histograms.py; docs/contract.md, section 11, "Added: latency histograms").

A request is timed from its first byte in to the end of its answer and recorded once the
answer has gone, so the client never waits for Redis; Redis away, the figure is dropped, never
the request. Labelled by the route's template (`/obligations/{obligation_id}`), never the path
itself, so the series stay as few as the routes."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.platform.histograms import Histogram

HTTP_DURATION = Histogram(
    "followup_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    labels=("method", "route", "status"),
)
_RECORD_SECONDS = 0.5
_CONVERTER = re.compile(r":\w+\}")  # `{obligation_id:path}` is shown `{obligation_id}`


class RequestTimer:
    def __init__(self, app: ASGIApp, *, redis: Redis, key: str) -> None:
        self.app, self.redis, self.key = app, redis, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an error that escapes the app is answered 500 outside this layer

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            seconds = time.perf_counter() - started
            labels = (scope["method"], route_of(scope), f"{status // 100}xx")
            await self._record(seconds, labels)

    async def _record(self, seconds: float, labels: tuple[str, str, str]) -> None:
        with contextlib.suppress(Exception):  # a lost figure, never a failed request
            async with asyncio.timeout(_RECORD_SECONDS):
                async with self.redis.pipeline(transaction=False) as pipe:
                    HTTP_DURATION.record(pipe, key=self.key, values=(seconds,), labels=labels)
                    await pipe.execute()


def route_of(scope: Scope) -> str:
    """The matched route's template (without converters); mounted files by their mount;
    anything else `other`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return _CONVERTER.sub("}", path)
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "other"
