"""An obligation's `ob-` reference, as an email or the tracking stream gives it, is accepted
wherever its id is: `followup explain` and GET /obligations/{id} (docs/contract.md, section 7)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from events import parse_event
from events.outbound import obligation_ref
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import open_runtime
from services.tracker.handlers import apply_events
from services.tracker.queries import find_obligation
from tests.access import bearer
from tests.factories import event
from tests.integration.alerting import SimClock, london
from tests.integration.conftest import settings_for

pytestmark = pytest.mark.integration
FOLLOWUP = str(Path(sys.executable).with_name("followup"))
LETTER = "victim-letter/U9/V9"  # its owner is told at the lapse: alerts carry its reference
COMPLAINT = "complaint-response/C1/1"  # an Area with nobody on record: an alarm, no alerts


def opening() -> list[str]:
    t = "2024-01-01T09:00:00+00:00"
    return [
        json.dumps(e)
        for e in (
            event(
                "staff-updated",
                t,
                staff_id="P1",
                name="N",
                email="p1@x.example",
                role="prosecutor",
                area="w",
                unit="crown",
                line_manager=None,
            ),
            event("case-registered", t, urn="U9", area="w", unit="crown", owner="P1"),
            event(
                "victim-letter-due",
                "2024-01-08T07:00:00+00:00",
                urn="U9",
                victim_id="V9",
                decision="no-charge",
                decision_date="2024-01-05",
                enhanced=True,
            ),
            event(
                "complaint-received",
                "2023-12-01T09:00:00+00:00",
                complaint_id="C1",
                area="nowhere",
                received_date="2023-12-01",
                stage=1,
            ),
        )
    ]


async def test_explain_and_http_accept_the_reference(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(tmp_path, database_url, redis_server, namespace)
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(redis_server)
        clock = SimClock(london("2023-11-30 08:00"))
        service = AlertService(runtime, redis, now=clock)
        await service.step()  # the clock's first start, before anything is due
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[parse_event(line) for line in opening()],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=clock.at.date(),
                now=clock.at,
            )
        clock.at = london("2024-01-09 09:00:01")
        await service.step()  # the complaint lapsed in December, the letter at 00:00 Tue 9 Jan
        api = build_api(runtime=runtime, redis=redis, today=lambda: clock.at.date())
        owner = await bearer(runtime, staff_id="P1")  # the owner sees the id itself
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://localhost"
        ) as client:
            by_ref = (
                await client.get(f"/obligations/{obligation_ref(LETTER)}", headers=owner)
            ).json()
            unknown = await client.get("/obligations/ob-0000000000000000", headers=owner)
        async with runtime.sessions() as session:
            complaint = await find_obligation(
                session=session, reference=obligation_ref(COMPLAINT), scope=None
            )
            by_id = await find_obligation(session=session, reference=COMPLAINT, scope=None)
        await redis.aclose()
    assert (by_ref["id"], by_ref["obligation_ref"]) == (LETTER, obligation_ref(LETTER))
    assert by_ref["state"] == "lapsed" and by_ref["history"][0]["kind"] == "opened"
    assert unknown.status_code == 404
    assert complaint is not None and by_id is not None
    assert complaint.id == by_id.id == COMPLAINT

    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": settings.sqlalchemy_url(),
        "FOLLOWUP_DATA_DIR": str(tmp_path),
        "FOLLOWUP_REDIS_URL": redis_server,
        "FOLLOWUP_NAMESPACE": namespace,
    }
    explained = await asyncio.to_thread(
        followup, env, "explain", obligation_ref(LETTER), "--json", "--as-of", "2024-01-09"
    )
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["id"] == LETTER


def followup(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOLLOWUP, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
