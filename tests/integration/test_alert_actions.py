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
from sqlalchemy import select
from sqlmodel import col

from events import parse_event
from schemas.tables import AuditEntry
from services.alerts.queries import list_alerts
from services.alerts.service import AlertService
from services.entrypoints.http.api import build_api
from services.platform.runtime import Runtime, open_runtime
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import bearer
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
    manager, prosecutor = await bearer(runtime, staff_id="LM"), await bearer(runtime, staff_id="P1")
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        assert (await client.get("/alerts")).status_code == 401
        listed = (await client.get("/alerts", headers=manager)).json()
        assert {(a["level"], a["recipient"], a["state"]) for a in listed} == {
            ("lapse", "P1", "sent"),
            ("lapse", "LM", "sent"),
        }
        # The prosecutor's own scope: their alert only, not their manager's.
        own = (await client.get("/alerts", headers=prosecutor)).json()
        assert {a["recipient"] for a in own} == {"P1"}
        by = {a["recipient"]: a["id"] for a in listed}
        missing = await client.post("/alerts/999999/ack", json={}, headers=manager)
        assert missing.status_code == 404
        # Outside the prosecutor's scope: the same answer as an unknown alert.
        hidden = await client.post(f"/alerts/{by['LM']}/ack", json={}, headers=prosecutor)
        assert hidden.status_code == 404 and hidden.json() == {"detail": f"no alert {by['LM']}"}
        impostor = await client.post(f"/alerts/{by['LM']}/ack", json={"by": "P1"}, headers=manager)
        assert impostor.status_code == 403
        done = await client.post(f"/alerts/{by['LM']}/ack", json={}, headers=manager)
        assert done.status_code == 200 and done.json()["state"] == "acknowledged"
        assert done.json()["acknowledged_by"] == "LM"
        again = await client.post(f"/alerts/{by['LM']}/ack", json={"by": "LM"}, headers=manager)
        assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
        no_reason = await client.post(
            f"/alerts/{by['P1']}/snooze",
            json={"reason": " ", "until": "2099-01-01T00:00:00+00:00"},
            headers=prosecutor,
        )
        assert no_reason.status_code == 409 and "reason" in no_reason.json()["detail"]
        held = await client.post(
            f"/alerts/{by['P1']}/snooze",
            json={"reason": "on leave", "until": "2099-01-01T00:00:00+00:00"},
            headers=prosecutor,
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
    # The prosecutor is below the manager, not above: refused, naming who may.
    below = followup("alerts", "ack", str(lm), "--by", "P1")
    assert below.returncode == 1 and "only its recipient LM" in below.stderr
    acked = followup("alerts", "ack", str(lm), "--by", "LM")
    assert acked.returncode == 0, acked.stderr
    assert json.loads(acked.stdout)["acknowledged_by"] == "LM"
    refused = followup(
        "alerts", "snooze", str(lm), "--by", "LM", "--reason", "x", "--until", "2000-01-01"
    )
    assert refused.returncode == 1 and "not in the future" in refused.stderr
    mine = json.loads(followup("alerts", "list", "--json", "--state", "acknowledged").stdout)
    assert [a["id"] for a in mine] == [lm]
    async with runtime.sessions() as session:
        entry = (
            await session.execute(
                select(AuditEntry).where(
                    col(AuditEntry.entity) == "alert", col(AuditEntry.action) == "acknowledged"
                )
            )
        ).scalar_one()
    assert entry.actor == "LM" and json.loads(entry.detail)["ran_by"].startswith("os")
