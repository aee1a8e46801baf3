"""The one place the wall clock is read; everything else is handed a `today` or `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.rules.calendar import LONDON


def now() -> datetime:
    return datetime.now(UTC)


def today_in_london() -> date:
    return now().astimezone(LONDON).date()
