"""The people's front door in a real browser (docs/contract.md section 12): sign in through the
link in the emailed message, see one's own lapses on "My work"; a legal manager sees the team's
lapses on "My team", acknowledges one from the email digest's link and sees it move. Every page
visited is screenshotted and checked with axe-core (no serious or critical violation).

The pages' contract the selectors below rely on: each page's one `h1`; a row per obligation
`tr[data-obligation-ref="<ob- reference>"]` naming the rule's title; each alert's state in
an element of class `alert-state`; a digest's "Acknowledge: <url>" link (`GET /act/...`)
opens a page with one button "Acknowledge"."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.browser.conftest import Site, Visits
from tests.e2e.browser.steps import (
    alert_states,
    digest_for,
    lapsed_of,
    raise_the_lapse_alerts,
    refs_shown,
    sign_in,
)
from tests.org_chart import LETTER_TITLE, by_id

pytestmark = pytest.mark.e2e


async def test_a_prosecutor_signs_in_from_the_email_and_sees_their_lapses(
    site: Site, browser: Browser, visits: Visits
) -> None:
    me = by_id()["W-MAG-P1"]
    page = await browser.new_page()
    await sign_in(page, site, visits, me)
    await visits.visit(page, "my-work", heading="My work")
    assert await refs_shown(page) == lapsed_of(site, {me.staff_id})
    for row in await page.locator("tr[data-obligation-ref]").all():
        await expect(row).to_contain_text(LETTER_TITLE)


async def test_a_legal_manager_acknowledges_a_lapse_from_the_digest_and_sees_it_move(
    site: Site, browser: Browser, visits: Visits
) -> None:
    manager = by_id()["W-MAG-LM"]
    await raise_the_lapse_alerts(site)
    digest = digest_for(site, manager)
    page = await browser.new_page()
    await sign_in(page, site, visits, manager)
    await page.goto(f"{site.url}/team")
    await visits.visit(page, "my-team", heading="My team")
    team = {manager.staff_id, "W-MAG-P1", "W-MAG-P2"}
    assert await refs_shown(page) == lapsed_of(site, team)
    assert "acknowledged" not in " ".join(await alert_states(page)).lower()

    links = site.action_links(digest, "Acknowledge")
    assert links, f"no Acknowledge link in the digest:\n{digest}"
    await page.goto(links[0])
    await visits.visit(page, "act-confirm", heading="Acknowledge this alert?")
    await page.get_by_role("button", name="Acknowledge").click()
    await page.wait_for_load_state()
    await visits.visit(page, "act-done", heading="Done")

    await page.goto(f"{site.url}/team")
    await visits.visit(page, "my-team-after", heading="My team")
    moved = [s for s in await alert_states(page) if "acknowledged" in s.lower()]
    assert len(moved) == 1, await alert_states(page)
