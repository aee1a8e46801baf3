"""Acknowledge and snooze over HTTP and from the command line; GET /alerts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from events import parse_event
from services.alerts.queries import list_alerts
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.factories import event
from tests.integration.alerting import SimClock, london

pytestmark = pytest.mark.integration
FOLLOWUP = str(Path(sys.executable).with_name("followup"))


@pytest.fixture
async def lapsed(settings: Settings) -> AsyncIterator[tuple[Runtime, Redis]]:
    """A victim letter that lapsed at 00:00 Tue 9 Jan 2024, its alerts raised."""
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(settings.redis_url or "")
        clock = SimClock(london("2024-01-08 08:00"))
        service = AlertService(runtime, redis, now=clock)
        await service.step()
        t = "2024-01-01T09:00:00+00:00"
        raw = [
            event(
                "staff-updated",
                t,
                staff_id="P1",
                name="N",
                email="p1@x",
                role="prosecutor",
                area="w",
                unit="crown",
                line_manager="LM",
            ),
            event(
                "staff-updated",
                t,
                staff_id="LM",
                name="M",
                email="lm@x",
                role="legal-manager",
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
        ]
        async with runtime.sessions() as session, session.begin():
            await apply_events(
                session=session,
                events=[parse_event(json.dumps(e)) for e in raw],  # type: ignore[misc]
                rules=runtime.rules,
                calendar=runtime.calendar,
                today=clock.at.date(),
                now=clock.at,
            )
        clock.at = london("2024-01-09 09:00:01")
        await service.step()
        yield runtime, redis
        await redis.aclose()


async def test_http_lists_acknowledges_and_snoozes(lapsed: tuple[Runtime, Redis]) -> None:
    runtime, redis = lapsed
    api = build_api(runtime=runtime, redis=redis, today=lambda: london("2024-01-09 10:00").date())
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        listed = (await client.get("/alerts")).json()
        assert {(a["level"], a["recipient"], a["state"]) for a in listed} == {
            ("lapse", "P1", "sent"),
            ("lapse", "LM", "sent"),
        }
        by = {a["recipient"]: a["id"] for a in listed}
        missing = await client.post("/alerts/999999/ack", json={"by": "LM"})
        assert missing.status_code == 404
        stranger = await client.post(f"/alerts/{by['LM']}/ack", json={"by": "NOBODY"})
        assert stranger.status_code == 409 and "NOBODY" in stranger.json()["detail"]
        done = await client.post(f"/alerts/{by['LM']}/ack", json={"by": "LM"})
        assert done.status_code == 200 and done.json()["state"] == "acknowledged"
        again = await client.post(f"/alerts/{by['LM']}/ack", json={"by": "LM"})
        assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
        no_reason = await client.post(
            f"/alerts/{by['P1']}/snooze",
            json={"by": "P1", "reason": " ", "until": "2099-01-01T00:00:00+00:00"},
        )
        assert no_reason.status_code == 409 and "reason" in no_reason.json()["detail"]
        held = await client.post(
            f"/alerts/{by['P1']}/snooze",
            json={"by": "P1", "reason": "on leave", "until": "2099-01-01T00:00:00+00:00"},
        )
        assert held.json()["state"] == "snoozed"
        assert held.json()["snooze_reason"] == "on leave"
    now = london("2024-01-09 10:00")
    async with runtime.sessions() as session:
        # Filtered before the limit: each state's one alert is found among the latest one.
        for state, expected in [("acknowledged", [by["LM"]]), ("snoozed", [by["P1"]])]:
            found = await list_alerts(session=session, now=now, state=state, limit=1)
            assert [a["id"] for a in found] == expected
        assert await list_alerts(session=session, now=now, state="sent") == []
        later = london("2099-01-02 00:00")  # the snooze has run out: sent again
        found = await list_alerts(session=session, now=later, state="sent")
        assert [a["id"] for a in found] == [by["P1"]]


async def test_command_line_lists_and_acknowledges(
    lapsed: tuple[Runtime, Redis], tmp_path: Path
) -> None:
    runtime, _ = lapsed
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": runtime.settings.sqlalchemy_url(),
        "FOLLOWUP_DATA_DIR": str(tmp_path),
        "FOLLOWUP_REDIS_URL": runtime.settings.redis_url or "",
    }

    def followup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FOLLOWUP, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    listed = json.loads(followup("alerts", "--json").stdout)
    assert {(a["recipient"], a["level"], a["obligation"]) for a in listed} == {
        ("P1", "lapse", "victim-letter/U9/V9"),
        ("LM", "lapse", "victim-letter/U9/V9"),
    }
    assert all(a["sent_at"] and a["state"] == "sent" for a in listed)
    lm = next(a["id"] for a in listed if a["recipient"] == "LM")
    acked = followup("alerts", "ack", str(lm), "--by", "LM")
    assert acked.returncode == 0, acked.stderr
    assert json.loads(acked.stdout)["acknowledged_by"] == "LM"
    refused = followup(
        "alerts", "snooze", str(lm), "--by", "LM", "--reason", "x", "--until", "2000-01-01"
    )
    assert refused.returncode == 1 and "not in the future" in refused.stderr
    mine = json.loads(followup("alerts", "list", "--json", "--state", "acknowledged").stdout)
    assert [a["id"] for a in mine] == [lm]
