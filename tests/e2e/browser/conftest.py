"""A real `followup serve` seeded with the org chart of tests/org_chart.py, and Debian's
Chromium driven by Playwright (never a browser Playwright downloads). The browser tests fail,
never skip, when Chromium is missing: `make test` installs it (.ci/browser)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from services.platform.settings import Settings
from services.rules.calendar import LONDON
from tests.conftest import REDIS_URL, SCREENSHOTS, fresh_postgres
from tests.e2e.conftest import Followup, free_port
from tests.org_chart import (
    casework_events,
    staff_events,
    this_weeks_letters,
    wessex_assurance_events,
)

CHROMIUM = Path("/usr/bin/chromium")
# axe-core impacts that fail a page (docs/contract.md section 12: accessible pages).
FAILING_IMPACTS = ("serious", "critical")
# Each page is also looked at this wide, as on a phone: it must not scroll sideways.
NARROW = {"width": 400, "height": 800}
# The innermost elements reaching past the window's right edge, to say what makes it scroll.
WIDEST = """[...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
               && ![...e.children].some(c => c.getBoundingClientRect().right
                                              > document.documentElement.clientWidth + 1))
  .slice(0, 5).map(e => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 40))"""


@dataclass
class Site:
    """The running service: its URL, its outbox, and settings for an in-process runtime on
    the same database, Redis namespace and data directory (the alert clock, driven by hand)."""

    url: str
    data_dir: Path
    followup: Followup
    settings: Settings

    def messages(self, *, to: str | None = None, subject: str = "") -> list[EmailMessage]:
        """The messages in the outbox (FOLLOWUP_DATA_DIR/outbox/*.eml), to this address and
        with this in their subject when given."""
        found = []
        for path in sorted((self.data_dir / "outbox").glob("*.eml")):
            with path.open("rb") as file:
                message = email.message_from_binary_file(file, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if subject in str(message["Subject"]) and to in (None, str(message["To"])):
                found.append(message)
        return found

    def links(self, message: EmailMessage, path_prefix: str) -> list[str]:
        """Links into this site, from the plain-text part, whose path starts with the prefix."""
        body = message.get_body(preferencelist=("plain",))
        assert body is not None, "the message has no plain-text part"
        text = body.get_content()
        pattern = re.escape(self.url + path_prefix) + r"[^\s<>\"')]+"
        return re.findall(pattern, text)

    def action_links(self, message: EmailMessage, label: str) -> list[str]:
        """The digest's links labelled so ("Acknowledge: <url>"), in order."""
        body = message.get_body(preferencelist=("plain",))
        assert body is not None, "the message has no plain-text part"
        pattern = re.escape(label) + r": (" + re.escape(self.url) + r"/act/\S+)"
        return re.findall(pattern, body.get_content())


@pytest.fixture
async def site(tmp_path: Path, namespace: str, redis_server: str) -> AsyncIterator[Site]:
    async with fresh_postgres() as database_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data_dir = tmp_path / "var"
        env = {
            "FOLLOWUP_DATA_DIR": str(data_dir),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_REDIS_URL": REDIS_URL,
            "FOLLOWUP_NAMESPACE": namespace,
            "FOLLOWUP_PUBLIC_URL": url,
            "FOLLOWUP_DECODE_HELPER": "false",
            "FOLLOWUP_SUMMARY_SCHEDULE": "false",
            # The test drives the alert clock itself (Site.settings), on a simulated clock.
            "FOLLOWUP_ALERTS_ENABLED": "false",
        }
        followup = Followup(env, tmp_path)
        seed = tmp_path / "seed.jsonl"
        today = datetime.now(LONDON).date()
        events = staff_events() + casework_events() + this_weeks_letters(today)
        seed.write_text("".join(json.dumps(e) + "\n" for e in events + wessex_assurance_events()))
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=REDIS_URL,
            namespace=namespace,
            public_url=url,
            decode_helper=False,
        )
        with followup.serving(port=port):
            followup.run("publish", str(seed))
            followup.settle()
            yield Site(url=url, data_dir=data_dir, followup=followup, settings=settings)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium))
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Iterator[Path]:
    """This test's own folder of screenshots, emptied first."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    if folder.exists():
        for old in folder.glob("*.png"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    yield folder


class Visits:
    """Every page a test looks at: screenshotted (numbered, in order) and checked by axe-core."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def visit(self, page: Page, name: str, *, heading: str | None = None) -> None:
        """Screenshot the page now shown (numbered, in order), wide and at 400px (where it
        must not scroll sideways), check its `h1` when given, and fail on a serious or
        critical axe-core violation."""
        self.count += 1
        await page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)
        if heading is not None:
            await expect(page.locator("h1")).to_have_text(heading)
        violations = await self.violations(page)
        assert violations == [], f"axe-core on {page.url}: {json.dumps(violations, indent=1)}"
        wide = page.viewport_size
        await page.set_viewport_size(NARROW)
        try:
            path = self.folder / f"{self.count:02d}-{name}-narrow.png"
            await page.screenshot(path=path, full_page=True)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (
                f"{page.url} scrolls sideways by {overflow}px at 400px: "
                f"{await page.evaluate(WIDEST)}"
            )
        finally:
            if wide is not None:
                await page.set_viewport_size(wide)

    async def violations(self, page: Page) -> list[dict[str, Any]]:
        # Evaluated through the DevTools protocol, so a page's Content-Security-Policy (no
        # inline script) does not stop the checker.
        results = await Axe().run(page)
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in results.response["violations"]
            if v["impact"] in FAILING_IMPACTS
        ]


@pytest.fixture
def visits(screenshots: Path) -> Visits:
    return Visits(screenshots)
