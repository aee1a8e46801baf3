"""`followup publish` and `dead-letters replay` as processes, on the strict wire types
(docs/contract.md, section 1, "Decisions: strict wire types")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup
from tests.factories import event, letter_due

pytestmark = pytest.mark.e2e


def test_publish_refuses_conversions_naming_the_field(
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
    yes = {**letter_due("2018-02-01", victim_id="V2"), "id": "enhanced-yes"}
    yes["data"]["enhanced"] = "yes"
    epoch = {**letter_due("2018-02-01", victim_id="V3"), "time": "1500000000"}
    staff = event(
        "staff-updated",
        "2018-01-02T09:00:00+00:00",
        staff_id="P-1",
        name="Ada Okafor",
        email="a@x.example>, <b@y.example",
        role="prosecutor",
        area="thames-and-chiltern",
    )
    not_utf8 = json.dumps(letter_due("2018-02-01", victim_id="V4")).encode()
    lines = [
        b"\xef\xbb\xbf" + json.dumps(letter_due("2018-02-01")).encode(),  # as Notepad saves it
        json.dumps(yes).encode(),
        json.dumps(epoch).encode(),
        json.dumps(staff).encode(),
        not_utf8.replace(b'"V4"', b'"V\xff"'),
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")

    done = followup.run("publish", str(events), check=False)
    assert done.returncode == 1
    said = " ".join(done.stderr.split())  # the console wraps long lines
    boolean = 'expected a JSON boolean (true or false), got the string "yes"'
    assert f"line 2: rejected: data.enhanced: {boolean}" in said
    assert "line 3: rejected: time: expected an RFC 3339 date-time string with an offset" in said
    assert 'got the string "1500000000"' in said
    assert "line 4: rejected: data.email: expected one plain address" in said
    assert "line 5: rejected: not valid UTF-8 (invalid start byte at byte" in said
    assert "published 1 events" in said and "rejected 4 lines" in said

    letters = followup.json("dead-letters", "list", "--json")
    assert [(d["line"], d["field"]) for d in letters] == [
        (2, "data.enhanced"),
        (3, "time"),
        (4, "data.email"),
        (5, None),
    ]
    enhanced = next(d["id"] for d in letters if d["line"] == 2)
    replay = followup.run("dead-letters", "replay", str(enhanced), check=False)
    assert replay.returncode == 1
    assert f"dead letter {enhanced}: still rejected: data.enhanced" in replay.stderr
