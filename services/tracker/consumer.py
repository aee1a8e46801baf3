"""At-least-once delivery, exactly-once effects: what the stream consumer does with a batch.

A batch is applied in one transaction and acknowledged only after it commits (effects are
idempotent: each (source, id) is recorded once). When the database is away the batch waits and
retries with backoff, acknowledging nothing. When one entry makes the transaction fail, the batch
is split until that entry stands alone; the rest is committed and acknowledged, and the entry
stays pending with its error recorded until it has failed `max_deliveries` times and the
reclaimer moves it to the dead-letter store. Only failures of the entry's own count: while the
database is away nothing fails (the batch waits), so an outage however long, and the reclaims
it brings, never uses up an entry's deliveries (docs/contract.md, section 11,
"The delivery cap counts an entry's own failures").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from redis.asyncio import Redis

from schemas.tables import DeadLetter
from services.platform.broker.streams import ENTRY_FIELD
from services.platform.histograms import histograms_key
from services.platform.runtime import Runtime
from services.tracker import cache
from services.tracker.dead_letters import add_dead_letters
from services.tracker.decoding import Decoder
from services.tracker.handlers import BatchOutcome, apply_entries
from services.tracker.intake import Decoded, Entry, storable
from services.tracker.metrics import BATCH_APPLY, EVENT_LATENCY, published_ages
from services.tracker.outages import is_outage, is_transient

log = logging.getLogger("followup.consumer")
T = TypeVar("T")

_RETRY_FIRST, _RETRY_MAX = 0.2, 10.0
# How long a batch waits for the stream's next read before being applied: Redis answers a
# read of a backlog within a few milliseconds; an idle stream does not answer at all.
_READ_AHEAD_SECONDS = 0.01


class Abandoned(Exception):
    """Shutting down while the database is away: leave the batch pending for later."""


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


@dataclass(slots=True)
class Handled:
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    done: list[bytes] = field(default_factory=list)
    failed: dict[bytes, str] = field(default_factory=dict)


class StreamConsumer:
    def __init__(
        self, runtime: Runtime, redis: Redis, consumer: str, *, decoder: Decoder | None = None
    ) -> None:
        self.runtime, self.redis, self.consumer = runtime, redis, consumer
        # Without one given, batches are decoded on the event loop.
        self.decoder = decoder or Decoder(
            ratings=runtime.settings.ratings,
            helper=False,
            max_bytes=runtime.settings.max_event_bytes,
        )
        settings = runtime.settings
        # The track cache this process keeps for the database, bounded in memory.
        cache.set_budget(runtime.engine, settings.cache_mb)
        self.stream, self.group = settings.events_stream, settings.tracker_group
        # Per pending entry: the last error of its own, and how many deliveries failed so.
        self.failures_key = f"{settings.namespace}:failures"
        self.faults_key = f"{settings.namespace}:faults"
        self.metrics_key = f"{settings.namespace}:metrics"
        self.histograms_key = histograms_key(settings.namespace)
        self.stopping = asyncio.Event()
        self._applying: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()  # a batch delivered since the last one went to apply

    async def submit(self, entries: Sequence[Entry]) -> None:
        """Take a delivered batch and return before it is applied, so the next one is read
        and decoded while this one waits on the database: batches are decoded as they come,
        then applied one at a time, in order, each acknowledged once it has committed."""
        self._arrived.set()
        decoded = await self.decoder.decode(entries)
        await self.drain()
        self._arrived.clear()
        self._applying = asyncio.create_task(self._handle_logged(entries, decoded))

    async def drain(self) -> None:
        """Until the batch submitted last has been applied (or left pending)."""
        while (applying := self._applying) is not None:
            await asyncio.shield(applying)  # a cancelled caller must not cancel the batch
            if self._applying is applying:
                self._applying = None

    async def _handle_logged(self, entries: Sequence[Entry], decoded: Decoded) -> None:
        if self.decoder.helper:
            # Let the stream's next read come in first, so its batch is decoded in the helper
            # while this one is applied: applying on SQLite gives the loop few chances to read.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), _READ_AHEAD_SECONDS)
        try:
            handled = await self.handle(entries, decoded=decoded)
        except Abandoned:
            log.warning("shutting down with the database away: batch left pending")
            return
        except Exception:  # Redis gone at the acknowledgement: the entries stay pending
            log.exception("batch not acknowledged", extra={"entries": len(entries)})
            return
        log.info(
            "batch applied",
            extra={
                "received": handled.outcome.received,
                "duplicates": handled.outcome.duplicates,
                "conflicts": handled.outcome.conflicts,
                "dead_letters": handled.outcome.dead_letters,
                "failed": len(handled.failed),
            },
        )

    async def handle(self, entries: Sequence[Entry], *, decoded: Decoded | None = None) -> Handled:
        """Commit what can be committed, acknowledge exactly that, leave the rest pending.
        `decoded`: the entries already decoded (intake.decode_entries)."""
        started = time.perf_counter()
        handled = Handled()
        await self._isolate(list(entries), handled, decoded)
        seconds = time.perf_counter() - started
        async with self.redis.pipeline(transaction=False) as pipe:
            if handled.done:
                pipe.xack(self.stream, self.group, *handled.done)
                pipe.hdel(self.failures_key, *handled.done)
                pipe.hdel(self.faults_key, *handled.done)
            if handled.failed:
                pipe.hset(self.failures_key, mapping=handled.failed)  # type: ignore[arg-type]
                for entry_id in handled.failed:
                    pipe.hincrby(self.faults_key, entry_id, 1)
            pipe.hincrby(self.metrics_key, "batches", 1)
            pipe.hincrby(self.metrics_key, "events_applied", handled.outcome.received)
            pipe.hincrby(
                self.metrics_key, f"events_applied:{self.consumer}", handled.outcome.received
            )
            pipe.hincrby(self.metrics_key, "duplicates", handled.outcome.duplicates)
            pipe.hincrby(self.metrics_key, "conflicts", handled.outcome.conflicts)
            pipe.hincrby(self.metrics_key, "dead_letters", handled.outcome.dead_letters)
            pipe.hincrby(self.metrics_key, "failed_deliveries", len(handled.failed))
            pipe.hincrbyfloat(self.metrics_key, "batch_seconds_sum", seconds)
            pipe.hset(self.metrics_key, "last_batch_seconds", f"{seconds:.6f}")
            BATCH_APPLY.record(pipe, key=self.histograms_key, values=(seconds,))
            ages = published_ages(handled.done, now=time.time())
            EVENT_LATENCY.record_counted(pipe, key=self.histograms_key, counted=ages)
            await pipe.execute()
        for entry_id, error in handled.failed.items():
            log.warning("entry failed", extra={"entry": entry_id.decode(), "error": error})
        return handled

    async def _isolate(
        self, entries: list[Entry], handled: Handled, decoded: Decoded | None = None
    ) -> None:
        try:
            outcome = await self._apply_waiting(entries, decoded)
        except (Abandoned, asyncio.CancelledError):
            raise
        except Exception as error:
            if len(entries) == 1:
                handled.failed[entries[0][0]] = describe(error)
                return
            # Split until the entry that fails stands alone; the others go through.
            middle = len(entries) // 2
            await self._isolate(entries[:middle], handled)
            await self._isolate(entries[middle:], handled)
            return
        handled.done.extend(entry_id for entry_id, _ in entries)
        handled.outcome.received += outcome.received
        handled.outcome.duplicates += outcome.duplicates
        handled.outcome.conflicts += outcome.conflicts
        handled.outcome.dead_letters += outcome.dead_letters

    async def _apply_waiting(self, entries: list[Entry], decoded: Decoded | None) -> BatchOutcome:
        runtime = self.runtime
        return await self._waiting_out_outages(
            lambda: apply_entries(
                sessions=runtime.sessions,
                entries=entries,
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=runtime.today(),
                now=runtime.now(),
                ratings=runtime.settings.ratings,
                decoded=decoded,
                max_bytes=runtime.settings.max_event_bytes,
            )
        )

    async def _waiting_out_outages(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work`, retrying with backoff while the database or network is away; give up
        (Abandoned) if shutting down meanwhile. Other errors are the work's own: raised."""
        delay = _RETRY_FIRST
        while True:
            try:
                return await work()
            except Exception as error:
                if not is_transient(error):
                    raise
                if self.stopping.is_set():
                    raise Abandoned from error
                log.warning(
                    "database unavailable, retrying"
                    if is_outage(error)
                    else "transactions collided, retrying",
                    extra={"error": describe(error), "retry_in": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def reclaim(self) -> int:
        """Take over entries left pending too long (a crashed or stuck worker, or a failed
        entry due another try); dead-letter those that failed too often. Returns how many."""
        settings = self.runtime.settings
        total = 0
        start = "0-0"
        while not self.stopping.is_set():
            # [next start, entries] on Redis 6.2 (the embedded server), plus deleted ids on 7+.
            claimed_reply = await self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=settings.reclaim_idle_ms,
                start_id=start,
                count=settings.batch_size,
            )
            start_next, claimed = claimed_reply[0], claimed_reply[1]
            entries: list[Entry] = [(i, f) for i, f in claimed if f is not None]
            if entries:
                total += len(entries)
                await self._redeliver(entries)
            start = start_next.decode() if isinstance(start_next, bytes) else str(start_next)
            if start == "0-0":
                break
        return total

    async def _redeliver(self, entries: list[Entry]) -> None:
        """Dead-letter the entries that have failed `max_deliveries` times of their own fault;
        hand the rest to `handle` again. XPENDING's delivery count is not the measure: each
        reclaim adds to it, so reclaims through a long outage would use it up."""
        settings = self.runtime.settings
        counted = await self.redis.hmget(self.faults_key, [i for i, _ in entries])
        faults = {e[0]: int(n or 0) for e, n in zip(entries, counted, strict=True)}
        spent = [e for e in entries if faults[e[0]] >= settings.max_deliveries]
        again = [e for e in entries if faults[e[0]] < settings.max_deliveries]
        await self.redis.hincrby(self.metrics_key, "reclaimed", len(entries))
        if spent:
            await self._give_up(spent, faults)
        if again:
            await self.handle(again)

    async def _give_up(self, entries: list[Entry], faults: Mapping[bytes, int]) -> None:
        errors = await self.redis.hmget(self.failures_key, [i for i, _ in entries])
        letters = [
            DeadLetter(
                origin="stream",
                stream_entry_id=entry_id.decode(),
                reason=(
                    f"gave up after {faults[entry_id]} failed deliveries; last error: "
                    f"{_str(error) or 'unknown'}"
                ),
                raw=storable(fields.get(ENTRY_FIELD, repr(dict(fields)).encode())),
            )
            for (entry_id, fields), error in zip(entries, errors, strict=True)
        ]

        async def store_letters() -> None:
            async with self.runtime.sessions() as session, session.begin():
                await add_dead_letters(session=session, letters=letters, now=self.runtime.now())

        await self._waiting_out_outages(store_letters)
        ids = [entry_id for entry_id, _ in entries]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, *ids)
            pipe.hdel(self.failures_key, *ids)
            pipe.hdel(self.faults_key, *ids)
            pipe.hincrby(self.metrics_key, "dead_letters", len(ids))
            await pipe.execute()
        log.error("entries dead-lettered after repeated failures", extra={"count": len(ids)})


def _str(value: bytes | str | None) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
