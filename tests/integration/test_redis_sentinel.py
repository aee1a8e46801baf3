"""FOLLOWUP_REDIS_URL=redis+sentinel://... against a real Sentinel: a Redis of our own and a
sentinel watching it (both on free ports, nothing shared touched); the clients and FastStream's
broker find the master through the sentinel and read and write its streams."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from faststream.redis import StreamSub

from services.platform.broker.connect import make_broker, redis_client, sync_redis_client
from services.platform.broker.streams import ensure_group, publish_entries
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration

MASTER = "followup-test"


def _started(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, socket_timeout=2)
    deadline = time.monotonic() + 30
    while True:
        try:
            if client.ping():
                break
        except redis.exceptions.ConnectionError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"nothing answers on port {port}"
        time.sleep(0.05)
    client.close()
    return process


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    redis_port, sentinel_port = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {redis_port} 1\n"
    )
    server = _started(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        redis_port, tmp_path / "redis.log",
    )  # fmt: skip
    sentinel = _started(
        ["redis-server", str(conf), "--sentinel"], sentinel_port, tmp_path / "sentinel.log"
    )
    try:
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/{MASTER}/0"
    finally:
        for process in (sentinel, server):
            process.kill()
            process.wait(timeout=30)


async def test_the_master_is_found_through_the_sentinel(sentinel_url: str) -> None:
    blocking = sync_redis_client(sentinel_url, socket_timeout=5)
    try:
        assert blocking.ping()
        assert blocking.info("replication")["role"] == "master"
    finally:
        blocking.close()
    client = redis_client(sentinel_url)
    broker = make_broker(sentinel_url)
    seen: list[dict[str, str]] = []
    arrived = asyncio.Event()

    @broker.subscriber(stream=StreamSub("s:events", group="s:tracker", consumer="c1"))
    async def take(body: dict[str, str]) -> None:
        seen.append(body)
        arrived.set()

    try:
        await ensure_group(client, stream="s:events", group="s:tracker")
        await broker.start()
        await publish_entries(client, stream="s:events", payloads=[b'{"n": 1}'])
        await asyncio.wait_for(arrived.wait(), 30)
        assert await client.xlen("s:events") == 1
    finally:
        await broker.stop()
        await client.aclose()
    assert seen == [{"event": '{"n": 1}'}]
