"""Every page in a real browser, as the people who use it (docs/contract.md section 12): a legal
manager's own work, alerts and an obligation; a DCCP's Area page with this week's summary and
its chart, the backlog, drilling down to a unit and a team, the weekly summaries and the
inspections with their forms; an inspector's read-only inspections; and the pages worked by
keyboard alone. Each page is screenshotted, wide and narrow, and checked with axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.browser.conftest import Site, Visits
from tests.e2e.browser.steps import (
    alert_states,
    arrived,
    follow_sign_in_link,
    lapsed_of,
    raise_the_lapse_alerts,
    refs_shown,
    sign_in,
)
from tests.org_chart import INSPECTION, INSPECTION_TITLE, LETTER_TITLE, by_id

pytestmark = pytest.mark.e2e


async def test_a_legal_manager_reads_their_work_alerts_and_an_obligation(
    site: Site, browser: Browser, visits: Visits
) -> None:
    manager = by_id()["W-MAG-LM"]
    await raise_the_lapse_alerts(site)
    page = await browser.new_page()
    await sign_in(page, site, None, manager)
    await visits.visit(page, "my-work", heading="My work")
    [mine] = lapsed_of(site, {manager.staff_id})
    assert await refs_shown(page) == {mine}

    await page.get_by_role("link", name="My alerts").click()
    await visits.visit(page, "my-alerts", heading="My alerts")
    assert "Sent" in await alert_states(page)
    await expect(page.locator("main")).not_to_contain_text("None")

    await page.goto(f"{site.url}/o/{mine}")
    await visits.visit(page, "obligation", heading=LETTER_TITLE)
    await expect(page.locator("main")).to_contain_text("working days late")
    await page.locator("summary", has_text="Snooze").first.click()
    await page.get_by_label("Reason (required)").fill(
        "Letter drafted, awaiting the victim's address"
    )
    await page.locator("main form").get_by_role("button", name=re.compile("^Snooze")).click()
    await visits.visit(page, "obligation-snoozed", heading=LETTER_TITLE)
    await expect(page.locator(".alert-state").first).to_have_text("Snoozed")


async def test_a_dccp_sees_this_weeks_summary_the_backlog_and_drills_down(
    site: Site, browser: Browser, visits: Visits
) -> None:
    page = await browser.new_page()
    await sign_in(page, site, None, by_id()["W-DCCP"])
    await page.get_by_role("link", name="Area", exact=True).click()
    await visits.visit(page, "area", heading="Wessex")
    await expect(page.locator("img.chart").first).to_be_visible()
    backlog = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Backlog")))
    await expect(backlog).to_contain_text("Magistrates")
    await expect(backlog).to_contain_text(LETTER_TITLE)

    await page.get_by_label("Unit").select_option(label="Magistrates")
    await page.get_by_role("button", name="Show").click()
    await visits.visit(page, "area-unit", heading="Wessex: Magistrates unit")
    await expect(backlog).not_to_contain_text("Crown")

    await page.get_by_role("link", name="Back to the whole Area").click()
    await page.get_by_role("link", name="Manager wessex crown").first.click()
    await visits.visit(page, "area-team", heading="Wessex: Manager wessex crown's team")

    await page.get_by_role("link", name="Weekly summaries").click()
    await visits.visit(page, "summary", heading="Weekly summary: Wessex")
    await expect(page.locator("img.chart").first).to_be_visible()

    await page.get_by_role("link", name="Inspections").click()
    await visits.visit(page, "inspections", heading="Inspections")
    await page.get_by_role("link", name=INSPECTION_TITLE).click()
    await visits.visit(page, "inspection", heading=INSPECTION_TITLE)
    assert await page.locator("main form").count() > 0, "a DCCP records evidence and ratings"
    await expect(page.get_by_role("button", name="Record evidence").first).to_be_visible()
    await page.get_by_role("link", name="The follow-up report").click()
    await visits.visit(page, "inspection-report")


async def test_an_inspector_reads_inspections_and_changes_nothing(
    site: Site, browser: Browser, visits: Visits
) -> None:
    page = await browser.new_page()
    await sign_in(page, site, None, by_id()["HMI-1"])
    await page.get_by_role("link", name="Weekly summaries").click()
    await visits.visit(page, "summaries", heading="Weekly summaries")
    await page.get_by_role("link", name="Wessex").click()
    await visits.visit(page, "summary-area-level", heading="Weekly summary: Wessex")
    await page.goto(f"{site.url}/inspections")
    await visits.visit(page, "inspections", heading="Inspections")
    await page.get_by_role("link", name=INSPECTION_TITLE).click()
    await visits.visit(page, "inspection", heading=INSPECTION_TITLE)
    assert await page.locator("main form").count() == 0, "an inspector only reads"
    await page.goto(f"{site.url}/inspections/{INSPECTION}/report")
    await visits.visit(page, "inspection-report")
    assert await page.locator("form").count() == 0


async def test_the_pages_work_by_keyboard_alone(
    site: Site, browser: Browser, visits: Visits
) -> None:
    me = by_id()["W-MAG-P1"]
    page = await browser.new_page()
    await page.goto(f"{site.url}/sign-in")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await visits.visit(page, "sign-in-skip-link")
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Email address")).to_be_focused()
    await page.keyboard.type(me.email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Send me a sign-in link")).to_be_focused()
    await visits.visit(page, "sign-in-button-focused")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Check your email")
    assert await arrived(site, me.email)

    await follow_sign_in_link_by_keyboard(page, site)
    await visits.visit(page, "my-work", heading="My work")


async def follow_sign_in_link_by_keyboard(page: Page, site: Site) -> None:
    """The sign-in page's one button, reached with Tab and pressed with the space bar."""
    await follow_sign_in_link(page, site, None, by_id()["W-MAG-P1"], press=keyboard_press)


async def keyboard_press(page: Page) -> None:
    button = page.get_by_role("button", name="Sign in")
    for _ in range(10):
        if await button.evaluate("b => b === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(button).to_be_focused()
    await page.keyboard.press("Space")
