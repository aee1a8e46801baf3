"""Police file quality and the Disclosure Record Sheet through the real pipeline (Redis
Streams, the consumer, SQLite and PostgreSQL): held-back events published shuffled, with
duplicates and in several batches, give exactly the expected obligations; the monthly and
quarterly packs show the measures (docs/contract.md sections 2, 4 and 9, "Added"); `explain`
gives the rules' sources. Expected values worked out by hand in the comments.

November 2026 has no bank holiday; judged on Tuesday 1 December 2026."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.platform.settings import Settings
from services.rules.calendar import Calendar
from services.rules.packfile import load_pack
from services.summaries.packs.build import build_pack
from services.summaries.packs.periods import PackPeriod
from services.summaries.packs.render import pack_json, render_pack
from services.tracker.queries import explain_obligation
from tests.factories import case, event, lines
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

EOE, TC = "east-of-england", "thames-and-chiltern"
U1, U2, U3 = "42EE0026001", "42EE0026002", "43TC0026003"
JUDGED_ON = date(2026, 12, 1)
NOV, Q4 = PackPeriod.parse("2026-11"), PackPeriod.parse("2026-Q4")


def staff(staff_id: str, role: str, manager: str | None) -> dict[str, Any]:
    return event("staff-updated", "2026-10-01T08:00:00+01:00", staff_id=staff_id,
                 name=f"Name {staff_id}", email=f"{staff_id.lower()}@example.test", role=role,
                 area=EOE, unit="magistrates", line_manager=manager)  # fmt: skip


def assessed(file_id: str, urn: str, force: str, on: str, *failings: str) -> dict[str, Any]:
    return event("file-quality-assessed", f"{on}T11:00:00+00:00", file_id=file_id, urn=urn,
                 force=force, stage="first-hearing", standard_met=not failings,
                 failings=list(failings), assessed_by="P-2", assessed_date=on)  # fmt: skip


def feedback(file_id: str, force: str, on: str) -> dict[str, Any]:
    return event("file-feedback-sent", f"{on}T15:00:00+00:00", file_id=file_id, force=force,
                 sent_by="P-2", sent_date=on)  # fmt: skip


def served(urn: str, stage: str, on: str) -> dict[str, Any]:
    return event("unused-material-served", f"{on}T12:00:00+00:00", urn=urn, stage=stage,
                 served_date=on)  # fmt: skip


def recorded(urn: str, stage: str, on: str) -> dict[str, Any]:
    return event("disclosure-decision-recorded", f"{on}T16:00:00+00:00", urn=urn, stage=stage,
                 recorded_by="P-1", recorded_date=on)  # fmt: skip


HISTORY = [
    staff("CCP-1", "ccp", None),
    staff("LM-1", "legal-manager", "UH-1"),
    staff("LM-2", "legal-manager", "UH-1"),
    staff("P-1", "prosecutor", "LM-1"),
    staff("P-2", "prosecutor", "LM-1"),
    staff("P-3", "prosecutor", "LM-2"),
    case(U1, time="2026-10-05T09:00:00+01:00", owner="P-1", area=EOE),
    case(U2, time="2026-10-05T09:00:00+01:00", owner="P-3", area=EOE),
    case(U3, time="2026-10-05T09:00:00+01:00", owner="P-1", area=TC),
    assessed("F1", U1, "essex", "2026-11-02"),  # met the standard: no feedback due
    assessed("F2", U1, "essex", "2026-11-02", "missing-mg6", "late"),  # due Mon 9 Nov
    feedback("F2", "essex", "2026-11-06"),  # met
    assessed("F3", U2, "kent", "2026-11-03", "missing-statements"),  # due Tue 10 Nov
    feedback("F3", "kent", "2026-11-12"),  # met late
    assessed("F4", U2, "kent", "2026-11-23", "quality"),  # due Mon 30 Nov: lapsed
    assessed("F5", U3, "essex", "2026-11-04", "late"),  # the other Area's; due Wed 11 Nov
    served(U1, "initial", "2026-11-03"),  # due Thu 5 Nov
    recorded(U1, "initial", "2026-11-05"),  # met
    served(U1, "continuing", "2026-11-16"),  # due Wed 18 Nov
    recorded(U1, "continuing", "2026-11-19"),  # met late
    served(U2, "initial", "2026-11-24"),  # due Thu 26 Nov: lapsed
    served(U2, "continuing", "2026-11-30"),  # due Wed 2 Dec: open
    served(U3, "initial", "2026-11-03"),  # the other Area's; due Thu 5 Nov: lapsed
]
EXPECTED = {
    "file-quality-feedback/F2": ("2026-11-09", "met", "P-2", EOE),
    "file-quality-feedback/F3": ("2026-11-10", "met-late", "P-2", EOE),
    "file-quality-feedback/F4": ("2026-11-30", "lapsed", "P-2", EOE),
    "file-quality-feedback/F5": ("2026-11-11", "lapsed", "P-2", TC),
    f"disclosure-record/{U1}/initial": ("2026-11-05", "met", "P-1", EOE),
    f"disclosure-record/{U1}/continuing": ("2026-11-18", "met-late", "P-1", EOE),
    f"disclosure-record/{U2}/initial": ("2026-11-26", "lapsed", "P-3", EOE),
    f"disclosure-record/{U2}/continuing": ("2026-12-02", "open", "P-3", EOE),
    f"disclosure-record/{U3}/initial": ("2026-11-05", "lapsed", "P-1", TC),
}
RULES = ("file-quality-feedback", "disclosure-record")
FOLLOWUP = str(Path(sys.executable).with_name("followup"))


@pytest.fixture
async def loaded(pipeline: Pipeline) -> Pipeline:
    shuffle = random.Random(19)
    arrival = [*HISTORY, *shuffle.sample(HISTORY, 6)]  # some delivered twice
    shuffle.shuffle(arrival)
    third = len(arrival) // 3
    for part in (arrival[:third], arrival[third : 2 * third], arrival[2 * third :]):
        report = await pipeline.publish(lines(*part))
        assert not report.rejected
    await pipeline.settle()
    return pipeline


async def test_held_back_events_give_exactly_the_expected_obligations(loaded: Pipeline) -> None:
    found: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        found |= await loaded.obligations(JUDGED_ON, rule=rule)
    assert {i: (o["due"], o["state"], o["owner"], o["area"]) for i, o in found.items()} == (
        EXPECTED
    )


async def test_explain_gives_the_rules_source_and_unconfirmed_interval(loaded: Pipeline) -> None:
    async with loaded.runtime.sessions() as session:
        for obligation_id, words in (
            ("file-quality-feedback/F3", "not meeting the required standards"),
            (f"disclosure-record/{U2}/initial", "Disclosure Record Sheet"),
        ):
            found = await explain_obligation(session=session, obligation_id=obligation_id,
                                             today=JUDGED_ON, rules=load_pack(),
                                             calendar=Calendar())  # fmt: skip
            assert found is not None
            assert found["unconfirmed"] is True
            assert words in found["source"]
            assert found["history"][0]["kind"] == "opened"


async def test_followup_explain_on_the_command_line(
    loaded: Pipeline, settings: Settings, tmp_path: Path, redis_server: str, namespace: str
) -> None:
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": settings.sqlalchemy_url(),
        "FOLLOWUP_DATA_DIR": str(tmp_path),
        "FOLLOWUP_REDIS_URL": redis_server,
        "FOLLOWUP_NAMESPACE": namespace,
    }
    command = [FOLLOWUP, "explain", "file-quality-feedback/F4", "--json", "--as-of", "2026-12-01"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["id"], found["state"], found["due"], found["unconfirmed"]) == (
        "file-quality-feedback/F4",
        "lapsed",
        "2026-11-30",
        True,
    )
    assert [w["on"] for w in found["warnings"]] == ["2026-11-26"]  # 2 working days before


def counts(due: int, met: int, late: int, lapsed: int, open_: int, pct: float | None) -> Any:
    return {"due": due, "met": met, "late": late, "lapsed": lapsed, "open": open_,
            "on_time_pct": pct}  # fmt: skip


def failings(**found: int) -> dict[str, int]:
    kinds = ("missing-mg5", "missing-statements", "missing-exhibits", "missing-mg6", "late",
             "quality", "other")  # fmt: skip
    return {k: found.get(k.replace("-", "_"), 0) for k in kinds}


async def sections(pipeline: Pipeline, period: PackPeriod) -> dict[str, Any]:
    async with pipeline.runtime.sessions() as session:
        pack = await build_pack(session=session, area=EOE, period=period, as_of=JUDGED_ON)
    for fmt in ("md", "html", "csv", "json"):
        text = render_pack(pack, fmt, chart=b"")
        assert "disclosure" in text.lower()
        assert "kent" in text
    return {s["kind"]: s for s in pack_json(pack)["sections"]}


@pytest.mark.parametrize("period", [NOV, Q4], ids=["monthly", "quarterly"])
async def test_the_packs_show_file_quality_per_force_and_disclosure_per_team(
    loaded: Pipeline, period: PackPeriod
) -> None:
    found = await sections(loaded, period)
    files = found["file-quality"]
    # essex: F1 met, F2 failed: 1 of 2 = 50.0%; feedback F2 met. (F5 is the other Area's.)
    # kent: F3, F4 failed: 0 of 2 = 0.0%; feedback F3 late, F4 lapsed.
    assert [(f["label"], f["files"], f["met_standard"], f["share_met_pct"], f["failings"],
             f["feedback"]) for f in files["by_force"]] == [
        ("essex", 2, 1, 50.0, failings(missing_mg6=1, late=1), counts(1, 1, 0, 0, 0, 100.0)),
        ("kent", 2, 0, 0.0, failings(missing_statements=1, quality=1),
         counts(2, 0, 1, 1, 0, 0.0)),
    ]  # fmt: skip
    # The Area: 1 of 4 files = 25.0%; feedback 1 met of 3 judged = 33.3%.
    total = files["total"]
    assert (total["files"], total["share_met_pct"], total["feedback"]) == (
        4,
        25.0,
        counts(3, 1, 1, 1, 0, 33.3),
    )
    disclosure = found["disclosure-records"]
    # LM-1's team (P-1): U1 initial met, continuing late: 50.0%. LM-2's (P-3): U2 initial
    # lapsed: 0.0%; U2 continuing is due 2 December: in the quarter (open), not in November.
    in_quarter = period is Q4
    assert [(r["label"], r["current"]) for r in disclosure["by_team"]] == [
        ("Name LM-1 (LM-1)", counts(2, 1, 1, 0, 0, 50.0)),
        ("Name LM-2 (LM-2)", counts(2 if in_quarter else 1, 0, 0, 1, int(in_quarter), 0.0)),
    ]
    assert disclosure["total"]["current"] == counts(
        4 if in_quarter else 3, 1, 1, 1, int(in_quarter), 33.3
    )


async def test_the_areas_leaders_see_both_sections_in_the_browser(loaded: Pipeline) -> None:
    """Through the real HTTP app: the CCP's monthly pack page holds both sections."""
    import httpx

    from services.entrypoints.http.api import build_api
    from tests.access import bearer

    api = build_api(runtime=loaded.runtime, redis=loaded.redis, today=lambda: JUDGED_ON)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ccp = await bearer(loaded.runtime, staff_id="CCP-1")
        page = await client.get(f"/area/packs?area={EOE}&month=2026-11", headers=ccp)
        assert page.status_code == 200
        assert "Police file quality (National File Standard), 2026-11" in page.text
        assert "Disclosure Record Sheet: decisions recorded on time, 2026-11" in page.text
        assert "<td>missing-mg6 1, late 1</td>" in page.text
