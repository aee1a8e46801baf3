"""`followup inspections evidence|complete|assess` as processes against `serve`: the events
they publish are applied and reported; then `audit checkpoint`, `audit verify --checkpoint`
(ok, then a follow-up row altered and the trail cut at the end, each named) and `audit harden
--print-sql`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup
from tests.factories import event, lines

pytestmark = pytest.mark.e2e

SOURCE = "/cps/thames-and-chiltern/assurance"


def inspection() -> list[str]:
    return lines(
        event(
            "inspection-published",
            "2017-07-27T09:00:00+01:00",
            id_="insp",
            source="/hmcpsi",
            inspection_id="I-1",
            title="Area assurance",
            kind="area-assurance",
            area="thames-and-chiltern",
            published_date="2017-07-27",
        ),
        event(
            "recommendation-issued",
            "2017-07-27T09:00:00+01:00",
            id_="rec-1",
            source="/hmcpsi",
            inspection_id="I-1",
            recommendation_id="R-1",
            number=1,
            kind="recommendation",
            text="Review the guidance.",
        ),
        event(
            "response-committed",
            "2017-07-27T12:00:00+01:00",
            id_="resp-1",
            source=SOURCE,
            recommendation_id="R-1",
            action_id="R-1-A",
            response="agreed",
            text="We will review the guidance.",
            owner="TC-CCP1",
            due_date="2017-12-31",
            assumed=["owner", "due_date"],
        ),
    )


def test_follow_up_recorded_from_the_command_line_and_a_checkpoint_that_catches_tampering(
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
    events.write_text("\n".join(inspection()) + "\n")
    with followup.serving():
        followup.run("publish", str(events))
        followup.settle()
        said = followup.run(
            "inspections", "evidence", "R-1-A", "--text", "Guidance v2 on the Infonet",
            "--by", "TC-CCP1", "--date", "2017-11-20",
        ).stdout  # fmt: skip
        assert "published action-evidence-recorded /followup/cli#cli-" in said
        followup.run("inspections", "complete", "R-1-A", "--by", "TC-CCP1", "--date", "2017-11-30")
        followup.run(
            "inspections", "assess", "R-1", "--rating", "achieved", "--by", "HMI-1",
            "--notes", "Seen in the file sample", "--date", "2018-05-01",
        )  # fmt: skip
        followup.settle()
        # Refused before anything is published: an unknown action, a bad rating, a future date.
        unknown = followup.run("inspections", "complete", "NOPE", "--by", "TC-CCP1", check=False)
        assert unknown.returncode == 3 and "no action 'NOPE'; known: R-1-A" in unknown.stderr
        bad = followup.run(
            "inspections", "assess", "R-1", "--rating", "excellent", "--by", "HMI-1", check=False
        )
        assert bad.returncode == 2 and "--rating" in bad.stderr
        future = followup.run(
            "inspections", "complete", "R-1-A", "--by", "TC-CCP1", "--date", "2999-01-01",
            check=False,
        )  # fmt: skip
        assert future.returncode == 2 and "--date" in future.stderr

    report = followup.json("audit", "report", "--inspection", "I-1", "--format", "json")
    rec = report["recommendations"][0]
    assert rec["status"] == "verified" and rec["rating"]["notes"] == "Seen in the file sample"
    action = rec["actions"][0]
    assert action["evidence"][0]["evidence"] == "Guidance v2 on the Infonet"
    assert action["completed_on"] == "2017-11-30"
    assert action["assumed"] == ["owner", "due_date"]
    assert report["integrity"] == {"ok": True, "problems": []}
    md = followup.run("audit", "report", "--inspection", "I-1").stdout
    assert "(assumed: owner, due date)" in md

    made = followup.json("audit", "checkpoint", "--json")
    saved = tmp_path / "checkpoint.json"
    saved.write_text(json.dumps(made))
    assert (tmp_path / "var" / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    ok = followup.run("audit", "verify", "--checkpoint", str(saved))
    assert f"checkpoint {made['checkpoint_id']} ok" in ok.stdout

    with sqlite3.connect(database) as db:
        db.execute("UPDATE action_completions SET completed_date = '2017-10-01'")
    altered = followup.run("audit", "verify", "--checkpoint", str(saved), check=False)
    assert altered.returncode == 1
    assert "action_completions row /followup/cli#" in altered.stderr
    assert "completed_date is 2017-10-01" in altered.stderr
    flagged = followup.run("audit", "report", "--inspection", "I-1", check=False)
    assert flagged.returncode == 1
    assert "Stored rows: 1 does NOT match the audit trail" in flagged.stdout
    assert "does not match the audit trail: action_completions row" in flagged.stderr

    with sqlite3.connect(database) as db:
        db.execute("UPDATE action_completions SET completed_date = '2017-11-30'")
        db.execute("DROP TRIGGER audit_entries_no_delete")
        db.execute("DELETE FROM audit_entries WHERE seq > ?", (made["entries"] - 2,))
    cut = followup.run("audit", "verify", "--checkpoint", str(made["checkpoint_id"]), check=False)
    assert cut.returncode == 1
    assert "the trail was truncated" in " ".join(cut.stderr.split())

    sql = followup.run("audit", "harden", "--print-sql", "--role", "followup_svc").stdout
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM followup_svc;" in sql
