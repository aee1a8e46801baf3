"""The access matrix's checks of the people's pages (docs/contract.md section 12, "Pages",
"Acting from an email", "Calendar feeds"): each page shows exactly its caller's scope, and
another team's, unit's or Area's obligation answers as an unknown one does."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from services.access.credentials import issue
from services.access.links import ActionLink, action_token
from tests.integration.matrix_world import (
    CALLERS,
    HORIZON,
    PEOPLE,
    SYSTEMS,
    World,
    line_above,
    role_of,
    sees,
)

Check = Callable[[World], Awaitable[None]]
ROW_REF = re.compile(r'data-obligation-ref="(ob-[0-9a-f]+)"')
LINKED_REF = re.compile(r'href="/o/(ob-[0-9a-f]+)"')
FEED_UID = re.compile(r"^UID:(ob-[0-9a-f]+)@", re.MULTILINE)
UNKNOWN_REF = "ob-0000000000000000"


def to_sign_in(answer: httpx.Response, path: str) -> None:
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/sign-in?next={path}"


def same_as_unknown(answer: httpx.Response, unknown: httpx.Response, pairs: dict[str, str]) -> None:
    """Outside scope: 404 and the very words of an unknown object's answer (each name sent
    replaced by its unknown counterpart), so a caller cannot tell that it exists."""
    assert answer.status_code == 404, answer.text
    said = answer.text
    for sent, unknown_name in pairs.items():
        said = said.replace(sent, unknown_name)
    assert said == unknown.text


def not_leaking(answer: httpx.Response, obligation: dict[str, Any], sent: str = "") -> None:
    """Neither the obligation's id (a victim's id in it), case nor owner, but what was sent."""
    for secret in (obligation["id"], obligation["urn"], obligation["owner"]):
        if secret and secret not in sent:
            assert secret not in answer.text, (secret, answer.text[:500])


def worklist(world: World, caller: str) -> set[str]:
    """Open obligations of the caller's scope, lapsed or due within 10 working days."""
    return {o["ref"] for o in world.covered(caller) if o["open"] and o["due"] <= HORIZON}


async def my_work(world: World) -> None:
    for caller in CALLERS:
        answer = await world.page(caller, "/")
        if caller == "nobody":
            to_sign_in(answer, "/")
        elif caller in SYSTEMS:
            assert answer.status_code == 403, caller
        else:
            assert answer.status_code == 200, caller
            mine = {
                o["ref"]
                for o in world.obligations
                if o["owner"] == caller and o["open"] and o["due"] <= HORIZON
            }
            assert set(ROW_REF.findall(answer.text)) == mine, caller
    # The row's forms post the session's CSRF token (read by the form checks).
    page = (await world.page("W-MAG-P1", "/")).text
    assert f'name="csrf_token" value="{world.csrf["W-MAG-P1"]}"' in page


def team(path: str) -> Check:
    """*My team* and its CSV: legal managers and unit heads, exactly their scope's rows."""

    async def check(world: World) -> None:
        for caller in CALLERS:
            answer = await world.page(caller, path)
            if caller == "nobody":
                to_sign_in(answer, path)
            elif role_of(caller) in ("legal-manager", "unit-head"):
                assert answer.status_code == 200, caller
                assert refs_of(path, answer) == worklist(world, caller), caller
                bad = await world.page(caller, f"{path}?state=nonsense")
                assert bad.status_code == 400
            else:
                assert answer.status_code == 403, caller

    return check


def refs_of(path: str, answer: httpx.Response) -> set[str]:
    if path.endswith(".csv"):
        return {row["reference"] for row in csv.DictReader(io.StringIO(answer.text))}
    return set(ROW_REF.findall(answer.text))


async def my_alerts(world: World) -> None:
    for caller in CALLERS:
        answer = await world.page(caller, "/my-alerts")
        if caller == "nobody":
            to_sign_in(answer, "/my-alerts")
        elif caller in SYSTEMS:
            assert answer.status_code == 403, caller
        else:
            assert answer.status_code == 200, caller
            mine = {a["obligation_ref"] for a in world.alerts if a["recipient"] == caller}
            assert set(LINKED_REF.findall(answer.text)) == mine, caller


async def search_box(world: World) -> None:
    for caller in CALLERS:
        answer = await world.page(caller, f"/o?reference={UNKNOWN_REF}")
        if caller == "nobody":
            to_sign_in(answer, "/o")
        else:
            assert answer.status_code == 303, caller
            assert answer.headers["location"].endswith(f"/o/{UNKNOWN_REF}")


