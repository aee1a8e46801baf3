"""Hand-written histories covering every rule of the default pack, through the real pipeline.

Each tests/histories/*.jsonl file is one scenario, written as a case management system or an
inspection team would send it (contract sections 1 and 2). tests/histories/expected.json holds
every obligation they must produce as of one date, worked out by hand from the contract's
calendar semantics and rule pack (sections 3 and 4), never from the rules engine; each entry's
`why` says how its due date was reached.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.tracker.publishing import PublishReport
from tests.factories import DEFAULT_RULE_IDS
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CHECKED = ("rule", "key", "due", "state", "closed_on")
RULES = DEFAULT_RULE_IDS
SEED = 20251231


def history_lines() -> list[str]:
    """Every event line of every history file, blank lines left out."""
    found: list[str] = []
    for path in sorted(HISTORIES.glob("*.jsonl")):
        text = path.read_text(encoding="utf-8")
        found.extend(line for line in text.splitlines() if line.strip())
    return found


def expected() -> tuple[date, dict[str, dict[str, Any]]]:
    data = json.loads((HISTORIES / "expected.json").read_text(encoding="utf-8"))
    return date.fromisoformat(data["as_of"]), {o["id"]: o for o in data["obligations"]}


def event_time(line: str) -> datetime:
    return datetime.fromisoformat(json.loads(line)["time"])


def mismatches(
    report: PublishReport, found: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]
) -> list[str]:
    """Everything that differs from expected.json, one line each, so a failure shows them all."""
    problems = [
        f"line {dead.line} rejected at publish: {dead.field}: {dead.reason}"
        for dead in report.rejected
    ]
    problems += [
        f"{id_}: expected ({wanted[id_]['scenario']}) but not produced"
        for id_ in sorted(set(wanted) - set(found))
    ]
    problems += [
        f"{id_}: produced but not expected (due {found[id_]['due']}, state {found[id_]['state']})"
        for id_ in sorted(set(found) - set(wanted))
    ]
    for id_ in sorted(set(wanted) & set(found)):
        want, got = wanted[id_], found[id_]
        fields = CHECKED + (("owner",) if "owner" in want else ())
        problems += [
            f"{id_}: {field} is {got[field]!r}, expected {want[field]!r} "
            f"[{want['scenario']}: {want['why']}]"
            for field in fields
            if got[field] != want[field]
        ]
    return problems


def test_the_histories_cover_every_rule_with_distinct_event_ids() -> None:
    _, wanted = expected()
    assert {o["rule"] for o in wanted.values()} == RULES
    states = {o["state"] for o in wanted.values()}
    assert states == {"open", "met", "met-late", "lapsed", "cancelled"}
    scenarios = {o["scenario"] for o in wanted.values()}
    assert scenarios <= {path.name for path in HISTORIES.glob("*.jsonl")}
    keys = [(e["source"], e["id"]) for e in map(json.loads, history_lines())]
    assert len(keys) == len(set(keys))


async def test_shuffled_histories_with_duplicates_give_the_expected_obligations(
    pipeline: Pipeline,
) -> None:
    as_of, wanted = expected()
    rng = random.Random(SEED)
    lines = history_lines()
    mixed = lines + rng.sample(lines, k=len(lines) // 4)  # same source+id: duplicates
    rng.shuffle(mixed)

    report = await pipeline.publish(mixed)
    await pipeline.settle()

    problems = mismatches(report, await pipeline.obligations(as_of), wanted)
    assert not problems, "\n".join(problems)


async def test_histories_in_time_order_give_the_same_obligations(pipeline: Pipeline) -> None:
    as_of, wanted = expected()
    report = await pipeline.publish(sorted(history_lines(), key=event_time))
    await pipeline.settle()

    problems = mismatches(report, await pipeline.obligations(as_of), wanted)
    assert not problems, "\n".join(problems)
