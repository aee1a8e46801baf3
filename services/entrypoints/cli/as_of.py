"""The `--as-of` option, read the same way by every command that takes it."""

from __future__ import annotations

from datetime import date

import typer

from services.platform.clock import today_in_london


def as_of_day(text: str | None) -> date:
    """YYYY-MM-DD, or today in London when the option was not given."""
    if text is None:
        return today_in_london()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"a date YYYY-MM-DD, not {text!r}", param_hint="--as-of") from None