async def obligation_page(world: World) -> None:
    """By reference or id: in scope the page; outside it the unknown reference's page."""
    for caller in CALLERS:
        unknown = await world.page(caller, f"/o/{UNKNOWN_REF}")
        for o in world.sample():
            for name in (o["ref"], o["id"]):
                answer = await world.page(caller, f"/o/{name}")
                if caller == "nobody":
                    to_sign_in(answer, f"/o/{name}")
                elif o in world.covered(caller):
                    assert answer.status_code == 200, (caller, name)
                    assert o["ref"] in answer.text
                    if caller != o["owner"]:  # the victim's id is the owner's alone
                        assert o["id"] not in answer.text, (caller, o["id"])
                else:
                    same_as_unknown(answer, unknown, {name[:40]: UNKNOWN_REF})
                    not_leaking(answer, o, name)


def alert_form(action: str) -> Check:
    """Acknowledge or snooze from a page, with the session's CSRF token: the recipient or
    someone above them (303); someone who sees the alert but is not in its line 403; someone
    who does not see it the unknown alert's 404; a system 403; nobody to sign in."""
    data = {} if action == "ack" else {"reason": "in court", "days": "1"}

    async def check(world: World) -> None:
        done: set[int] = set()
        for caller in CALLERS:
            unknown = await world.form(caller, f"/alert-actions/999999/{action}", data)
            for alert in world.sample_alerts():
                if alert["id"] in done:
                    continue
                path = f"/alert-actions/{alert['id']}/{action}"
                answer = await world.form(caller, path, data)
                recipient = alert["recipient"]
                if caller == "nobody":
                    to_sign_in(answer, path)
                elif caller in SYSTEMS:
                    assert answer.status_code == 403
                elif recipient not in sees(caller):
                    said = {f"alert {alert['id']} ": "alert 999999 "}
                    same_as_unknown(answer, unknown, said)
                    assert recipient not in answer.text and alert["urn"] not in answer.text
                elif caller == recipient or caller in line_above(recipient):
                    assert answer.status_code == 303, (caller, answer.text)
                    done.add(alert["id"])
                else:
                    assert answer.status_code == 403, (caller, recipient, answer.text)
        # A stale CSRF token is refused before anything is looked at.
        stale = await world.client.post(
            f"/alert-actions/{world.sample_alerts()[0]['id']}/{action}",
            headers=world.pages["HQ-1"],
            data={**data, "csrf_token": "stale"},
        )
        assert stale.status_code == 403
        assert {a["recipient"] for a in world.alerts if a["id"] in done} >= {"W-MAG-P1"}

    return check


def link(world: World, alert: dict[str, Any], act: str, *, recipient: str | None = None) -> str:
    made = ActionLink(
        act,  # type: ignore[arg-type]
        alert["id"],
        recipient or alert["recipient"],
        alert["obligation_ref"],
        world.runtime.now() + timedelta(days=14),
        1 if act == "snooze" else 0,
    )
    return f"/act/{action_token(world.runtime.settings, made)}"


def alert_to(world: World, recipient: str) -> dict[str, Any]:
    return next(a for a in world.alerts if a["recipient"] == recipient)


async def act_confirm(world: World) -> None:
    """The token alone authorises, whoever follows it: the page says what will be done; a token
    naming someone other than the alert's recipient is refused as one for no alert is."""
    alert = alert_to(world, "W-MAG-P1")
    teammate = {**alert, "recipient": "W-MAG-P2"}
    nothing = {**alert, "id": 999999}
    for caller in CALLERS:
        shown = await world.page(caller, link(world, alert, "acknowledge"))
        assert shown.status_code == 200 and alert["obligation_ref"] in shown.text, caller
        forged = await world.page(caller, link(world, teammate, "acknowledge"))
        unknown = await world.page(caller, link(world, nothing, "acknowledge"))
        assert forged.status_code == 400 and forged.text == unknown.text, caller
        assert alert["urn"] not in forged.text and "W-MAG-P1" not in forged.text
        altered = await world.page(caller, link(world, alert, "acknowledge")[:-2] + "xx")
        assert altered.status_code == 400
    opened = await world.page("nobody", link(world, alert, "open"))
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/o/{alert['obligation_ref']}"
    # Following it as someone else gets the unknown obligation's page.
    other = await world.page("W-CCP", opened.headers["location"])
    assert other.status_code == 200  # W-CCP's Area
    outside = await world.client.get(opened.headers["location"], headers=world.as_page("HMI-1"))
    assert outside.status_code == 404


