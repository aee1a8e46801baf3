"""Acting from an alert's email: signed, recipient-bound, expiring links whose GET only shows
what would happen and whose POST does it (docs/contract.md section 12, "Acting from an
email")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlmodel import col

from events import parse_event
from schemas.tables import Alert, AuditEntry
from services.access.links import alert_links
from services.platform.settings import Settings
from services.tracker.handlers import apply_events
from tests.access import shown
from tests.integration.pages_world import NOW, World, staff, world

pytestmark = pytest.mark.integration


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[World]:
    async with world(settings) as found:
        yield found


async def links_for(office: World, recipient: str, **more: object) -> dict[str, str]:
    alert = next(a for a in await office.alerts() if a["recipient"] == recipient)
    made = alert_links(
        office.runtime.settings,
        alert_id=alert["id"],
        recipient=more.pop("as_recipient", recipient),  # type: ignore[arg-type]
        obligation_ref=alert["obligation_ref"],
        now=more.pop("now", NOW),  # type: ignore[arg-type]
    )
    return {label: urlsplit(url).path for label, url in made}


async def test_each_link_shows_a_page_and_only_its_post_acts(office: World) -> None:
    links = await links_for(office, "P1")
    assert list(links) == [
        "Open",
        "Acknowledge",
        "Snooze 1 working day",
        "Snooze 3 working days",
        "Snooze 5 working days",
    ]
    assert all(path.startswith("/act/") for path in links.values())
    opened = await office.client.get(links["Open"])
    assert opened.status_code == 303 and opened.headers["location"].startswith("/o/ob-")
    posted = await office.client.post(links["Open"])
    assert posted.status_code == 303 and posted.headers["location"] == opened.headers["location"]
    page = await office.client.get(links["Acknowledge"])
    assert page.status_code == 200
    assert "Letter to the victim after a decision" in page.text and "Pat One" in page.text
    assert "V9" not in shown(page.text)
    assert await _acknowledged(office) is None  # a mail scanner's GET changed nothing
    done = await office.client.post(links["Acknowledge"])
    assert done.status_code == 200 and "Acknowledged" in done.text
    assert await _acknowledged(office) == "P1"
    async with office.runtime.sessions() as session:
        entry = (
            await session.execute(
                select(AuditEntry).where(col(AuditEntry.action) == "acknowledged")
            )
        ).scalar_one()
    assert entry.actor == "P1"
    again = await office.client.post(links["Acknowledge"])
    assert again.status_code == 400 and "acknowledged this already" in again.text


async def test_a_snooze_link_holds_the_alert_three_working_days(office: World) -> None:
    links = await links_for(office, "LM")
    page = await office.client.get(links["Snooze 3 working days"])
    assert "Escalation held until" in page.text and "Sat 13 Jan 2024 00:00" in page.text
    done = await office.client.post(links["Snooze 3 working days"])
    assert done.status_code == 200 and "Snoozed until Sat 13 Jan 2024 00:00" in done.text
    async with office.runtime.sessions() as session:
        alert = (
            await session.execute(select(Alert).where(col(Alert.recipient) == "LM"))
        ).scalar_one()
    assert alert.snoozed_by == "LM" and alert.snooze_reason == "snoozed from the email"


async def test_a_tampered_expired_or_misdirected_link_is_refused(office: World) -> None:
    good = (await links_for(office, "P1"))["Acknowledge"]
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    expired = (await links_for(office, "P1", now=NOW - timedelta(days=15)))["Acknowledge"]
    # A token naming P1 for the alert sent to LM: signed, but not for that alert's recipient.
    misdirected = (await links_for(office, "LM", as_recipient="P1"))["Acknowledge"]
    for path, why in [
        (tampered, "not valid"),
        (expired, "has expired"),
        (misdirected, "not for this alert"),
        ("/act/rubbish", "not valid"),
    ]:
        for method in ("GET", "POST"):
            reply = await office.client.request(method, path)
            assert reply.status_code == 400 and why in reply.text, (path, method)
    assert await _acknowledged(office) is None


async def test_a_leavers_link_stops_working(office: World) -> None:
    links = await links_for(office, "P1")
    gone = staff("P1", "prosecutor", "LM", "crown", "Pat One") | {"time": "2024-01-05T09:00:00Z"}
    gone["data"] = {**gone["data"], "left_date": "2024-01-09"}
    async with office.runtime.sessions() as session, session.begin():
        await apply_events(
            session=session,
            events=[parse_event(json.dumps(gone))],  # type: ignore[list-item]
            rules=office.runtime.rules,
            calendar=office.runtime.calendar,
            today=NOW.date(),
            now=NOW,
        )
    reply = await office.client.post(links["Acknowledge"])
    assert reply.status_code == 400 and "has left" in reply.text
    assert await _acknowledged(office) is None


async def _acknowledged(office: World) -> str | None:
    async with office.runtime.sessions() as session:
        alert = (
            await session.execute(select(Alert).where(col(Alert.recipient) == "P1"))
        ).scalar_one()
    return alert.acknowledged_by
