"""`followup backfill` as a process (docs/contract.md section 6, "Added: backfill"): killed with
SIGKILL mid-file and run again, it ends where one uninterrupted run ends, nothing lost or
doubled; run once more it says the file is loaded; refused while `serve` holds the database."""

from __future__ import annotations

import fcntl
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.e2e.conftest import FOLLOWUP, Followup
from tests.integration.test_backfill import casework, write_lines

pytestmark = pytest.mark.e2e
BAD = {5: "{not json", 1500: "[]"}


def followup_in(directory: Path) -> Followup:
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    env = {"FOLLOWUP_DATA_DIR": str(directory), "FOLLOWUP_NAMESPACE": namespace,
           "FOLLOWUP_REDIS_URL": REDIS_URL, "FOLLOWUP_LOG_LEVEL": "WARNING"}  # fmt: skip
    return Followup(env, directory)


def counts(directory: Path) -> dict[str, object]:
    with sqlite3.connect(directory / "followup.db") as db:
        return {
            "events": db.execute("SELECT count(*) FROM events_received").fetchone()[0],
            "dead": sorted(db.execute("SELECT origin, line FROM dead_letters").fetchall()),
            "obligations": sorted(
                db.execute("SELECT id, due, state, closed_on FROM obligations").fetchall()
            ),
            "audit": db.execute("SELECT count(*) FROM audit_entries").fetchone()[0],
        }


def lines_done(directory: Path) -> int:
    try:
        with sqlite3.connect(directory / "followup.db", timeout=5) as db:
            row = db.execute("SELECT max(lines_done) FROM backfill_files").fetchone()
    except sqlite3.OperationalError:  # not made yet
        return 0
    return int(row[0] or 0)


def test_killed_mid_file_and_run_again_it_ends_as_one_run_would(tmp_path: Path) -> None:
    events = casework(1200)
    path = write_lines(tmp_path / "history.jsonl", events, bad=BAD)
    killed = tmp_path / "killed"
    killed.mkdir()
    followup = followup_in(killed)
    process = subprocess.Popen(
        [FOLLOWUP, "backfill", str(path), "--batch", "100"],
        env=followup.env,
        cwd=killed,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while lines_done(killed) < 300 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the backfill ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stopped_at = lines_done(killed)
    assert 300 <= stopped_at < len(events) + len(BAD)

    resumed = followup.run("backfill", str(path), "--batch", "100", check=False)
    assert resumed.returncode == 1, resumed.stderr  # a line was rejected (after the kill)
    assert f"resumed at line {stopped_at + 1:,}" in resumed.stdout
    assert "0 already loaded" in resumed.stdout

    clean = tmp_path / "clean"
    clean.mkdir()
    followup_in(clean).run("backfill", str(path), "--batch", "100", check=False)
    assert counts(killed) == counts(clean)
    assert counts(killed)["events"] == len(events)
    assert counts(killed)["dead"] == [("backfill", 5), ("backfill", 1500)]

    again = followup.run("backfill", str(path))
    assert "already loaded" in again.stdout


def test_refused_while_serve_holds_the_database(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "history.jsonl", casework(2), bad={})
    with (tmp_path / "followup.db.serve.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = followup_in(tmp_path).run("backfill", str(path), check=False)
    assert done.returncode == 1
    assert "another `followup serve` is writing to" in done.stderr
    assert not (tmp_path / "followup.db").exists()


def test_replay_after_a_pack_change_checks_rebuilds_and_checks_clean(tmp_path: Path) -> None:
    from tests.integration.test_replay import slower_letters

    path = write_lines(tmp_path / "history.jsonl", casework(6), bad={})
    followup = followup_in(tmp_path)
    followup.run("backfill", str(path), "--no-helper")
    assert followup.run("replay", "--from", "2024-01-01", "--check").returncode == 0

    followup.env["FOLLOWUP_RULE_PACK"] = str(slower_letters(tmp_path))
    check = followup.run("replay", "--from", "2024-01-01", "--check", check=False)
    assert check.returncode == 1
    assert "victim-letter/C0000/V1: recalculated: stored due 2024-01-09" in check.stdout
    assert "rebuilt due 2024-01-16" in check.stdout
    done = followup.run("replay", "--from", "2024-01-01")
    assert "obligations changed" in done.stdout
    assert followup.run("replay", "--from", "2024-01-01", "--check").returncode == 0
    explained = followup.json("explain", "victim-letter/C0000/V1", "--json")
    assert explained["due"] == "2024-01-16"
    assert explained["history"][-1]["caused_by"] == ["replay:2024-01-01"]
