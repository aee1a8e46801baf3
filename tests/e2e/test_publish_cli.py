"""`followup publish` as a process: bytes on standard input, a line to resume from, and the
database left alone while every line is valid."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import FOLLOWUP, Followup
from tests.factories import letter_due

pytestmark = pytest.mark.e2e


def valid(number: int) -> bytes:
    event = {**letter_due("2018-02-01", victim_id=f"V{number}"), "id": f"line-{number}"}
    return json.dumps(event).encode()


def followup_on(tmp_path: Path, redis_server: str, namespace: str, **more: str) -> Followup:
    return Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
            **more,
        },
        tmp_path,
    )


def publish_stdin(followup: Followup, data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [FOLLOWUP, "publish", "-", *args],
        input=data,
        env=followup.env,
        cwd=followup.cwd,
        capture_output=True,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_invalid_utf8_on_stdin_is_one_rejected_line(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = followup_on(tmp_path, redis_server, namespace)
    data = b"\xef\xbb\xbf" + valid(1) + b"\n" + b'{"id": "caf\xe9"}\r\n' + valid(3) + b"\n"
    done = publish_stdin(followup, data)
    assert done.returncode == 1, done.stderr
    assert "line 2: rejected: not valid UTF-8 (invalid continuation byte at byte 11)" in done.stderr
    assert "published 2 events" in done.stderr and "rejected 1 lines" in done.stderr
    [letter] = followup.json("dead-letters", "list", "--json")
    assert (letter["origin"], letter["line"]) == ("publish", 2)
    assert letter["reason"].startswith("not valid UTF-8")


def test_valid_lines_need_no_database_and_a_rejected_one_says_why_it_does(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = followup_on(
        tmp_path, redis_server, namespace, FOLLOWUP_DATABASE_URL="postgresql://127.0.0.1:1/x"
    )
    done = publish_stdin(followup, valid(1) + b"\n" + valid(2) + b"\n")
    assert done.returncode == 0, done.stderr
    assert "published 2 events" in done.stderr

    done = publish_stdin(followup, valid(1) + b"\nnot json\n")
    assert done.returncode == 4, done.stderr
    assert (
        "stopped at line 1: line 2 was rejected and must be kept as a dead letter, but the "
        "database (postgresql+asyncpg://127.0.0.1:1/x) cannot be reached" in done.stderr
    )
    assert "resume with `followup publish - --from-line 1`" in done.stderr


def test_from_line_skips_the_lines_before_it_and_keeps_their_numbers(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = followup_on(tmp_path, redis_server, namespace)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([valid(1), b"bad one", valid(3), b"bad two", valid(5)]))
    done = followup.run("publish", str(events), "--from-line", "3", check=False)
    assert done.returncode == 1, done.stderr
    assert "line 4: rejected: not valid JSON" in done.stderr
    assert "line 2" not in done.stderr
    assert "published 2 events" in done.stderr
    assert [d["line"] for d in followup.json("dead-letters", "list", "--json")] == [4]
    assert followup.run("publish", str(events), "--from-line", "0", check=False).returncode == 2


def test_redis_unreachable_stops_with_the_line_to_resume_from(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = followup_on(tmp_path, "redis://127.0.0.1:1/0", namespace)
    events = tmp_path / "events.jsonl"
    events.write_bytes(valid(1) + b"\n" + valid(2) + b"\n")
    done = followup.run("publish", str(events), "--from-line", "2", check=False)
    assert done.returncode == 4, done.stderr
    assert "stopped at line 2: Redis failed while publishing (ConnectionError" in done.stderr
    assert f"resume with `followup publish {events} --from-line 2`" in done.stderr
