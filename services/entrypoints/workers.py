"""`followup serve --workers N`: N-1 more `serve` processes beside this one, in one group.

Each child is a whole consumer (its own name, its own reclaimer) without the HTTP API. A child
that dies is started again; SIGTERM to the parent stops them all, each finishing its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys

log = logging.getLogger("followup.workers")


class WorkerPool:
    def __init__(self, count: int) -> None:
        self.count = count
        self.children: list[subprocess.Popen[bytes]] = []
        self.watcher: asyncio.Task[None] | None = None
        self.stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "services.entrypoints.cli.main",
            "serve",
            "--no-http",
            "--workers",
            "1",
        ]
        # The same environment, so the same settings, but no decoding helper (see cli.serve).
        return subprocess.Popen(command, env={**os.environ, "FOLLOWUP_DECODE_HELPER": "false"})

    async def start(self) -> None:
        self.children = [self._spawn() for _ in range(self.count)]
        self.watcher = asyncio.create_task(self._watch())
        log.info("workers started", extra={"pids": [c.pid for c in self.children]})

    async def _watch(self) -> None:
        while not self.stopping:
            await asyncio.sleep(1.0)
            for i, child in enumerate(self.children):
                code = child.poll()
                if code is not None and not self.stopping:
                    log.warning("worker exited; starting another", extra={"code": code})
                    self.children[i] = self._spawn()

    async def stop(self) -> None:
        self.stopping = True
        if self.watcher:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                await asyncio.to_thread(child.wait, 60)
            except subprocess.TimeoutExpired:
                child.kill()
