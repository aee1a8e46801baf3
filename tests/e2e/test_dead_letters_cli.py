"""`followup dead-letters list|show|replay|discard` as processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup
from tests.factories import letter_due

pytestmark = pytest.mark.e2e


def test_list_show_replay_discard(tmp_path: Path, redis_server: str, namespace: str) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    bad = {**letter_due("2018-02-30", time="2018-02-28T12:00:00+00:00"), "id": "bad-date"}
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(letter_due("2018-02-01")) + "\n" + json.dumps(bad) + "\n")
    assert followup.run("publish", str(events), check=False).returncode == 1

    [letter] = followup.json("dead-letters", "list", "--json")
    assert (letter["origin"], letter["line"], letter["field"]) == (
        "publish",
        2,
        "data.decision_date",
    )
    shown = followup.run("dead-letters", "show", str(letter["id"])).stdout
    assert "reason:" in shown and '"id": "bad-date"' in shown

    replay = followup.run("dead-letters", "replay", str(letter["id"]), check=False)
    assert replay.returncode == 1
    assert f"dead letter {letter['id']}: still rejected: data.decision_date" in replay.stderr
    assert followup.run("dead-letters", "replay", check=False).returncode == 2  # ids or --all

    followup.run("dead-letters", "discard", str(letter["id"]))
    assert followup.json("dead-letters", "list", "--json") == []
    [kept] = followup.json("dead-letters", "list", "--status", "all", "--json")
    assert kept["status"] == "discarded"
    assert followup.json("status", "--json")["dead_letters"] == 0
    missing = followup.run("dead-letters", "discard", "999", check=False)
    assert missing.returncode == 1 and "dead letter 999: not found or not dead" in missing.stderr


def test_a_conflicting_duplicate_is_listed_shown_counted_and_only_discarded(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    opened = letter_due("2018-02-01")
    twin = {**opened, "data": {**opened["data"], "decision_date": "2018-03-01"}}
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps(opened) + "\n")
    second.write_text(json.dumps(twin) + "\n" + json.dumps(opened) + "\n")
    with followup.serving():
        followup.run("publish", str(first))
        followup.settle()
        followup.run("publish", str(second))  # valid lines: publish itself sees no conflict
        status = followup.settle()
        exposition = followup.get("/metrics").decode()
    assert (status["dead_letters"], status["conflicts"]) == (1, 1)
    assert "followup_conflict_store 1.0" in exposition
    assert "followup_conflicts_total 1.0" in exposition
    assert "conflicts: 1" in followup.run("status").stdout

    followup.env["COLUMNS"] = "300"  # the table on one line per row
    listed = followup.run("dead-letters", "list").stdout
    assert f"conflict event {opened['source']} {opened['id']}" in listed
    assert "data.decision_date" in listed
    [letter] = followup.json("dead-letters", "list", "--json")
    assert (letter["origin"], letter["event_id"]) == ("conflict", opened["id"])

    shown = followup.run("dead-letters", "show", str(letter["id"])).stdout
    received, _, stored = shown.partition("stored (this stands):")
    assert '"decision_date": "2018-03-01"' in received.partition("raw:")[2]
    assert '"decision_date": "2018-02-01"' in stored

    replay = followup.run("dead-letters", "replay", str(letter["id"]), check=False)
    assert replay.returncode == 1
    assert f"dead letter {letter['id']}: skipped: a conflicting duplicate" in replay.stderr
    followup.run("dead-letters", "discard", str(letter["id"]))
    status = followup.json("status", "--json")
    assert (status["dead_letters"], status["conflicts"]) == (0, 0)
