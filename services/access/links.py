"""Links in an alert's digest that act on it from the email (docs/contract.md section 12,
"Acting from an email"): open the obligation, acknowledge, or snooze 1, 3 or 5 working days.
Each holds a token signed with the service's key, naming the alert and its recipient, and
expiring after LINK_DAYS: the token alone authorises its one act, for that recipient only.
Opening a link shows a page whose button (a POST) does the act, so a mail scanner that
follows links changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from services.platform.clock import now as wall_clock
from services.platform.settings import Settings
from services.platform.signing import SignedValueRefused, sign, unsign

PURPOSE = "alert-action"
LINK_DAYS = 14
SNOOZE_DAYS = (1, 3, 5)

Act = Literal["open", "acknowledge", "snooze"]


@dataclass(frozen=True, slots=True)
class ActionLink:
    """What a link's token says: which act, on which alert, for whom, until when."""

    act: Act
    alert_id: int
    recipient: str
    obligation_ref: str
    expires_at: datetime
    days: int = 0  # a snooze's working days

    def describe(self) -> str:
        if self.act == "snooze":
            return f"Snooze {self.days} working day{'' if self.days == 1 else 's'}"
        return "Acknowledge" if self.act == "acknowledge" else "Open"


def alert_links(
    settings: Settings,
    *,
    alert_id: int,
    recipient: str,
    obligation_ref: str,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """(label, absolute URL) of each link one digest item carries, in the order shown."""
    expires_at = (now or wall_clock()) + timedelta(days=LINK_DAYS)
    links = [
        ActionLink("open", alert_id, recipient, obligation_ref, expires_at),
        ActionLink("acknowledge", alert_id, recipient, obligation_ref, expires_at),
        *(
            ActionLink("snooze", alert_id, recipient, obligation_ref, expires_at, days)
            for days in SNOOZE_DAYS
        ),
    ]
    base = settings.base_url()
    return [(link.describe(), f"{base}/act/{action_token(settings, link)}") for link in links]


def action_token(settings: Settings, link: ActionLink) -> str:
    value = {
        "d": link.act,
        "a": link.alert_id,
        "r": link.recipient,
        "o": link.obligation_ref,
        "e": int(link.expires_at.timestamp()),
        "n": link.days,
    }
    return sign(settings, purpose=PURPOSE, value=value)


def read_action_token(settings: Settings, *, token: str, now: datetime) -> ActionLink:
    """The link a token was made for; SignedValueRefused, in words for the person who followed
    it, when it was not made by this service, was altered, or has expired."""
    value = unsign(settings, purpose=PURPOSE, token=token, max_age_seconds=(LINK_DAYS + 1) * 86_400)
    link = _parsed(value)
    if link.expires_at <= now:
        raise SignedValueRefused("this link has expired")
    return link


def _parsed(value: Any) -> ActionLink:
    try:
        act, days = value["d"], int(value["n"])
        if act not in ("open", "acknowledge", "snooze") or (act == "snooze") != (days > 0):
            raise ValueError(act)
        return ActionLink(
            act=act,
            alert_id=int(value["a"]),
            recipient=str(value["r"]),
            obligation_ref=str(value["o"]),
            expires_at=datetime.fromtimestamp(int(value["e"]), UTC),
            days=days,
        )
    except (KeyError, TypeError, ValueError):
        raise SignedValueRefused("this link is not valid") from None
