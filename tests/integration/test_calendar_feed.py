"""Calendar feeds: made and stopped on *My work*, read by Outlook at a secret URL as
iCalendar, one all-day event per open obligation in the person's scope, named by its `ob-`
reference (docs/contract.md section 12, "Calendar feeds")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar as ICalendar

from events.outbound import obligation_ref
from services.platform.settings import Settings
from tests.integration.pages_world import World, world

pytestmark = pytest.mark.integration


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[World]:
    async with world(settings) as found:
        yield found


async def make_feed(office: World, who: str) -> str:
    headers, csrf = await office.signed_in(who)
    made = await office.client.post("/calendar-feeds", data={"csrf_token": csrf}, headers=headers)
    assert made.status_code == 200
    found = re.search(r'value="(http[^"]+\.ics)"', made.text)
    assert found is not None
    return urlsplit(found.group(1)).path


async def test_a_feed_lists_the_scopes_due_dates_as_all_day_events(office: World) -> None:
    path = await make_feed(office, "P1")
    reply = await office.client.get(path)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/calendar")
    events = ICalendar.from_ical(reply.content).walk("VEVENT")
    by_uid = {str(e["UID"]).split("@")[0]: e for e in events}
    letter, sheet = (
        obligation_ref("victim-letter/U9/V9"),
        obligation_ref("hearing-record-sheet/U9/H1"),
    )
    assert set(by_uid) == {letter, sheet}
    assert by_uid[letter].decoded("DTSTART") == date(2024, 1, 8)  # all day: a date, no time
    assert by_uid[letter].decoded("DTEND") == date(2024, 1, 9)
    assert str(by_uid[letter]["SUMMARY"]) == "Letter to the victim after a decision (VCL scheme) U9"
    assert letter in str(by_uid[letter]["DESCRIPTION"])
    assert b"V9" not in reply.content
    # The manager's feed has their team's (P1's); the other team's manager's has P2's only.
    managers = ICalendar.from_ical((await office.client.get(await make_feed(office, "LM"))).content)
    assert {str(e["UID"]).split("@")[0] for e in managers.walk("VEVENT")} == {letter, sheet}
    other = ICalendar.from_ical((await office.client.get(await make_feed(office, "LM2"))).content)
    assert [str(e["SUMMARY"]) for e in other.walk("VEVENT")] == [
        "Letter to the victim after a decision (VCL scheme) U7"
    ]


async def test_a_revoked_or_unknown_feed_answers_404(office: World) -> None:
    path = await make_feed(office, "P1")
    headers, csrf = await office.signed_in("P1")
    page = (await office.client.get("/", headers=headers)).text
    feed_id = re.search(r'action="/calendar-feeds/(\d+)/revoke"', page)
    assert feed_id is not None
    # Someone else cannot stop it, nor stop any other credential of theirs by its id.
    other, other_csrf = await office.signed_in("P2")
    refused = await office.client.post(
        f"/calendar-feeds/{feed_id.group(1)}/revoke", data={"csrf_token": other_csrf}, headers=other
    )
    assert refused.status_code == 404
    assert (await office.client.get(path)).status_code == 200
    stale = await office.client.post(
        f"/calendar-feeds/{feed_id.group(1)}/revoke", data={"csrf_token": "x"}, headers=headers
    )
    assert stale.status_code == 403 and (await office.client.get(path)).status_code == 200
    stopped = await office.client.post(
        f"/calendar-feeds/{feed_id.group(1)}/revoke", data={"csrf_token": csrf}, headers=headers
    )
    assert stopped.status_code == 303
    assert (await office.client.get(path)).status_code == 404
    assert (await office.client.get("/calendar/fuc_nothing.ics")).status_code == 404
    after = (await office.client.get("/", headers=headers)).text
    assert "/revoke" not in after
