"""`followup rules check`, an Area's own pack in `serve`, and `followup explain`, as processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Followup
from tests.factories import URN, case, hearing

pytestmark = pytest.mark.e2e

SHIPPED = Path(__file__).parents[2] / "services" / "rules" / "default-pack.yaml"


def followup_in(tmp_path: Path, **env: str) -> Followup:
    return Followup({"FOLLOWUP_DATA_DIR": str(tmp_path / "var"), **env}, tmp_path)


def test_rules_check_accepts_the_shipped_pack_and_names_each_error(tmp_path: Path) -> None:
    followup = followup_in(tmp_path)
    good = followup.run("rules", "check", str(SHIPPED))
    assert "15 rules, no errors" in good.stdout
    assert "custody-time-limit" in good.stdout

    bad = tmp_path / "area.yaml"
    bad.write_text(
        SHIPPED.read_text()
        .replace("due: +5 working days after decision_date", "due: +5 working days after decided")
        .replace("key: [complaint_id, stage]}", "key: [complaint_id, stag]}", 1)
        .replace("warn: [10, 5, 2]", "warn: [0]")
    )
    checked = followup.run("rules", "check", str(bad), check=False)
    assert checked.returncode == 1
    problems = " ".join(checked.stderr.split())
    assert "rule victim-letter: due: event victim-letter-due has no field 'decided'" in problems
    assert "rule complaint-response: opens.key: event complaint-received has no field 'stag'" in (
        problems
    )
    assert "rule custody-time-limit: warn: warnings are working days before due" in problems

    missing = followup.run("rules", "check", str(tmp_path / "nope.yaml"), check=False)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr


def test_an_area_pack_changes_the_interval_and_explain_shows_the_recalculation(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    area_pack = tmp_path / "thames.yaml"
    area_pack.write_text(
        SHIPPED.read_text().replace(
            "hearing_record_sheet_days:\n    value: 1", "hearing_record_sheet_days:\n    value: 2"
        )
    )
    followup = followup_in(
        tmp_path,
        FOLLOWUP_DATABASE_URL=database_url,
        FOLLOWUP_REDIS_URL=redis_server,
        FOLLOWUP_NAMESPACE=namespace,
        FOLLOWUP_RULE_PACK=str(area_pack),
    )
    first = hearing("held", "2017-12-20", time="2017-12-20T17:00:00+00:00", id_="h-1")
    corrected = hearing("held", "2017-12-21", time="2017-12-21T09:00:00+00:00", id_="h-2")
    events = tmp_path / "events.jsonl"
    with followup.serving():
        events.write_text(json.dumps(case(owner="P-1")) + "\n" + json.dumps(first) + "\n")
        followup.run("publish", str(events))
        followup.settle()
        events.write_text(json.dumps(corrected) + "\n")
        followup.run("publish", str(events))
        followup.settle()

    sheet_id = f"hearing-record-sheet/{URN}/H1"
    found = followup.json("explain", sheet_id, "--json", "--as-of", "2017-12-22")
    # +2 working days after Thursday 21 Dec 2017: Friday 22, then Wednesday 27 December.
    assert (found["due"], found["state"], found["opened_by"]) == ("2017-12-27", "open", "h-1")
    assert "skipping 25 Dec Christmas Day, 26 Dec Boxing Day" in found["explanation"]
    assert found["unconfirmed"] is True
    assert [(h["kind"], h["due_before"], h["due_after"]) for h in found["history"]] == [
        ("opened", None, "2017-12-22"),
        ("recalculated", "2017-12-22", "2017-12-27"),
    ]
    assert found["history"][1]["caused_by"] == ["/cms/thames-and-chiltern#h-2"]
    assert found["warnings"] == [{"working_days_before": 1, "on": "2017-12-22"}]

    text = followup.run("explain", sheet_id, "--as-of", "2017-12-22").stdout
    assert "recalculated" in text and "2017-12-22 -> 2017-12-27" in " ".join(text.split())
    absent = followup.run("explain", "victim-letter/none", check=False)
    assert absent.returncode == 3
    assert "no obligation 'victim-letter/none'; known: " in absent.stderr
    assert "hearing-record-sheet" in absent.stderr  # no victim letters: the rules there are
