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
