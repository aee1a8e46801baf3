"""FOLLOWUP_REDIS_URL=redis+sentinel://... against a real Sentinel: Redis servers of our own and
a sentinel watching them (all on free ports, nothing shared touched). The clients and
FastStream's broker find the master through the sentinel and read and write its streams; a
`followup serve` goes on applying events after the master is killed and the sentinel promotes
its replica."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from faststream.redis import StreamSub

from services.platform.broker.connect import make_broker, redis_client, sync_redis_client
from services.platform.broker.streams import ensure_group, publish_entries
from tests.e2e.conftest import Followup, free_port
from tests.factories import case, hearing, lines, sheet

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


@dataclass
class Servers:
    """A master, optionally a replica of it, and one sentinel watching the master."""

    url: str  # redis+sentinel://... naming the sentinel and MASTER
    master: subprocess.Popen[bytes]
    master_port: int
    replica_port: int | None = None

    def kill_master(self) -> None:
        self.master.kill()
        self.master.wait(timeout=30)


def _redis_server(port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    # --dir: a replica's first sync writes an RDB file there, whatever --save says.
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--dir", str(log.parent), "--dbfilename", f"{log.stem}.rdb"]
    return _started([*command, "--appendonly", "no", *options], port, log)


@contextlib.contextmanager
def servers(directory: Path, *, replica: bool) -> Iterator[Servers]:
    master_port, sentinel_port = free_port(), free_port()
    started = [master := _redis_server(master_port, directory / "master.log")]
    replica_port = None
    try:
        if replica:
            replica_port = free_port()
            started.append(
                _redis_server(
                    replica_port,
                    directory / "replica.log",
                    "--replicaof",
                    "127.0.0.1",
                    str(master_port),
                )
            )
        conf = directory / "sentinel.conf"
        conf.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
        )
        started.append(
            _started(
                ["redis-server", str(conf), "--sentinel"],
                sentinel_port,
                directory / "sentinel.log",
            )
        )
        yield Servers(
            f"redis+sentinel://127.0.0.1:{sentinel_port}/{MASTER}/0",
            master,
            master_port,
            replica_port,
        )
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    with servers(tmp_path, replica=False) as found:
        yield found.url


@pytest.mark.integration
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


def _cases(first: int, count: int) -> list[str]:
    found = []
    for i in range(first, first + count):
        urn = f"43S{i:07d}"
        found += [
            case(urn),
            hearing("held", "2018-05-04", time="2018-05-04T17:00:00+01:00", urn=urn),
            sheet("2018-05-08", urn=urn),
        ]
    return lines(*found)


@pytest.mark.e2e
def test_serve_carries_on_after_the_sentinel_promotes_the_replica(
    tmp_path: Path, namespace: str
) -> None:
    with servers(tmp_path, replica=True) as found:
        followup = Followup(
            {
                "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
                "FOLLOWUP_REDIS_URL": found.url,
                "FOLLOWUP_NAMESPACE": namespace,
            },
            tmp_path,
        )
        before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
        before.write_text("\n".join(_cases(0, 50)) + "\n")
        after.write_text("\n".join(_cases(50, 50)) + "\n")
        with followup.serving():
            followup.run("publish", str(before))
            assert followup.settle(within=120)["dead_letters"] == 0
            master = redis.Redis(port=found.master_port, socket_timeout=5)
            assert master.wait(1, 5000) == 1  # the replica has every write so far
            master.close()
            found.kill_master()
            promoted = redis.Redis(port=found.replica_port, socket_timeout=5)
            deadline = time.monotonic() + 60
            while promoted.info("replication")["role"] != "master":
                assert time.monotonic() < deadline, "the sentinel did not promote the replica"
                time.sleep(0.2)
            promoted.close()
            followup.run("publish", str(after))
            status = followup.settle(within=120)
        rows = followup.json("obligations", "--json", "--as-of", "2018-06-01")
    assert status["dead_letters"] == 0
    assert len(rows) == 100 and {row["state"] for row in rows} == {"met"}
    said = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
    serving = next(entry for entry in said if entry.get("message") == "serving")
    assert serving["redis"] == f"the master {MASTER} its sentinels name"


@pytest.mark.integration
def test_doctor_says_when_the_sentinels_know_no_such_master(sentinel_url: str) -> None:
    from services.entrypoints.cli.doctor import _redis
    from services.platform.settings import Settings

    found = _redis(Settings(_env_file=None, redis_url=sentinel_url))
    assert (found.verdict, found.detail) == ("ok", sentinel_url)
    wrong = sentinel_url.replace(f"/{MASTER}/", "/no-such-master/")
    found = _redis(Settings(_env_file=None, redis_url=wrong))
    assert found.verdict == "fail"
    assert found.detail == (
        f"{wrong}: no sentinel answered with the master's address (are they up, and is that "
        "the name they monitor?); check FOLLOWUP_REDIS_URL"
    )
