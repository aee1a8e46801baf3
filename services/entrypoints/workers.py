"""`followup serve --workers N`: N-1 more `serve` processes beside this one, in one group.

Each child is a whole consumer (its own name, its own reclaimer) without the HTTP API. A child
that dies is started again, unless children keep failing (more than `_RESTARTS` exits with an
error status of their own within `_WINDOW`: a worker that cannot start or keeps meeting an
error it cannot handle): then the pool fails, and `serve` with it (status 1), rather than run
on short of workers for ever. A worker killed by a signal (kill -9, the out-of-memory killer)
is a fault to recover from, however often it happens. SIGTERM
to the parent stops them all, each finishing its batch; a child that does not stop cleanly
fails the pool too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("followup.workers")

_RESTARTS, _WINDOW = 5, 300.0
_STOP_SECONDS = 60


def _serve_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "services.entrypoints.cli.main",
        "serve",
        "--no-http",
        "--workers",
        "1",
    ]


class WorkerPool:
    def __init__(
        self,
        count: int,
        *,
        on_failure: Callable[[str], None] = lambda _reason: None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.count = count
        self.on_failure = on_failure
        self.command = list(command) if command is not None else _serve_command()
        self.children: list[subprocess.Popen[bytes]] = []
        self.watcher: asyncio.Task[None] | None = None
        self.stopping = False
        self.exits: list[float] = []  # when children failed (exited >0), within _WINDOW
        self.failure: str | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        # The same environment, so the same settings, but no decoding helper (see cli.serve).
        child = subprocess.Popen(
            self.command, env={**os.environ, "FOLLOWUP_DECODE_HELPER": "false"}
        )
        return child

    async def start(self) -> None:
        self.children = [self._spawn() for _ in range(self.count)]
        self.watcher = asyncio.create_task(self._watch())
        log.info("workers started", extra={"pids": [c.pid for c in self.children]})

    async def _watch(self) -> None:
        while not self.stopping:
            await asyncio.sleep(1.0)
            for i, child in enumerate(self.children):
                code = child.poll()
                if code is None or self.stopping:
                    continue
                now = time.monotonic()
                self.exits = [t for t in self.exits if now - t < _WINDOW]
                if code > 0:  # its own failure; a negative code is a signal from outside
                    self.exits.append(now)
                if len(self.exits) > _RESTARTS:
                    self._fail(
                        f"workers exited {len(self.exits)} times within {_WINDOW:g} s "
                        f"(the last, pid {child.pid}, with status {code})"
                    )
                    return
                log.warning("worker exited; starting another", extra={"code": code})
                self.children[i] = self._spawn()

    def problems(self) -> dict[str, str]:
        """For /health: the pool's failure, or how many workers are not running now."""
        if self.failure:
            return {"workers": self.failure}
        down = [c for c in self.children if c.poll() is not None]
        if down and not self.stopping:
            return {"workers": f"{len(down)} of {self.count} exited; starting again"}
        return {}

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            log.error("worker pool failed", extra={"reason": reason})
            self.on_failure(reason)

    async def stop(self) -> None:
        self.stopping = True
        if self.watcher:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        unclean: list[str] = []
        for child in self.children:
            try:
                code = await asyncio.to_thread(child.wait, _STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                code = await asyncio.to_thread(child.wait)
                unclean.append(f"pid {child.pid} killed after {_STOP_SECONDS} s")
                continue
            if code != 0:
                unclean.append(f"pid {child.pid} exited with status {code}")
        if unclean:
            self._fail(f"workers did not stop cleanly: {'; '.join(unclean)}")
