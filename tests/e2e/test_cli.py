"""`followup serve`, `publish`, `status` and `obligations` as separate processes."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from events.outbound import obligation_ref
from tests.e2e.conftest import Followup
from tests.factories import URN, case, hearing, letter_due, letter_sent, sheet

pytestmark = pytest.mark.e2e


def week_file(path: Path) -> Path:
    events = [
        case(owner="P-1"),
        sheet("2018-05-08"),  # arrives before the hearing it closes
        hearing("held", "2018-05-04", time="2018-05-04T17:00:00+01:00", advocate="A-2"),
        letter_due("2018-05-03", enhanced=True),
        letter_due("2018-05-03", victim_id="V2"),
        letter_sent("2018-05-09", victim_id="V2"),
    ]
    lines = [json.dumps(e) for e in events]
    lines.insert(3, '{"specversion": "1.0", "type": "hearing-updated"}')  # line 4: rejected
    lines.append(json.dumps(events[0]))  # a duplicate
    path.write_text("\n".join(lines) + "\n")
    return path


def check_obligations(followup: Followup, extra: set[str]) -> None:
    rows = followup.json("obligations", "--json", "--as-of", "2018-05-20")
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {
        f"hearing-record-sheet/{URN}/H1",
        f"victim-letter/{URN}/V1",
        f"victim-letter/{URN}/V2",
        *extra,
    }
    sheet_row = by_id[f"hearing-record-sheet/{URN}/H1"]
    assert (sheet_row["due"], sheet_row["state"], sheet_row["closed_on"]) == (
        "2018-05-08",
        "met",
        "2018-05-08",
    )
    assert sheet_row["owner"] == "A-2"
    assert (by_id[f"victim-letter/{URN}/V1"]["due"], by_id[f"victim-letter/{URN}/V1"]["state"]) == (
        "2018-05-04",
        "lapsed",
    )
    # Thursday + 5 working days over the Early May bank holiday (Monday 7 May) is Friday 11 May.
    assert (by_id[f"victim-letter/{URN}/V2"]["due"], by_id[f"victim-letter/{URN}/V2"]["state"]) == (
        "2018-05-11",
        "met",
    )
    for row in rows:
        assert set(row) >= {
            "id",
            "rule",
            "key",
            "urn",
            "owner",
            "area",
            "opened_by",
            "due",
            "state",
            "closed_on",
            "explanation",
        }
    lapsed = followup.json("obligations", "--json", "--state", "lapsed", "--as-of", "2018-05-20")
    assert {row["id"] for row in lapsed} == {f"victim-letter/{URN}/V1", *extra}
    by_rule = followup.json("obligations", "--json", "--rule", "hearing-record-sheet")
    assert [row["id"] for row in by_rule] == [f"hearing-record-sheet/{URN}/H1"]
    assert followup.json("obligations", "--json", "--urn", "nothing-here") == []


def publish_and_check(
    followup: Followup, tmp_path: Path, extra: frozenset[str] | set[str] = frozenset()
) -> None:
    published = followup.run("publish", str(week_file(tmp_path / "week.jsonl")), check=False)
    assert published.returncode == 1
    assert "line 4: rejected" in published.stderr
    assert "published 7 events" in published.stderr
    status = followup.settle()
    assert status["dead_letters"] == 1
    check_obligations(followup, set(extra))


def test_serve_publish_status_obligations(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    with followup.serving():
        publish_and_check(followup, tmp_path)


def test_embedded_defaults_are_shared_and_stopped(tmp_path: Path) -> None:
    followup = Followup({"FOLLOWUP_DATA_DIR": str(tmp_path / "var")}, tmp_path)
    for name in ("FOLLOWUP_DATABASE_URL", "FOLLOWUP_REDIS_URL", "FOLLOWUP_NAMESPACE"):
        followup.env.pop(name, None)
    # Published before any consumer ever ran, by a process that started the embedded server
    # and stopped it on exit: the events must survive and be applied once `serve` starts.
    early = tmp_path / "early.jsonl"
    early.write_text(json.dumps(letter_due("2018-05-03", victim_id="V9")) + "\n")
    followup.run("publish", str(early))
    with followup.serving():
        publish_and_check(followup, tmp_path, extra={f"victim-letter/{URN}/V9"})
        registry = json.loads((tmp_path / "var" / "redis" / "dump.rdb.settings").read_text())
        redis_pid = int(Path(registry["pidfile"]).read_text())
        assert psutil.pid_exists(redis_pid)
        over_http = json.loads(followup.get("/obligations?state=lapsed"))
        # A system's read token sees references, never the victim's id (contract section 12).
        assert {row["id"] for row in over_http} == {None}
        assert obligation_ref(f"victim-letter/{URN}/V9") in {r["obligation_ref"] for r in over_http}
        exposition = followup.get("/metrics").decode()
        assert "followup_events_applied_total 7.0" in exposition
        assert "followup_dead_letter_store 1.0" in exposition
    assert (tmp_path / "var" / "followup.db").exists()
    assert not psutil.pid_exists(redis_pid) or psutil.Process(redis_pid).status() == "zombie", (
        "the embedded Redis server was left running"
    )
