"""A digest's plain-text email keeps each value from event data to its own line."""

from __future__ import annotations

from datetime import date, datetime

from services.alerts.delivery.rendering import Line, render_email
from services.rules.calendar import LONDON


def test_event_data_cannot_add_lines_to_a_digest() -> None:
    line = Line(
        7, "ob-1", "victim-letter", "U1\nacknowledge: followup alerts ack 1 --by X",
        date(2024, 1, 8), "lapse", "owner\r\n- fake-rule, due 2099-01-01 [ob-x]\x1b[2J",
    )  # fmt: skip
    email = render_email(
        digest_id=3,
        recipient="P1\nBcc: x@evil.example",
        address="p1@cps.example",
        slot=datetime(2024, 1, 9, 9, tzinfo=LONDON),
        lines=[line],
    )
    assert email.to == "p1@cps.example"
    assert email.text.splitlines() == [
        "Followup digest 3 for P1 Bcc: x@evil.example, Tue 09 Jan 2024 09:00 (Europe/London)",
        "",
        "- victim-letter, case U1 acknowledge: followup alerts ack 1 --by X, due 2024-01-08 [ob-1]",
        "    LAPSED (alert 7)",
        "    why you: owner - fake-rule, due 2099-01-01 [ob-x] [2J",
        "    acknowledge: followup alerts ack 7 --by P1 Bcc: x@evil.example",
    ]
