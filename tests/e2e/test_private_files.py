"""`followup` as processes: what it writes in the data folder is its owner's alone, a file
the user names with -o keeps the user's usual mode, and uvicorn's lines on standard error are
JSON like every other."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FOLLOWUP, Followup, _wait_for_port, free_port
from tests.factories import case, letter_due

pytestmark = pytest.mark.e2e


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most users have: files 0644 unless the command says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_the_data_folder_is_private_and_a_named_output_is_not(tmp_path: Path) -> None:
    data = tmp_path / "var"
    followup = Followup({"FOLLOWUP_DATA_DIR": str(data)}, tmp_path)
    for name in ("FOLLOWUP_DATABASE_URL", "FOLLOWUP_REDIS_URL", "FOLLOWUP_NAMESPACE"):
        followup.env.pop(name, None)  # the embedded defaults: SQLite and Redis in var/
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in (case(), letter_due("2018-05-03"))] + ["not an event"]
    events.write_text("\n".join(lines) + "\n")
    # The embedded Redis writes its files in var/redis; the rejected line makes publish open
    # (create and migrate) the database to keep it.
    assert followup.run("publish", str(events), check=False).returncode == 1
    followup.run("obligations", "--json")
    kept = tmp_path / "kept.md"
    kept.write_text("old")
    kept.chmod(0o640)
    week = ("--area", "thames-and-chiltern", "--week", "2018-W18", "--as-of", "2018-05-06")
    followup.run("summary", *week, "--output", str(tmp_path / "summary.md"))
    followup.run("summary", *week, "--output", str(kept))

    assert (data / "followup.db").is_file() and (data / "redis").is_dir()
    assert mode(data) == 0o700
    found = {p.relative_to(data): mode(p) for p in data.rglob("*") if not p.is_socket()}
    assert {p for p, m in found.items() if m != (0o700 if (data / p).is_dir() else 0o600)} == set()
    assert mode(tmp_path / "summary.md") == 0o644  # the user's umask, not the data folder's
    assert mode(kept) == 0o640 and kept.read_text().startswith("# Weekly summary")


def test_uvicorns_warning_on_standard_error_is_json(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    env = {
        **os.environ,
        "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
        "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/followup.db",  # logging, not storage
        "FOLLOWUP_REDIS_URL": redis_server,
        "FOLLOWUP_NAMESPACE": namespace,
        "FOLLOWUP_ALERTS_ENABLED": "false",
        "FOLLOWUP_DECODE_HELPER": "false",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [FOLLOWUP, "serve", "--port", str(port)], env=env, cwd=tmp_path, stderr=stderr
        )
        try:
            _wait_for_port(port, server)
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn warns through its logger
                client.recv(1024)
            deadline = time.monotonic() + 30
            while '"uvicorn.error"' not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    [warned] = [e for e in entries if e["logger"] == "uvicorn.error"]
    assert warned["level"] == "warning" and "Invalid HTTP request" in warned["message"]
    assert not any(
        line.startswith(("WARNING:", "ERROR:", "INFO:")) for line in log.read_text().splitlines()
    )
