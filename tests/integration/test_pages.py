"""The people's pages: *My work*, *My team* and its CSV, my alerts, one obligation by its
`ob-` reference, and acknowledging or snoozing from a page, for a prosecutor, their legal
manager and someone outside the team (docs/contract.md section 12, "Pages")."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import col

from events.outbound import obligation_ref
from schemas.tables import Alert
from services.alerts.clock.schedule import snooze_end
from services.platform.settings import Settings
from services.rules.calendar import Calendar
from tests.access import shown
from tests.integration.pages_world import World, world

pytestmark = pytest.mark.integration
LETTER = obligation_ref("victim-letter/U9/V9")
OTHER_LETTER = obligation_ref("victim-letter/U7/V7")


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[World]:
    async with world(settings) as found:
        yield found


async def test_my_work_shows_the_owners_lapsed_and_due_work(office: World) -> None:
    nobody = await office.client.get("/", headers={"Accept": "text/html"})
    assert nobody.status_code == 303 and nobody.headers["location"] == "/sign-in?next=/"
    headers, _ = await office.signed_in("P1")
    page = (await office.client.get("/", headers=headers)).text
    lapsed, due = page.split('id="lapsed"')[1].split('id="due"')
    assert "Letter to the victim after a decision" in lapsed and "Victim V9" in lapsed
    assert f'href="/o/{LETTER}"' in lapsed
    # Due Mon 8 Jan, lapsed at the start of Tue 9: one working day overdue, escalation to the
    # unit head at the midnight ending Tue 9.
    assert "Lapsed, 1 working day late" in lapsed
    assert (
        "Escalation, 1 working day after the lapse on Wed 10 Jan 2024 to Una Head (Unit head)"
        in lapsed
    )
    explained = (await office.client.get(f"/o/{LETTER}", headers=headers)).text
    assert "decision date 2024-01-05 + 1 working day = 2024-01-08" in explained
    assert "Hearing H1 at Leeds Crown Court (crown) on 2024-01-08" in due
    assert "Lapse alert on Wed 10 Jan 2024 to Pat One (owner), Lee Manager (line manager)" in due
    assert "U7" not in page  # P2's case
    assert '<a href="/team">' not in page  # not a manager: no My team in the menu
    manager, _ = await office.signed_in("LM")
    own = (await office.client.get("/", headers=manager)).text
    assert "Nothing of yours has lapsed." in own and '<a href="/team">My team</a>' in own


async def test_my_team_is_for_managers_and_hides_victims_ids(office: World) -> None:
    manager, _ = await office.signed_in("LM")
    page = await office.client.get("/team", headers=manager)
    assert page.status_code == 200
    assert "<h2>Pat One</h2>" in page.text and "Victim (reference held)" in page.text
    assert "V9" not in shown(page.text) and "U7" not in shown(page.text)  # another team's case
    assert 'action="/alert-actions/' in page.text
    lapsed = await office.client.get(
        "/team?state=lapsed&rule=hearing-record-sheet", headers=manager
    )
    assert "Nothing lapsed or due soon that matches." in lapsed.text
    bad = await office.client.get("/team?state=everything", headers=manager)
    assert bad.status_code == 400 and "Unknown filter" in bad.text
    prosecutor, _ = await office.signed_in("P1")
    refused = await office.client.get("/team", headers=prosecutor)
    assert refused.status_code == 403 and "for legal managers and unit heads" in refused.text


async def test_the_team_csv_has_the_filters_and_no_formula(office: World) -> None:
    manager, _ = await office.signed_in("LM2")
    reply = await office.client.get("/team.csv?rule=victim-letter", headers=manager)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [(r["reference"], r["urn"], r["state"]) for r in rows] == [(OTHER_LETTER, "U7", "open")]
    assert rows[0]["owner_name"] == "'=SUM(1)"  # neutralised: a spreadsheet shows it as text
    assert "V7" not in shown(reply.text)
    none = await office.client.get("/team.csv?rule=hearing-record-sheet", headers=manager)
    assert list(csv.DictReader(io.StringIO(none.text))) == []


async def test_an_obligation_by_reference_within_scope_only(office: World) -> None:
    for who in ("P1", "LM", "UH"):
        headers, _ = await office.signed_in(who)
        page = await office.client.get(f"/o/{LETTER}", headers=headers)
        assert page.status_code == 200, who
        assert "Letter to the victim after a decision" in page.text
        assert ("V9" in page.text) == (who == "P1")  # the owner's own case only
    outsider, _ = await office.signed_in("P2")
    hidden = await office.client.get(f"/o/{LETTER}", headers=outsider)
    unknown = await office.client.get("/o/ob-0000000000000000", headers=outsider)
    assert hidden.status_code == unknown.status_code == 404
    assert "No such obligation" in hidden.text and "U9" not in hidden.text
    owner, _ = await office.signed_in("P1")
    by_id = await office.client.get("/o/victim-letter/U9/V9", headers=owner)
    assert by_id.status_code == 200 and LETTER in by_id.text
    found = await office.client.get(f"/o?reference={LETTER}", headers=owner)
    assert found.status_code == 303 and found.headers["location"].endswith(f"/o/{LETTER}")


async def test_my_alerts_lists_mine_with_their_state(office: World) -> None:
    headers, _ = await office.signed_in("P1")
    page = (await office.client.get("/my-alerts", headers=headers)).text
    assert f'href="/o/{LETTER}"' in page and ">Sent</span>" in page
    assert page.count("<tr") == 2  # the header and P1's one alert, not LM's


async def test_acknowledge_and_snooze_from_the_team_page(office: World) -> None:
    ids = {a["recipient"]: a["id"] for a in await office.alerts()}
    manager, csrf = await office.signed_in("LM")
    ack = f"/alert-actions/{ids['P1']}/ack"
    stale = await office.client.post(ack, data={"csrf_token": "nope"}, headers=manager)
    assert stale.status_code == 403 and "Nothing was changed" in stale.text
    assert await _state(office, ids["P1"]) == (None, None)
    outsider, outsider_csrf = await office.signed_in("P2")
    hidden = await office.client.post(ack, data={"csrf_token": outsider_csrf}, headers=outsider)
    assert hidden.status_code == 404
    # The unit head sees P1's alert but is not in P1's line (P1 -> LM): refused.
    head, head_csrf = await office.signed_in("UH")
    above = await office.client.post(ack, data={"csrf_token": head_csrf}, headers=head)
    assert above.status_code == 403 and "only its recipient P1" in above.text
    done = await office.client.post(
        ack, data={"csrf_token": csrf, "back": "/team?state=lapsed"}, headers=manager
    )
    assert done.status_code == 303 and done.headers["location"] == "/team?state=lapsed"
    assert await _state(office, ids["P1"]) == ("LM", None)
    again = await office.client.post(ack, data={"csrf_token": csrf}, headers=manager)
    assert again.status_code == 409 and "already acknowledged" in again.text

    snooze = f"/alert-actions/{ids['LM']}/snooze"
    reasonless = await office.client.post(
        snooze, data={"csrf_token": csrf, "days": "3"}, headers=manager
    )
    assert reasonless.status_code == 400 and await _state(office, ids["LM"]) == (None, None)
    held = await office.client.post(
        snooze, data={"csrf_token": csrf, "days": "3", "reason": "in court"}, headers=manager
    )
    assert held.status_code == 303
    ends = snooze_end(date(2024, 1, 9), 3, Calendar())
    assert await _state(office, ids["LM"]) == (None, ends)
    page = (await office.client.get("/team", headers=manager)).text
    assert 'Lapse alert to Pat One: <strong class="alert-state">Acknowledged</strong>' in page
    assert "none: the lapse was acknowledged, so escalation has stopped" in page


async def _state(office: World, alert_id: int) -> tuple[str | None, object]:
    async with office.runtime.sessions() as session:
        alert = (await session.execute(select(Alert).where(col(Alert.id) == alert_id))).scalar_one()
    return alert.acknowledged_by, alert.snoozed_until
