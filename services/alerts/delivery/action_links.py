"""Each digest item's links to act from the email (docs/contract.md section 12, "Acting from an
email"), on the item's most senior alert: acknowledging that one stops what follows it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.access.links import alert_links
from services.alerts.delivery.digest_view import Item, LinkMaker
from services.platform.settings import Settings


def digest_links(settings: Settings, *, now: Callable[[], datetime]) -> LinkMaker:
    def links(item: Item) -> list[tuple[str, str]]:
        return alert_links(
            settings,
            alert_id=max(item.alert_ids),
            recipient=item.recipient,
            obligation_ref=item.obligation_ref,
            now=now(),
        )

    return links
