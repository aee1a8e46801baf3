"""The people's front door in a real browser (docs/contract.md section 12): sign in through the
link in the emailed message, see one's own lapses on "My work"; a legal manager sees the team's
lapses on "My team", acknowledges one from the email digest's link and sees it move. Every page
visited is screenshotted and checked with axe-core (no serious or critical violation).

The pages' contract the selectors below rely on: each page's one `h1`; a row per obligation
`tr[data-obligation-ref="<ob- reference>"]` naming the rule's title; each alert's state in
an element of class `alert-state`; an emailed action link (`GET /act/...`) opens a page with
a button "Acknowledge"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from events.outbound import obligation_ref
from services.alerts.delivery.action_links import digest_links
from services.alerts.service import AlertService
from services.platform.runtime import open_runtime
from tests.e2e.browser.conftest import Site, Visits
from tests.integration.alerting import SimClock, london
from tests.org_chart import LETTER_TITLE, Member, by_id

pytestmark = pytest.mark.e2e
SIGN_IN_SUBJECT = "Sign in to Followup"


async def test_a_prosecutor_signs_in_from_the_email_and_sees_their_lapses(
    site: Site, browser: Browser, visits: Visits
) -> None:
    me = by_id()["W-MAG-P1"]
    page = await browser.new_page()
    await sign_in(page, site, visits, me)
    await visits.visit(page, "my-work", heading="My work")
    assert await refs_shown(page) == owned_by(site, {me.staff_id})
    for row in await page.locator("tr[data-obligation-ref]").all():
        await expect(row).to_contain_text(LETTER_TITLE)


async def test_a_legal_manager_acknowledges_a_lapse_from_the_digest_and_sees_it_move(
    site: Site, browser: Browser, visits: Visits
) -> None:
    manager = by_id()["W-MAG-LM"]
    await raise_the_lapse_alerts(site)
    [digest] = [m for m in site.messages(to=manager.email) if SIGN_IN_SUBJECT not in m["Subject"]]
    page = await browser.new_page()
    await sign_in(page, site, visits, manager)
    await page.goto(f"{site.url}/team")
    await visits.visit(page, "my-team", heading="My team")
    team = {manager.staff_id, "W-MAG-P1", "W-MAG-P2"}
    assert await refs_shown(page) == owned_by(site, team)
    assert "acknowledged" not in " ".join(await alert_states(page)).lower()

    links = site.links(digest, "/act/")
    assert links, f"no action link in the digest:\n{digest}"
    await page.goto(links[0])
    await visits.visit(page, "act-confirm")
    await page.get_by_role("button", name="Acknowledge").click()
    await page.wait_for_load_state()
    await visits.visit(page, "act-done")

    await page.goto(f"{site.url}/team")
    await visits.visit(page, "my-team-after", heading="My team")
    moved = [s for s in await alert_states(page) if "acknowledged" in s.lower()]
    assert len(moved) == 1, await alert_states(page)


async def sign_in(page: Page, site: Site, visits: Visits, person: Member) -> None:
    """Ask for a link on /sign-in, open the one in the emailed message, press its button."""
    await page.goto(f"{site.url}/sign-in")
    await visits.visit(page, "sign-in", heading="Sign in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_role("button", name="Send me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("Check your email")
    await visits.visit(page, "sign-in-sent")
    [message] = await _arrived(site, person.email)
    [link] = site.links(message, "/sign-in/")
    await page.goto(link)
    await visits.visit(page, "sign-in-confirm", heading="Sign in to Followup")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site.url}/")


async def _arrived(site: Site, address: str, within: float = 10.0) -> list[Any]:
    for _ in range(int(within * 10)):
        if found := site.messages(to=address, subject=SIGN_IN_SUBJECT):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no sign-in message for {address} in {site.data_dir / 'outbox'}")


async def refs_shown(page: Page) -> set[str]:
    rows = page.locator("tr[data-obligation-ref]")
    return set(await rows.evaluate_all("rs => rs.map(r => r.dataset.obligationRef)"))


async def alert_states(page: Page) -> list[str]:
    return [t.strip() for t in await page.locator(".alert-state").all_inner_texts()]


def owned_by(site: Site, staff_ids: set[str]) -> set[str]:
    """The lapsed obligations of these people, as the command line lists them."""
    found = site.followup.json("obligations", "--json", "--state", "lapsed")
    return {obligation_ref(o["id"]) for o in found if o["owner"] in staff_ids}


async def raise_the_lapse_alerts(site: Site) -> None:
    """The alert clock, on a simulated clock: started Mon 8 Jan 2024 08:00, then at 09:00 on
    Tue 9 Jan the enhanced letters have lapsed and the first digests go out."""
    clock = SimClock(london("2024-01-08 08:00"))
    async with open_runtime(site.settings) as runtime:
        redis = Redis.from_url(site.settings.redis_url or "")
        try:
            # The links' 14 days run from the real time the browser will follow them at.
            links = digest_links(runtime.settings, now=runtime.now)
            service = AlertService(runtime, redis, now=clock, links=links)
            await service.step()
            clock.at = london("2024-01-09 09:00:01")
            await service.step()
        finally:
            await redis.aclose()
