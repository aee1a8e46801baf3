"""The FastStream application: who consumes what, in one table-like place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn
from faststream import FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage
from redis.asyncio import Redis

from services.api.http import build_api
from services.broker.streams import ensure_group
from services.runtime import Runtime, consumer_name
from services.tracker.handlers import apply_entries, refresh_tracks

log = logging.getLogger("followup.app")


async def _keep_raw_entries(message: Any, original: Any) -> Any:
    """Parse without decoding bodies: FastStream's default decoder raises on a malformed entry
    and leaves the whole batch pending forever; we decode each entry ourselves instead."""
    shell = {**message, "data": [{} for _ in message["data"]]}
    parsed = await original(shell)
    parsed.raw_message = message
    return parsed


async def _no_decoding(_message: Any, _original: Any) -> None:
    return None


def build_app(runtime: Runtime, redis_url: str, *, http: bool = True) -> FastStream:
    settings = runtime.settings
    broker = RedisBroker(redis_url, logger=log, log_level=logging.DEBUG)
    events = StreamSub(
        settings.events_stream,
        group=settings.tracker_group,
        consumer=consumer_name(),
        batch=True,
        max_records=settings.batch_size,
        polling_interval=200,
    )

    @broker.subscriber(stream=events, parser=_keep_raw_entries, decoder=_no_decoding)
    async def events_arrived(message: RedisBatchStreamMessage) -> None:
        raw = message.raw_message
        outcome = await apply_entries(
            sessions=runtime.sessions,
            entries=list(zip(raw["message_ids"], raw["data"], strict=True)),
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=runtime.today(),
        )
        log.info(
            "batch applied",
            extra={
                "received": outcome.received,
                "duplicates": outcome.duplicates,
                "dead_letters": outcome.dead_letters,
                "changes": len(outcome.changes),
            },
        )

    side = _SideServices(runtime, redis_url, http=http)
    return FastStream(broker, logger=log, on_startup=[side.start], on_shutdown=[side.stop])


class _SideServices:
    """Consumer groups created before the broker subscribes; the HTTP API beside it."""

    def __init__(self, runtime: Runtime, redis_url: str, *, http: bool) -> None:
        self.runtime, self.redis_url, self.http = runtime, redis_url, http
        self.redis: Redis | None = None
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = self.runtime.settings
        self.redis = Redis.from_url(self.redis_url)
        await ensure_group(self.redis, stream=settings.events_stream, group=settings.tracker_group)
        self.ticker = asyncio.create_task(self._let_time_pass())
        if self.http:
            api = build_api(runtime=self.runtime, redis=self.redis, today=self.runtime.today)
            config = uvicorn.Config(
                api, host=settings.http_host, port=settings.http_port, log_level="warning"
            )
            self.server = _QuietSignalsServer(config)
            self.task = asyncio.create_task(self.server.serve())

    async def _let_time_pass(self) -> None:
        """Open recurring periods as they begin, however long the service runs."""
        runtime = self.runtime
        while True:
            try:
                changes = await refresh_tracks(
                    sessions=runtime.sessions,
                    rules=runtime.rules,
                    calendar=runtime.calendar,
                    today=runtime.today(),
                )
                if changes:
                    log.info("periods begun", extra={"changes": len(changes)})
            except Exception:  # a database outage must not stop the service; retry next tick
                log.exception("refreshing recurring obligations failed")
            await asyncio.sleep(runtime.settings.refresh_seconds)

    async def stop(self) -> None:
        if self.ticker:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker
        if self.server and self.task:
            self.server.should_exit = True
            await self.task
        if self.redis:
            await self.redis.aclose()


class _QuietSignalsServer(uvicorn.Server):
    """FastStream owns SIGINT/SIGTERM; uvicorn must not take them over."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
