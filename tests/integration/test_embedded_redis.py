"""The embedded Redis server: real redis-server processes, real child processes, no mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped,unused-ignore]
import pytest
import redis
import redis.asyncio as aredis
from faststream.redis import RedisBroker

from services.platform.broker.embedded import redis_url
from services.platform.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Enters redis_url for the data dir in argv[1], writes a key, prints the server pid,
# then answers each stdin line with an INCR until stdin closes.
CHILD = """
import sys
from pathlib import Path

import redis

from services.platform.broker.embedded import redis_url
from services.platform.settings import Settings

with redis_url(Settings(data_dir=Path(sys.argv[1]), redis_url=None)) as url:
    client = redis.Redis.from_url(url)
    client.set("child", "here")
    print(client.info("server")["process_id"], flush=True)
    for _ in sys.stdin:
        print(client.incr("pokes"), flush=True)
    client.close()
"""


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, redis_url=None)


def _servers(data_dir: Path) -> list[int]:
    """Live redis-server pids serving data_dir (the server runs in its data files' dir)."""
    run_dir = (data_dir / "redis").resolve()
    pids = []
    for proc in psutil.process_iter(["name", "cwd", "status"]):
        info = proc.info
        if (
            info["name"] == "redis-server"
            and info["cwd"] == str(run_dir)
            and info["status"] != psutil.STATUS_ZOMBIE
        ):
            pids.append(proc.pid)
    return pids


def _server_pid(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.info("server")["process_id"])


def _spawn(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, f"child exited early with {child.poll()}"
    return line.strip()


def _finish(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=15) == 0


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    # A failed test must not leave servers behind for the rest of the run.
    for pid in _servers(path):
        os.kill(pid, signal.SIGKILL)


async def test_url_carries_streams_and_server_stops_on_exit(data_dir: Path) -> None:
    with redis_url(_settings(data_dir)) as url:
        assert url.startswith("unix:///")
        client = aredis.from_url(url)
        entry_id = await client.xadd("followup:events", {"n": "1"})
        assert await client.xrange("followup:events") == [(entry_id, {b"n": b"1"})]
        await client.aclose()
        pid = _server_pid(url)
        assert _servers(data_dir) == [pid]
        assert (data_dir / "redis" / "dump.rdb.settings").exists()
    assert _servers(data_dir) == []
    assert not (data_dir / "redis" / "dump.rdb.settings").exists()
    assert not Path(url.removeprefix("unix://")).parent.exists()


async def test_faststream_broker_accepts_the_url(data_dir: Path) -> None:
    with redis_url(_settings(data_dir)) as url:
        broker = RedisBroker(url)
        await broker.connect()
        await broker.publish({"hello": "stream"}, stream="followup:events")
        await broker.stop()
        client = aredis.from_url(url)
        entries = await client.xrange("followup:events")
        assert entries is not None
        assert len(entries) == 1
        await client.aclose()
    assert _servers(data_dir) == []


def test_configured_url_is_used_as_is(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, redis_url="redis://127.0.0.1:6379/5")
    with redis_url(settings) as url:
        assert url == "redis://127.0.0.1:6379/5"
    assert not (data_dir / "redis").exists()


def test_deep_data_dir_does_not_break_the_socket(data_dir: Path) -> None:
    deep = data_dir / ("d" * 80) / ("e" * 80)
    with redis_url(_settings(deep)) as url, redis.Redis.from_url(url) as client:
        assert client.xadd("s", {"k": "v"})
    assert _servers(deep) == []


def test_entries_survive_a_restart(data_dir: Path) -> None:
    with redis_url(_settings(data_dir)) as url, redis.Redis.from_url(url) as client:
        entry_id = client.xadd("followup:events", {"n": "1"})
    assert (data_dir / "redis" / "dump.rdb").exists()
    assert (data_dir / "redis" / "appendonly.aof").exists()
    with redis_url(_settings(data_dir)) as url, redis.Redis.from_url(url) as client:
        assert client.xrange("followup:events") == [(entry_id, {b"n": b"1"})]


def test_second_process_shares_the_server_and_outlives_the_first(data_dir: Path) -> None:
    with redis_url(_settings(data_dir)) as url:
        pid = _server_pid(url)
        child = _spawn(data_dir)
        try:
            assert int(_read_line(child)) == pid
            with redis.Redis.from_url(url) as client:
                assert client.get("child") == b"here"
        except BaseException:
            child.kill()
            raise
    try:
        # The parent left first; the child, still connected, kept the server.
        assert _servers(data_dir) == [pid]
        assert child.stdin is not None
        child.stdin.write("poke\n")
        child.stdin.flush()
        assert _read_line(child) == "1"
        _finish(child)
    finally:
        child.kill()
    assert _servers(data_dir) == []


def test_simultaneous_starts_share_one_server(data_dir: Path) -> None:
    children = [_spawn(data_dir) for _ in range(3)]
    try:
        pids = {int(_read_line(child)) for child in children}
        assert len(pids) == 1
        assert _servers(data_dir) == list(pids)
        for child in children:
            _finish(child)
    finally:
        for child in children:
            child.kill()
    assert _servers(data_dir) == []


def test_killed_server_and_client_are_recovered_from(data_dir: Path) -> None:
    child = _spawn(data_dir)
    try:
        old_pid = int(_read_line(child))
        os.kill(old_pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert (data_dir / "redis" / "dump.rdb.settings").exists()  # stale now
    with redis_url(_settings(data_dir)) as url, redis.Redis.from_url(url) as client:
        assert _server_pid(url) != old_pid
        # Written through the AOF before the kill -9, with no clean save after it.
        assert client.get("child") == b"here"
    assert _servers(data_dir) == []


def test_server_killed_under_an_open_context(data_dir: Path) -> None:
    with redis_url(_settings(data_dir)) as url:
        with redis.Redis.from_url(url) as client:
            client.set("k", "v")
        os.kill(_server_pid(url), signal.SIGKILL)
    with redis_url(_settings(data_dir)) as url, redis.Redis.from_url(url) as client:
        assert client.get("k") == b"v"
    assert _servers(data_dir) == []
