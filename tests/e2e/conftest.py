from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

FOLLOWUP = str(Path(sys.executable).with_name("followup"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Followup:
    """Runs `followup` commands as separate processes with one environment."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = {**os.environ, **env}
        self.cwd = cwd
        self.port = 0
        self._token: str | None = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [FOLLOWUP, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"followup {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def get(self, path: str) -> bytes:
        """GET from `serve` with a system's read token made by `followup tokens create`."""
        if self._token is None:
            self._token = self.run(
                "tokens", "create", "--system", "e2e", "--scope", "read"
            ).stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {self._token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            body: bytes = reply.read()
        return body

    def settle(self, within: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while (status := self.json("status", "--json"))["lag"] > 0:
            assert time.monotonic() < deadline, f"events still unapplied: {status}"
            time.sleep(0.3)
        return dict(status)

    def applied_by_consumer(self) -> dict[str, int]:
        """Events each consumer (worker process) applied, from the metrics kept in Redis."""
        namespace = self.env.get("FOLLOWUP_NAMESPACE", "followup")
        client = redis.Redis.from_url(self.env["FOLLOWUP_REDIS_URL"])
        try:
            metrics = client.hgetall(f"{namespace}:metrics")
        finally:
            client.close()
        prefix = b"events_applied:"
        return {
            k.decode().removeprefix(prefix.decode()): int(v)
            for k, v in metrics.items()
            if k.startswith(prefix)
        }

    @contextmanager
    def serving(self, *extra: str, port: int | None = None) -> Iterator[subprocess.Popen[str]]:
        """`port`: one chosen beforehand (e.g. named in FOLLOWUP_PUBLIC_URL); default a free one."""
        port = self.port = port or free_port()
        log = (self.cwd / "serve.log").open("w")
        server = subprocess.Popen(
            [FOLLOWUP, "serve", "--port", str(port), *extra],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_for_port(port, server)
            yield server
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                code: int | None = server.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                server.kill()
                log.close()
            said = (self.cwd / "serve.log").read_text()[-3000:]
            assert code is not None, f"serve still running {STOP_SECONDS} s after SIGTERM:\n{said}"
            assert code == 0, said


# How long `serve` may take to stop on SIGTERM: it finishes its batch first, and the suite's
# processes share two cores.
STOP_SECONDS = 60


def _wait_for_port(port: int, server: subprocess.Popen[str], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert server.poll() is None, "followup serve exited during start-up"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("followup serve did not open its HTTP port")
