"""The seed inspections in services/audit/seeds: every line is a valid event, and what they hold
matches the published documents (counts, ratings, the recurring commitments named)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from schemas.tables import DeadLetter
from services.audit import seeds
from services.platform.settings import Settings
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Fact
from services.rules.packfile import load_pack
from services.tracker.line_reader import numbered
from services.tracker.publishing import validate_lines

SEEDS = Path(seeds.__file__).parent
LIMIT = Settings.model_fields["max_event_bytes"].default


def _events(name: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (SEEDS / name).read_text().splitlines() if line]


def test_missing_seed_files_are_an_error_not_an_empty_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seeds, "files", lambda _: tmp_path)
    with pytest.raises(seeds.SeedsMissing, match="reinstall followup"):
        seeds.seed_lines()


def test_the_package_reads_every_seed_file() -> None:
    assert [path.name for path in seeds.seed_files()] == sorted(
        path.name for path in SEEDS.glob("*.jsonl")
    )
    assert len(seeds.seed_lines()) == sum(
        1 for path in SEEDS.glob("*.jsonl") for line in path.read_text().splitlines() if line
    )


def test_every_line_of_every_seed_file_is_accepted() -> None:
    files = sorted(SEEDS.glob("*.jsonl"))
    assert len(files) == 5
    for path in files:
        text = path.read_text("utf-8").splitlines()
        results = list(validate_lines(numbered(text), max_bytes=LIMIT))
        rejected = [(d.line, d.reason) for _, d in results if isinstance(d, DeadLetter)]
        assert rejected == [], path.name
        assert len(results) == len([line for line in text if line.strip()])
    ids = [(e["source"], e["id"]) for p in files for e in _events(p.name)]
    assert len(ids) == len(set(ids))


def test_thames_and_chiltern_holds_eleven_issues_with_responses_and_ratings() -> None:
    events = _events("thames-and-chiltern-2017.jsonl")
    kinds = Counter(e["type"] for e in events)
    assert kinds == {
        "inspection-published": 1,
        "recommendation-issued": 11,
        "response-committed": 14,
    }
    inspection = events[0]["data"]
    assert inspection["ratings"] == {
        "Success of CPS People": "good",
        "Continuously Improving": "fair",
        "Casework Quality": "fair",
        "Public Confidence": "poor",
    }
    issues = [e["data"] for e in events if e["type"] == "recommendation-issued"]
    assert [i["number"] for i in issues] == list(range(1, 12))
    assert {i["kind"] for i in issues} == {"issue-to-address"}
    assert issues[0]["text"] == "Senior managers need to instil a one Area ethos."
    responded = {
        e["data"]["recommendation_id"] for e in events if e["type"] == "response-committed"
    }
    assert responded == {i["recommendation_id"] for i in issues}
    recurring = {
        e["data"]["action_id"]: e["data"]["recurrence"]
        for e in events
        if e["type"] == "response-committed" and e["data"].get("recurrence")
    }
    assert recurring == {
        "TC-2017-05-B": "weekly",
        "TC-2017-07-A": "weekly",
        "TC-2017-07-B": "monthly",
        "TC-2017-10-B": "monthly",
    }


def test_cms_finalisations_holds_seven_recommendations_and_the_quarterly_apr() -> None:
    events = _events("cms-finalisations-2017.jsonl")
    recs = [e["data"] for e in events if e["type"] == "recommendation-issued"]
    assert [r["number"] for r in recs] == list(range(1, 8))
    assert "10% check of managers' checks" in recs[3]["text"]
    recurring = sorted(
        (e["data"]["action_id"], e["data"]["recurrence"])
        for e in events
        if e["type"] == "response-committed" and e["data"].get("recurrence")
    )
    assert recurring == [
        ("CMS-2017-4-A", "monthly"),
        ("CMS-2017-4-B", "quarterly"),
        ("CMS-2017-5-A", "quarterly"),
    ]


def test_the_rule_pack_turns_every_seed_action_into_obligations() -> None:
    facts = []
    for path in sorted(SEEDS.glob("*.jsonl")):
        for _, raw in validate_lines(numbered(path.read_text().splitlines()), max_bytes=LIMIT):
            assert isinstance(raw, bytes)
            event = json.loads(raw)
            facts.append(
                Fact(event["source"], event["id"], event["type"],
                     datetime.fromisoformat(event["time"]), event["data"])
            )  # fmt: skip
    ledger = Ledger(load_pack(), Calendar())
    ledger.apply(facts, today=date(2018, 4, 30))
    by_rule = Counter(o.rule for o in ledger.obligations())
    actions = [f for f in facts if f.type == "response-committed"]
    one_off = [f for f in actions if f.data.get("due_date")]
    assert by_rule["recommendation-action"] == len(one_off) == 15
    # Weekly calls from 31 July 2017 to 31 March 2018 are 35 ISO weeks; monthly from August
    # (T&C) 8 months, from June (HQ) 10 months; quarterly from July 2017, 3 quarters.
    assert by_rule["recurring-commitment"] == 2 * 35 + 2 * 8 + 10 + 2 * 3
