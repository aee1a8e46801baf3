"""How `followup serve` starts, as a process: a busy port refused at once with nothing left
behind, a database that refuses connections waited for (logged), and a start-up log line
saying where it listens, reads and writes; then its HTTP shell answering."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.e2e.conftest import FOLLOWUP, Followup, _wait_for_port, free_port

pytestmark = pytest.mark.e2e


def test_a_busy_port_is_refused_at_once_and_leaves_no_redis_behind(tmp_path: Path) -> None:
    followup = Followup({"FOLLOWUP_DATA_DIR": str(tmp_path / "var")}, tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        done = followup.run("serve", "--port", str(port), check=False)
    assert done.returncode == 4, done.stderr
    assert time.monotonic() - started < 30
    (line,) = done.stderr.strip().splitlines()
    assert f"HTTP port 127.0.0.1:{port} cannot be used" in line and "FOLLOWUP_HTTP_PORT" in line
    servers = [p for p in psutil.process_iter(["name", "cwd"]) if p.info["name"] == "redis-server"]
    assert not [p for p in servers if str(tmp_path) in (p.info["cwd"] or "")]
    assert not (tmp_path / "var" / "dump.rdb.settings").exists()


def _admin(statement: str) -> None:
    async def run() -> None:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(statement)
        finally:
            await admin.close()

    asyncio.run(run())


def test_serve_waits_for_a_database_refusing_connections(
    tmp_path: Path, postgres_url: str, namespace: str
) -> None:
    database = postgres_url.rpartition("/")[2]
    _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    port = free_port()
    env = {
        "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
        "FOLLOWUP_DATABASE_URL": postgres_url,
        "FOLLOWUP_REDIS_URL": REDIS_URL,
        "FOLLOWUP_NAMESPACE": namespace,
        "FOLLOWUP_DECODE_HELPER": "false",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [FOLLOWUP, "serve", "--port", str(port)],
        env={**Followup(env, tmp_path).env},
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "waiting for the database" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "no log of the wait"
            time.sleep(0.2)
        _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        _wait_for_port(port, server)
        lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
        [serving] = [line for line in lines if line.get("message") == "serving"]
        assert serving["http"] == f"http://127.0.0.1:{port}"
        assert serving["database"].endswith(f"/{database}")
        assert serving["redis"] == "127.0.0.1:6379"
        assert serving["mail"] == str((tmp_path / "var" / "outbox").resolve())
        # The HTTP shell as uvicorn serves it (docs/contract.md, section 10, "Hardening").
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            alive, ready = client.get("/healthz"), client.get("/readyz")
            rebound = client.get("/healthz", headers={"Host": "attacker.example"})
        assert (alive.status_code, ready.status_code, rebound.status_code) == (200, 200, 400)
        assert alive.headers["x-frame-options"] == "DENY"
        assert "server" not in alive.headers
    finally:
        _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        server.terminate()
        try:
            assert server.wait(timeout=60) == 0
        finally:
            server.kill()
            log.close()
