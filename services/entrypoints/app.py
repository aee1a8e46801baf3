"""The FastStream application: who consumes what, in one table-like place; and what keeps
`serve` honest: a lost consumer group is made again, and a part that stops ends `serve` with a
failure (a non-zero exit) instead of leaving it running without that part."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import uvicorn
from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage

from schemas.sqlite.checkpoints import WalCheckpointer
from services.alerts.delivery.action_links import digest_links
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform import logs
from services.platform.broker.connect import make_broker, redis_client
from services.platform.broker.streams import ensure_group, forget_idle_consumers
from services.platform.heap import settle_heap
from services.platform.retention import Retention
from services.platform.runtime import Runtime, consumer_name
from services.platform.settings import Settings
from services.platform.telemetry import broker_middlewares
from services.summaries.packs.publisher import PackPublisher
from services.summaries.publisher import SummaryPublisher
from services.tracker.consumer import StreamConsumer, describe
from services.tracker.decoding import Decoder
from services.tracker.handlers import refresh_tracks
from services.tracker.outages import is_outage

log = logging.getLogger("followup.app")

# A subscriber stopped more often than this within the window is not started again.
_REGROUPS, _REGROUP_WINDOW = 5, 60.0
# How long making the group again may wait for Redis to answer (it may still be loading).
_REGROUP_WAIT = 60.0


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


def build_app(
    runtime: Runtime, redis_url: str, *, http: bool = True, tracer_provider: Any = None
) -> ServeApp:
    """`tracer_provider`: where traces go when FOLLOWUP_OTEL_ENABLED (a test's); by default
    the process's exporter (services.platform.telemetry)."""
    settings = runtime.settings
    name = consumer_name()
    middlewares = broker_middlewares(settings, tracer_provider=tracer_provider)
    broker = make_broker(redis_url, logger=log, log_level=logging.DEBUG, middlewares=middlewares)
    side = _SideServices(runtime, redis_url, name, broker, http=http)
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

    app = ServeApp(
        broker,
        side,
        logger=log,
        on_startup=[side.start],
        on_shutdown=[side.stopping],
        after_shutdown=[side.stop],
    )
    side.app = app
    return app


async def run_serve(
    build: Callable[[], ServeApp], *, reachable: Callable[[], Awaitable[None]]
) -> ServeApp:
    """Run the app `build` makes until it stops; returns the app that ran. Redis or the
    database going away while it starts (a pool worker starting during a Redis restart) is an
    outage like any other: what had started is stopped, and once `reachable` returns (both
    answer again) a new app starts. An error after it started, or not an outage, is raised."""
    while True:
        app = build()
        try:
            await app.run()
        except Exception as error:
            if app.started or not is_outage(error):
                raise
            log.warning(
                "Redis or the database went away while serve was starting; starting again "
                "once both answer",
                extra={"error": describe(error)[:300]},
            )
            await _stop_quietly(app)
            if app.stop_asked or not await _until_reachable_or_stopped(reachable):
                return app  # SIGINT or SIGTERM while waiting: a clean stop
            continue
        return app


async def _until_reachable_or_stopped(reachable: Callable[[], Awaitable[None]]) -> bool:
    """Wait for `reachable`; False if SIGINT or SIGTERM came first (between two apps, no
    app is there to take them)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiting = asyncio.ensure_future(reachable())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopped):
            task.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if stop.is_set():
        return False
    waiting.result()  # an error that is not an outage (a wrong password) is raised
    return True


async def _stop_quietly(app: ServeApp) -> None:
    """Stop what a failed start left running; with Redis away, closing may fail too."""
    try:
        await app.stop()
    except Exception as error:
        log.debug("stopping a failed start", extra={"error": describe(error)[:300]})


class ServeApp(FastStream):
    """FastStream calls `exit` on SIGINT and SIGTERM, and also after stopping a subscriber for
    good (its consumer group gone: Redis restarted without its data, FLUSHDB, the stream
    deleted), which would end `serve` with status 0 and without its consumer. Here that
    subscriber is started again on a group made anew instead; `fail` ends the app with
    `failure` set, which `serve` turns into a non-zero exit."""

    def __init__(self, broker: RedisBroker, side: _SideServices, **options: Any) -> None:
        super().__init__(broker, **options)
        self.side = side
        self.failure: str | None = None
        self.started = False  # its parts and the broker all started
        self.stop_asked = False  # SIGTERM, SIGINT or a failure while starting
        self.after_startup(self._started)

    async def _started(self) -> None:
        self.started = True
        if self.stop_asked:
            super().exit()

    def exit(self) -> None:
        if self.failure is None and self.side.regroup():
            return
        self._leave()

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            log.critical("serve stopping: a part failed", extra={"reason": reason})
        self._leave()

    def _leave(self) -> None:
        """Stop, but not while starting: FastStream would run the shutdown beside the start,
        which then carried on after it (a pool worker stopped as it started never exited).
        A stop asked for while starting happens as soon as the start is over, or failed."""
        if self.started:
            super().exit()
        else:
            self.stop_asked = True

    def add_check(self, check: Callable[[], Mapping[str, str]]) -> None:
        """One more part `/health` asks (part name -> what is wrong)."""
        self.side.checks.append(check)


class _SideServices:
    """Groups created before the broker subscribes; the reclaimer, the clock for recurring
    periods and the HTTP API beside the consumer; shut down around the in-flight batch."""

    app: ServeApp  # set by build_app

    def __init__(
        self, runtime: Runtime, redis_url: str, name: str, broker: RedisBroker, *, http: bool
    ) -> None:
        self.runtime, self.http, self.broker = runtime, http, broker
        self.redis = redis_client(redis_url)  # connects lazily, on first use
        self.decoder = Decoder(
            ratings=runtime.settings.ratings,
            helper=runtime.settings.decode_helper,
            max_bytes=runtime.settings.max_event_bytes,
        )
        self.consumer = StreamConsumer(runtime, self.redis, name, decoder=self.decoder)
        self.summaries = SummaryPublisher(runtime, self.redis)
        self.packs = PackPublisher(runtime, self.redis)
        self.retention = Retention(runtime, self.redis)
        self.server: uvicorn.Server | None = None
        # The lapse clock and alert delivery, unless turned off.
        self.alerts = (
            AlertService(runtime, self.redis, links=digest_links(runtime.settings, now=runtime.now))
            if runtime.settings.alerts_enabled
            else None
        )
        # Cancelled when shutdown begins; the HTTP server is stopped last, on its own.
        self.background: list[asyncio.Task[None]] = []
        self.serving: asyncio.Task[None] | None = None
        self.checkpointer: WalCheckpointer | None = None
        self.watchdog: asyncio.Task[None] | None = None
        self.regrouping: asyncio.Task[None] | None = None
        self.regrouped: list[float] = []  # when subscribers were last started again
        self.checks: list[Callable[[], Mapping[str, str]]] = []

    async def start(self) -> None:
        settings = self.runtime.settings
        helper_ready = asyncio.ensure_future(self.decoder.start())  # it starts meanwhile
        await ensure_group(self.redis, stream=settings.events_stream, group=settings.tracker_group)
        # Named: a task that stops is named in the failure and in /health.
        self.background = [
            asyncio.create_task(
                self._every(settings.reclaim_every, self._reclaim), name="reclaimer"
            ),
            asyncio.create_task(
                self._every(settings.refresh_seconds, self._let_time_pass), name="periods"
            ),
            asyncio.create_task(
                self._every(settings.summary_check_seconds, self.summaries.tick), name="summaries"
            ),
            asyncio.create_task(
                self._every(settings.summary_check_seconds, self.packs.tick), name="packs"
            ),
            asyncio.create_task(
                self._every(settings.retention_check_seconds, self.retention.tick),
                name="retention",
            ),
        ]
        if settings.audit_checkpoint_seconds > 0:
            self.background.append(
                asyncio.create_task(
                    self._every(
                        settings.audit_checkpoint_seconds, self._audit_checkpoint, first=False
                    ),
                    name="audit-checkpoints",
                )
            )
        if self.runtime.sole_writer:
            self.checkpointer = WalCheckpointer(self.runtime.engine.url.database or "")
            self.background.append(
                asyncio.create_task(
                    self._every(settings.checkpoint_seconds, self._checkpoint), name="checkpoints"
                )
            )
        await helper_ready
        settle_heap()  # everything made so far lives as long as the process
        if self.alerts is not None:
            self.background.append(asyncio.create_task(self.alerts.run(), name="alerts"))
        if self.http:
            api = build_api(
                runtime=self.runtime, redis=self.redis, today=self.runtime.today, parts=self.parts
            )
            # Behind a reverse proxy (docs/contract.md, section 10, "TLS at a reverse proxy"):
            # the client address and scheme come from its X-Forwarded-* headers, believed only
            # from the addresses named.
            config = uvicorn.Config(
                api,
                host=settings.http_host,
                port=settings.http_port,
                proxy_headers=True,
                forwarded_allow_ips=settings.http_forwarded_allow_ips,
                server_header=False,
                **logs.UVICORN_LOGGING,
            )
            self.server = _QuietSignalsServer(config)
            self.serving = asyncio.create_task(self.server.serve(), name="http")
        watched = [*self.background, *([self.serving] if self.serving else [])]
        self.watchdog = asyncio.create_task(self._watch(watched), name="watchdog")
        log.info("serving", extra=self._where(settings))

    def _where(self, settings: Settings) -> dict[str, str]:
        """Where this `serve` listens, reads and writes, for the operator reading its log."""
        http = f"http://{settings.http_host}:{settings.http_port}" if self.http else "off"
        mail = (
            f"smtp://{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
            if settings.smtp_host
            else str((settings.data_dir / "outbox").resolve())
        )
        redis = self.redis.connection_pool.connection_kwargs
        where = redis.get("path") or f"{redis.get('host')}:{redis.get('port')}"
        if master := getattr(self.redis.connection_pool, "service_name", None):
            where = f"the master {master} its sentinels name"
        return {
            "http": http,
            "database": self.runtime.engine.url.render_as_string(hide_password=True),
            "redis": str(where),
            "mail": mail,
        }

    async def _watch(self, tasks: list[asyncio.Task[None]]) -> None:
        """Each of these runs until shutdown; one that stops first stops `serve`, failed."""
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            self.app.fail(f"{task.get_name()} stopped: {_ending(task)}")

    def parts(self) -> dict[str, str]:
        """What /health reports of the parts beside the API (part name -> what is wrong)."""
        found = {t.get_name(): f"stopped: {_ending(t)}" for t in self.background if t.done()}
        if self.regrouping is not None:
            found["events"] = "consumer group lost; being made again"
        elif any(not subscriber.running for subscriber in self.broker.subscribers):
            found["events"] = "subscriber stopped"
        for check in self.checks:
            found.update(check())
        return found

    def regroup(self) -> bool:
        """FastStream is stopping the app: if it is because a subscriber stopped itself (the
        broker still running, no shutdown begun), start it again instead; True if so."""
        lost = [s for s in self.broker.subscribers if not s.running]
        if not lost or not self.broker.running or self.consumer.stopping.is_set():
            return False
        if self.regrouping is not None:  # a signal while making the group again
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self.regrouping = loop.create_task(self._regroup(lost), name="regroup")
        return True

    async def _regroup(self, lost: list[Any]) -> None:
        settings = self.runtime.settings
        stream, group = settings.events_stream, settings.tracker_group
        now = time.monotonic()
        self.regrouped = [t for t in self.regrouped if now - t < _REGROUP_WINDOW] + [now]
        try:
            if len(self.regrouped) > _REGROUPS:
                raise RuntimeError(
                    f"stopped {len(self.regrouped)} times within {_REGROUP_WINDOW:g} s"
                )
            created = await self._ensure_group_waiting(stream, group)
            if created:
                log.warning(
                    "consumer group lost (Redis restarted without its data, FLUSHDB, or the "
                    "stream deleted) and made again at the start of the stream: entries "
                    "published before the loss and not yet applied are gone from Redis; the "
                    "events table (events_received) is the durable record of what was "
                    "applied: publish again what the senders sent and it lacks",
                    extra={"stream": stream, "group": group},
                )
            for subscriber in lost:
                await subscriber.start()
            log.warning("events subscriber started again", extra={"stream": stream})
        except Exception as error:
            self.app.fail(f"events subscriber stopped and could not start again: {describe(error)}")
        finally:
            self.regrouping = None

    async def _ensure_group_waiting(self, stream: str, group: str) -> bool:
        deadline = time.monotonic() + _REGROUP_WAIT
        while True:
            try:
                return await ensure_group(self.redis, stream=stream, group=group)
            except Exception as error:
                if not is_outage(error) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)

    async def stopping(self) -> None:
        """Before the broker stops: no new reclaims, and a batch waiting out an outage gives
        up (unacknowledged) instead of holding shutdown; a batch being applied completes."""
        self.consumer.stopping.set()
        for task in [t for t in (self.watchdog, self.regrouping) if t is not None]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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

    async def _every(
        self, seconds: float, work: Callable[[], Awaitable[None]], *, first: bool = True
    ) -> None:
        """`first`: do the work at once, else only once `seconds` have passed."""
        if not first:
            await asyncio.sleep(seconds)
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # an outage must not stop the service; try again
                if is_outage(error):  # it will be back; say so briefly
                    log.warning(
                        "background work waiting for the database or Redis",
                        extra={"work": work.__name__, "error": describe(error)[:300]},
                    )
                else:
                    log.exception("background work failed", extra={"work": work.__name__})
            await asyncio.sleep(seconds)

    async def _audit_checkpoint(self) -> None:
        """Sign the audit chain's head when it grew (docs/contract.md section 8, "Added:
        signed checkpoints"); a broken chain is logged, never signed."""
        from services.audit.checkpoints import ChainNotSigned, make_checkpoint
        from services.platform.audit_key import signing_key
        from services.platform.outbox import flush_outbox

        now = self.runtime.now()
        key = signing_key(self.runtime.settings)
        try:
            async with self.runtime.sessions() as session, session.begin():
                made = await make_checkpoint(
                    session=session, key=key, actor="serve", now=now, only_if_grown=True
                )
        except ChainNotSigned as broken:
            log.error("audit checkpoint refused", extra={"reason": str(broken)})
            return
        if made is not None:
            await flush_outbox(
                sessions=self.runtime.sessions,
                redis=self.redis,
                settings=self.runtime.settings,
                now=now,
            )
            log.info("audit checkpoint signed", extra={"checkpoint": made.id, "head": made.head})

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
            now=runtime.now(),
        )
        if changes:
            log.info("periods begun", extra={"changes": len(changes)})


def _ending(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return describe(error) if error is not None else "returned"


class _QuietSignalsServer(uvicorn.Server):
    """FastStream owns SIGINT/SIGTERM; uvicorn must not take them over."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