async def act_done(world: World) -> None:
    """POST does it, as the recipient; a forged recipient changes nothing. On alerts of people
    outside the sample, so the other checks of the shared world see theirs unacknowledged."""
    alert = alert_to(world, "W-CRN-P2")
    forged = await world.client.post(link(world, {**alert, "recipient": "W-CRN-P1"}, "acknowledge"))
    assert forged.status_code == 400
    assert await state(world, alert["id"]) == ("sent", None)
    done = await world.client.post(link(world, alert, "acknowledge"))
    assert done.status_code == 200, done.text
    assert await state(world, alert["id"]) == ("acknowledged", "W-CRN-P2")
    again = await world.client.post(link(world, alert, "acknowledge"))
    assert again.status_code == 400
    other = alert_to(world, "M-CRN-P2")
    snoozed = await world.client.post(link(world, other, "snooze"))
    assert snoozed.status_code == 200, snoozed.text
    found = next(a for a in (await world.get("HQ-1", "/alerts")).json() if a["id"] == other["id"])
    assert (found["snoozed_by"], found["snooze_reason"]) == ("M-CRN-P2", "snoozed from the email")


async def state(world: World, alert_id: int) -> tuple[str, str | None]:
    found = next(a for a in (await world.get("HQ-1", "/alerts")).json() if a["id"] == alert_id)
    return found["state"], found["acknowledged_by"]


async def feed_of(world: World, staff_id: str) -> str:
    now = world.runtime.now()
    async with world.runtime.sessions() as session, session.begin():
        secret, _ = await issue(
            session=session,
            kind="calendar-feed",
            scope="staff",
            now=now,
            expires_at=now + timedelta(days=1),
            staff_id=staff_id,
        )
    return f"/calendar/{secret}.ics"


def in_feed(world: World, answer: httpx.Response, owner: str) -> None:
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/cal")
    expected = {o["ref"] for o in world.covered(owner) if o["open"]}
    assert set(FEED_UID.findall(answer.text)) == expected, owner
    for o in world.obligations:  # never a victim's id, nor another scope's case
        assert o["id"] not in answer.text
        if o["ref"] not in expected and o["urn"]:
            assert o["urn"] not in answer.text


async def calendar(world: World) -> None:
    """A feed holds its owner's scope whoever fetches it; an unknown one is 404."""
    for person in PEOPLE:
        in_feed(world, await world.page("nobody", await feed_of(world, person)), person)
    for caller in CALLERS:
        unknown = await world.page(caller, "/calendar/fuc_not-a-feed.ics")
        assert unknown.status_code == 404
    # An API token is not a feed's secret.
    token = world.headers["HQ-1"]["Authorization"].removeprefix("Bearer ")
    assert (await world.page("nobody", f"/calendar/{token}.ics")).status_code == 404


async def calendar_feed_made(world: World) -> None:
    for caller in CALLERS:
        answer = await world.form(caller, "/calendar-feeds", {})
        if caller == "nobody":
            to_sign_in(answer, "/calendar-feeds")
        elif caller in SYSTEMS:
            assert answer.status_code == 403
        else:
            assert answer.status_code == 200, caller
            url = re.search(r"https?://[^\s<\"]+/calendar/fuc_[^\s<\"]+\.ics", answer.text)
            assert url, answer.text
            path = "/calendar/" + url.group(0).split("/calendar/")[1]
            in_feed(world, await world.page("nobody", path), caller)
    stale = await world.client.post(
        "/calendar-feeds", headers=world.pages["W-MAG-P1"], data={"csrf_token": "stale"}
    )
    assert stale.status_code == 403


async def calendar_feed_revoked(world: World) -> None:
    """Only one's own feed: another person's is unknown to them, and keeps working."""
    mine = await feed_of(world, "W-MAG-P1")
    async with world.runtime.sessions() as session:
        from services.access.credentials import list_credentials

        feeds = await list_credentials(
            session=session, kinds=("calendar-feed",), staff_id="W-MAG-P1"
        )
    feed_id = max(f.id for f in feeds if f.id is not None)
    path = f"/calendar-feeds/{feed_id}/revoke"
    for caller in CALLERS:
        if caller == "W-MAG-P1":
            continue
        answer = await world.form(caller, path, {})
        if caller == "nobody":
            to_sign_in(answer, path)
        elif caller in SYSTEMS:
            assert answer.status_code == 403
        else:
            assert answer.status_code == 404, caller
            assert (await world.page("nobody", mine)).status_code == 200
    done = await world.form("W-MAG-P1", path, {})
    assert done.status_code == 303
    assert (await world.page("nobody", mine)).status_code == 404
