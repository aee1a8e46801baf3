"""What the browser tests do again and again: sign in through the emailed link, read the rows
and alert states a page shows, and run the alert clock that sends the digests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

from playwright.async_api import Page, expect
from redis.asyncio import Redis

from events.outbound import obligation_ref
from services.alerts.delivery.action_links import digest_links
from services.alerts.service import AlertService
from services.platform.runtime import open_runtime
from tests.e2e.browser.conftest import Site, Visits
from tests.integration.alerting import SimClock, london
from tests.org_chart import Member

SIGN_IN_SUBJECT = "Sign in to Followup"


async def sign_in(page: Page, site: Site, visits: Visits | None, person: Member) -> None:
    """Ask for a link on /sign-in, open the one in the emailed message, press its button;
    the pages on the way are visited (screenshot and axe) when `visits` is given."""
    await page.goto(f"{site.url}/sign-in")
    if visits:
        await visits.visit(page, "sign-in", heading="Sign in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_role("button", name="Send me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("Check your email")
    if visits:
        await visits.visit(page, "sign-in-sent")
    await follow_sign_in_link(page, site, visits, person)


async def follow_sign_in_link(
    page: Page,
    site: Site,
    visits: Visits | None,
    person: Member,
    press: Callable[[Page], Awaitable[None]] | None = None,
) -> None:
    """Open the emailed link and press its button (by mouse, or by `press`)."""
    [message] = await arrived(site, person.email)
    [link] = site.links(message, "/sign-in/")
    await page.goto(link)
    if visits:
        await visits.visit(page, "sign-in-confirm", heading="Sign in to Followup")
    if press is None:
        await page.get_by_role("button", name="Sign in").click()
    else:
        await press(page)
    await page.wait_for_url(f"{site.url}/")


async def arrived(site: Site, address: str, within: float = 10.0) -> list[EmailMessage]:
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


def lapsed_of(site: Site, staff_ids: set[str]) -> set[str]:
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


def digest_for(site: Site, person: Member) -> EmailMessage:
    [digest] = [m for m in site.messages(to=person.email) if SIGN_IN_SUBJECT not in m["Subject"]]
    return digest
