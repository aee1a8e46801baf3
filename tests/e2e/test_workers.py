"""`followup serve --workers N` on PostgreSQL shares the work; SQLite refuses a second writer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import FOLLOWUP, Followup
from tests.factories import case, hearing, letter_due, letter_sent, sheet

pytestmark = pytest.mark.e2e


def many_cases(count: int) -> list[str]:
    found = []
    for i in range(count):
        urn = f"43W{i:07d}"
        found += [
            case(urn, owner=f"P-{i % 7}"),
            hearing("held", "2018-05-04", time="2018-05-04T17:00:00+01:00", urn=urn),
            sheet("2018-05-08", urn=urn),
            letter_due("2018-05-03", urn=urn),
            letter_sent("2018-05-09", urn=urn),
        ]
    return [json.dumps(e) for e in found]


def test_workers_share_one_group_on_postgresql(
    tmp_path: Path, redis_server: str, postgres_url: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_DATABASE_URL": postgres_url,
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
            "FOLLOWUP_BATCH_SIZE": "100",
        },
        tmp_path,
    )
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(many_cases(1000)) + "\n")
    with followup.serving("--workers", "3") as server:
        children = psutil.Process(server.pid).children(recursive=True)
        followup.run("publish", str(events))
        status = followup.settle(within=120)
        shares = followup.applied_by_consumer()
        exposition = followup.get("/metrics").decode()
    assert status["dead_letters"] == 0
    # Every worker's observations in the one /metrics (docs/contract.md section 11).
    assert "followup_event_latency_seconds_count 5000.0" in exposition
    assert sum(shares.values()) == 5000
    assert len([n for n in shares.values() if n > 0]) >= 2, shares  # the work was shared
    rows = followup.json("obligations", "--json", "--as-of", "2018-06-01")
    assert len(rows) == 2000
    assert {row["state"] for row in rows} == {"met"}
    assert not any(child.is_running() and child.status() != "zombie" for child in children)


def test_a_second_serve_on_one_sqlite_database_is_refused(tmp_path: Path, namespace: str) -> None:
    followup = Followup(
        {"FOLLOWUP_DATA_DIR": str(tmp_path / "var"), "FOLLOWUP_NAMESPACE": namespace}, tmp_path
    )
    with followup.serving():
        second = subprocess.run(
            [FOLLOWUP, "serve", "--no-http"],
            env=followup.env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 1
    assert "SQLite has a single writer" in second.stderr
    refused = followup.run("serve", "--workers", "2", check=False)
    assert refused.returncode == 2 and "single writer" in refused.stderr
