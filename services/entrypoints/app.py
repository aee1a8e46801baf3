"""The FastStream application: who consumes what, in one table-like place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.sqlite.checkpoints import WalCheckpointer
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.broker.streams import ensure_group, forget_idle_consumers
from services.platform.heap import settle_heap
from services.platform.runtime import Runtime, consumer_name
from services.summaries.publisher import SummaryPublisher
from services.tracker.consumer import StreamConsumer
from services.tracker.decoding import Decoder
from services.tracker.handlers import refresh_tracks

log = logging.getLogger("followup.app")


async def _keep_raw_entries(message: Any, original: Any) -> Any:
    """Parse without decoding bodies: FastStream's default decoder raises on a malformed entry
    and leaves the whole batch pending forever; we decode each entry ourselves instead. Its
    parser is given no entries at all: it tried to read each as JSON, which cost a twentieth
    of the consumer's time, for a body nobody reads (the handler takes `raw_message`)."""
    shell = {**message, "data": []}
    parsed = await original(shell)
    parsed.raw_message = message
    return parsed


async def _no_decoding(_message: Any, _original: Any) -> None:
    return None


def build_app(runtime: Runtime, redis_url: str, *, http: bool = True) -> FastStream:
    settings = runtime.settings
    name = consumer_name()
    broker = RedisBroker(redis_url, logger=log, log_level=logging.DEBUG)
    side = _SideServices(runtime, redis_url, name, http=http)
    events = StreamSub(
        settings.events_stream,
        group=settings.tracker_group,
        consumer=name,
        batch=True,
        max_records=settings.batch_size,
        polling_interval=200,
    )

    # MANUAL: the consumer acknowledges exactly the entries whose effects it committed.
    @broker.subscriber(
        stream=events,
        parser=_keep_raw_entries,
        decoder=_no_decoding,
        ack_policy=AckPolicy.MANUAL,
    )
    async def events_arrived(message: RedisBatchStreamMessage) -> None:
        raw = message.raw_message
        await side.consumer.submit(list(zip(raw["message_ids"], raw["data"], strict=True)))

    return FastStream(
        broker,
        logger=log,
        on_startup=[side.start],
        on_shutdown=[side.stopping],
        after_shutdown=[side.stop],
    )


class _SideServices:
    """Groups created before the broker subscribes; the reclaimer, the clock for recurring
    periods and the HTTP API beside the consumer; shut down around the in-flight batch."""

    def __init__(self, runtime: Runtime, redis_url: str, name: str, *, http: bool) -> None:
        self.runtime, self.http = runtime, http
        self.redis = Redis.from_url(redis_url)  # connects lazily, on first use
        self.decoder = Decoder(
            ratings=runtime.settings.ratings,
            helper=runtime.settings.decode_helper,
            max_bytes=runtime.settings.max_event_bytes,
        )
        self.consumer = StreamConsumer(runtime, self.redis, name, decoder=self.decoder)
        self.summaries = SummaryPublisher(runtime, self.redis)
        self.server: uvicorn.Server | None = None
        # The lapse clock and alert delivery, unless turned off.
        self.alerts = AlertService(runtime, self.redis) if runtime.settings.alerts_enabled else None
        # Cancelled when shutdown begins; the HTTP server is stopped last, on its own.
        self.background: list[asyncio.Task[None]] = []
        self.serving: asyncio.Task[None] | None = None
        self.checkpointer: WalCheckpointer | None = None

    async def start(self) -> None:
        settings = self.runtime.settings
        helper_ready = asyncio.ensure_future(self.decoder.start())  # it starts meanwhile
        await ensure_group(self.redis, stream=settings.events_stream, group=settings.tracker_group)
        self.background = [
            asyncio.create_task(self._every(settings.reclaim_every, self._reclaim)),
            asyncio.create_task(self._every(settings.refresh_seconds, self._let_time_pass)),
            asyncio.create_task(self._every(settings.summary_check_seconds, self.summaries.tick)),
        ]
        if self.runtime.sole_writer:
            self.checkpointer = WalCheckpointer(self.runtime.engine.url.database or "")
            self.background.append(
                asyncio.create_task(self._every(settings.checkpoint_seconds, self._checkpoint))
            )
        await helper_ready
        settle_heap()  # everything made so far lives as long as the process
        if self.alerts is not None:
            self.background.append(asyncio.create_task(self.alerts.run()))
        if self.http:
            api = build_api(runtime=self.runtime, redis=self.redis, today=self.runtime.today)
            config = uvicorn.Config(
                api, host=settings.http_host, port=settings.http_port, log_level="warning"
            )
            self.server = _QuietSignalsServer(config)
            self.serving = asyncio.create_task(self.server.serve())

    async def stopping(self) -> None:
        """Before the broker stops: no new reclaims, and a batch waiting out an outage gives
        up (unacknowledged) instead of holding shutdown; a batch being applied completes."""
        self.consumer.stopping.set()
        for task in self.background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.consumer.drain()

    async def stop(self) -> None:
        await self.consumer.drain()  # a batch the broker handed over while it stopped
        self.decoder.close()
        if self.checkpointer is not None:
            await self.checkpointer.close()
        if self.server and self.serving:
            self.server.should_exit = True
            await self.serving
        await self.redis.aclose()

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:  # Redis away: it will be back; say so briefly
                log.warning("background work waiting for Redis", extra={"error": str(error)})
            except Exception:  # an outage must not stop the service; try again next time
                log.exception("background work failed", extra={"work": work.__name__})
            await asyncio.sleep(seconds)

    async def _reclaim(self) -> None:
        taken = await self.consumer.reclaim()
        if taken:
            log.info("entries reclaimed", extra={"count": taken})
        settings = self.runtime.settings
        await forget_idle_consumers(
            self.redis,
            stream=settings.events_stream,
            group=settings.tracker_group,
            idle_ms=max(10 * settings.reclaim_idle_ms, 600_000),
        )

    async def _checkpoint(self) -> None:
        assert self.checkpointer is not None
        await self.checkpointer.step()

    async def _let_time_pass(self) -> None:
        """Open recurring periods as they begin, however long the service runs."""
        runtime = self.runtime
        changes = await refresh_tracks(
            sessions=runtime.sessions,
            rules=runtime.rules,
            calendar=runtime.calendar,
            today=runtime.today(),
        )
        if changes:
            log.info("periods begun", extra={"changes": len(changes)})


class _QuietSignalsServer(uvicorn.Server):
    """FastStream owns SIGINT/SIGTERM; uvicorn must not take them over."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
