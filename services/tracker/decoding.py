"""Decoding batches in a helper process, beside the consumer's event loop.

`serve` on SQLite is one thread on one core, and reading each event (pydantic's validation,
then the fact's JSON text) was a fifth to a quarter of its time. A helper process does that
part (`reading.read_outcomes`) on another core while the loop applies the batch before; the loop
then reads the facts back from their texts, all of a batch in one json.loads
(`intake.assemble`), for about a quarter of what reading them cost.

Nothing depends on the helper: if it dies or fails, the batch is decoded on the loop, as
without one, and so are the next few seconds' batches before a new helper is started. The
helper ignores SIGINT (a Ctrl-C reaches every process of the terminal's group; `serve` shuts
it down itself) and exits when `serve` does, however `serve` ends.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from services.tracker import intake, reading
from services.tracker.intake import Decoded, Entry

log = logging.getLogger("followup.decoding")

# After a helper fails, batches are decoded on the loop this long before a new one is tried:
# a helper that cannot start would otherwise be tried (and logged) for every batch.
_RESTART_SECONDS = 5.0


def _helper_started() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The helper holds both ends of its task queue's pipe, so it never reads an end of file
    # there: it watches for `serve` to exit instead, however that happens (SIGKILL included).
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


class Decoder:
    """Decodes batches in one helper process, or on the event loop where `helper` is False
    (`decode_between`, letting the batch before go on between events)."""

    def __init__(
        self,
        *,
        ratings: Sequence[str] | None,
        helper: bool,
        max_bytes: int | None = None,
        restart_after: float = _RESTART_SECONDS,
    ) -> None:
        self.ratings = list(ratings) if ratings is not None else None
        self.helper = helper
        self.max_bytes = max_bytes  # an event larger is refused with its size
        self.restart_after = restart_after
        self._pool: ProcessPoolExecutor | None = None
        self._paused_until = 0.0  # after a failure: no new helper before this (monotonic)

    async def start(self) -> None:
        """Start the helper and wait until it is ready (it imports pydantic and the wire
        contracts: half a second of CPU), rather than hold up the first batch."""
        if not self.helper:
            return
        try:
            await asyncio.wrap_future(self._read([]))
        except Exception as error:  # each batch tries again, and is decoded here meanwhile
            self._failed(error)
            return
        log.info("decoding helper ready", extra={"pid": self.helper_pid})

    @property
    def helper_pid(self) -> int | None:
        """The helper process's id, once it has started."""
        processes = self._pool._processes if self._pool is not None else None
        return next(iter(processes), None) if processes else None

    def _failed(self, error: BaseException) -> None:
        log.warning(
            "decoding helper failed; batches are decoded here until a new one starts",
            extra={"error": f"{type(error).__name__}: {error}", "retry_in": self.restart_after},
        )
        self._stop()
        self._paused_until = time.monotonic() + self.restart_after

    async def decode(self, entries: Sequence[Entry]) -> Decoded:
        if not self.helper or (self._pool is None and time.monotonic() < self._paused_until):
            return await intake.decode_between(
                entries, ratings=self.ratings, max_bytes=self.max_bytes
            )
        try:
            raws = intake.raw_events(entries, self.max_bytes)
            outcomes = await asyncio.wrap_future(self._read(raws))
        except Exception as error:  # the helper died or could not start
            self._failed(error)
            return intake.decode_entries(entries, ratings=self.ratings, max_bytes=self.max_bytes)
        return intake.assemble(entries, outcomes, ratings=self.ratings, max_bytes=self.max_bytes)

    def _read(self, raws: list[bytes]) -> Future[list[reading.Outcome]]:
        if self._pool is None:
            # "spawn": a fork of this process would copy its threads' locks mid-use.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_helper_started,
            )
        return self._pool.submit(reading.read_outcomes, raws, self.ratings)

    def close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
