"""`followup audit verify`, `audit report` and `audit statuses` as processes, after the
held-back inspection went through `publish` and `serve`; then a tampered row is named."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup
from tests.follow_up_history import (
    EXPECTED,
    INSPECTION,
    REJECTED_RATING,
    TODAY,
    shuffled_with_duplicates,
)

pytestmark = pytest.mark.e2e


def test_audit_commands_report_verify_and_name_a_tampered_entry(
    tmp_path: Path, redis_server: str, namespace: str
) -> None:
    database = tmp_path / "followup.db"
    followup = Followup(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
            "FOLLOWUP_DATABASE_URL": f"sqlite:///{database}",
            "FOLLOWUP_REDIS_URL": redis_server,
            "FOLLOWUP_NAMESPACE": namespace,
        },
        tmp_path,
    )
    events = tmp_path / "inspection.jsonl"
    lines = [*shuffled_with_duplicates(seed=3), json.dumps(REJECTED_RATING)]
    events.write_text("\n".join(lines) + "\n")
    with followup.serving():
        published = followup.run("publish", str(events), check=False)
        assert published.returncode == 1
        assert (
            f"line {len(lines)}: rejected: data.rating: 'excellent' is not one of the "
            "configured ratings" in " ".join(published.stderr.split())
        )
        followup.settle()

    as_of = TODAY.isoformat()
    statuses = followup.json("audit", "statuses", "--json", "--area", "wessex", "--as-of", as_of)
    assert {r["recommendation_id"]: r["status"] for r in statuses} == {
        rid: expected[0] for rid, expected in EXPECTED.items()
    }

    verified = followup.run("audit", "verify")
    entries = int(verified.stdout.split("audit chain ok: ")[1].split()[0])
    head = verified.stdout.split("head hash: ")[1].split()[0]
    assert entries > 20 and len(head) == 64

    page = tmp_path / "report.html"
    followup.run(
        "audit", "report", "--inspection", INSPECTION, "--format", "html", "--as-of", as_of,
        "-o", str(page),
    )  # fmt: skip
    html = page.read_text()
    assert html.startswith("<!doctype html>") and head in html
    assert html.count('class="badge at-risk"') >= 1 and "Rowena Peel" in html
    found = followup.json("audit", "report", "--inspection", INSPECTION, "--format", "json",
                          "--as-of", as_of)  # fmt: skip
    # The HTML report's read is on the trail: one entry more, chained after the head.
    assert found["chain"]["ok"] and found["chain"]["entries"] == entries + 1
    assert found["chain"]["head"] != head
    table = followup.run("audit", "report", "--inspection", INSPECTION, "--format", "csv",
                         "--as-of", as_of).stdout  # fmt: skip
    assert {r["recommendation_id"] for r in csv.DictReader(io.StringIO(table))} == set(EXPECTED)
    md = followup.run("audit", "report", "--inspection", INSPECTION, "--as-of", as_of).stdout
    assert "## Recommendation 4: **[OVERDUE]**" in md
    missing = followup.run("audit", "report", "--inspection", "NOPE", check=False)
    assert missing.returncode == 3 and "no inspection 'NOPE'; known: " in missing.stderr
    assert INSPECTION in missing.stderr

    with sqlite3.connect(database) as db:
        reads = db.execute(
            "SELECT entity_id, action, actor, caused_by, detail FROM audit_entries"
            " WHERE entity = 'audit-report' ORDER BY seq"
        ).fetchall()
    assert [json.loads(r[4])["format"] for r in reads] == ["html", "json", "csv", "md"]
    assert {(r[0], r[1], r[3]) for r in reads} == {(INSPECTION, "read", "cli audit report")}
    assert all(r[2].startswith(("os:", "os-uid:")) for r in reads)

    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER audit_entries_no_update")
        db.execute("UPDATE audit_entries SET detail = '{}' WHERE seq = 7")
    broken = followup.run("audit", "verify", check=False)
    assert broken.returncode == 1
    assert "audit chain BROKEN at entry 7: its content does not match its hash" in broken.stderr
    assert "6 entries verified before it" in broken.stderr
    assert "the entry was about " in broken.stderr  # what it recorded, in words
    report = followup.run("audit", "report", "--inspection", INSPECTION, check=False)
    assert report.returncode == 1 and "BROKEN at entry 7" in report.stdout
